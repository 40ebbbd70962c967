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
# Приложение Voila для руководителей: «Обзор», «Идентификация», «Объективность» при одном выборе муниципалитета
# и года. Вся логика — в workbench/dashboards/app.py. Запуск: `workbench dashboard`; хранилище — $WORKBENCH_STORE.
from workbench.dashboards.app import DashboardApp

DashboardApp().widget
