# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
municipality = "004"
year = 2026
methodology = ""
store = "../data/store"
output_dir = "../outputs/dev/004"
cache_dir = "../outputs/_cache"

# %%
# The report's last section: every parameter in force with its provenance, and the data sources.
from workbench.notebook_support import start_section

ctx = start_section(municipality=municipality, year=year, store=store, output_dir=output_dir,
                    cache_dir=cache_dir, section="Методика и источники")
ctx.report.heading("Методика, параметры и источники данных")
ctx.publish_parameters_and_sources()
