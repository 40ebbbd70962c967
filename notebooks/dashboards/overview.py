# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %%
# Панель Voila «Результаты ВПР: муниципалитет на фоне региона». Вся логика — в workbench/dashboards/overview.py.
# Запуск: `workbench dashboard` или `make dashboard`; хранилище — $WORKBENCH_STORE, иначе data/store.
from workbench.dashboards.overview import OverviewDashboard

OverviewDashboard().widget
