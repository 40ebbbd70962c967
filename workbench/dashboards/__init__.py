"""Dashboards for officials: the one Voila app (``app.DashboardApp``) and its views."""
