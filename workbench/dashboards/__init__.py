"""Dashboards for officials: the one Voila app (``app.DashboardApp``) and its views, each a small class on
``base.View`` (``overview.OverviewDashboard`` «Обзор», ``identification.IdentificationDashboard``
«Идентификация» and «Объективность»); ``serve`` runs Voila with the project's ``voila.json``."""
