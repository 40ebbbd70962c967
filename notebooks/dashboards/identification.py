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
# Панель Voila «Выявление ШНОР и ШНСУ: школы муниципалитета по методикам». Вся логика — в
# workbench/dashboards/identification.py. Запуск: `workbench dashboard --view identification`;
# хранилище — $WORKBENCH_STORE, иначе data/store.
from workbench.dashboards.identification import IdentificationDashboard

IdentificationDashboard().widget
