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
from workbench.notebook_support import start_section
from workbench import overview

ctx = start_section(municipality=municipality, year=year, store=store, output_dir=output_dir,
                    cache_dir=cache_dir, section="Обзор муниципалитета")
rep, st = ctx.report, ctx.store

# %%
rep.heading(f"Обзор: {ctx.name}, {year} год")
figures = overview.key_figures(st, municipality, year)
rep.note(overview.key_figures_text(figures, ctx.name, year))

# %%
rep.heading("Школы и участники ВПР")
rep.table(overview.schools_summary(st, municipality, year), "schools", "Школы муниципалитета и участники ВПР",
          "Для каждой школы: тип, местность и число участников ВПР по всем предметам в выбранном году.",
          columns=overview.SCHOOLS_COLUMNS, count="participants", values=["mean_pct", "share_2"],
          formats={"Средний % выполнения": "0.0", "Доля «2»": "0.0%"})

# %%
rep.heading("Результаты по предметам и классам в сравнении с регионом")
reference = ctx.region_cached("region_reference", year=year)
vs = overview.results_vs_region(st, municipality, year, reference=reference)
rep.table(vs, "results_vs_region", "Результаты ВПР муниципалитета и региона по предметам и классам",
          "Средний процент выполнения работы, доли отметок «2» и «4–5» у муниципалитета и у региона; "
          "квартили средних по школам региона показывают, где находится муниципалитет среди всех школ.",
          columns=overview.VS_REGION_COLUMNS, count="participants",
          values=["mean_pct", "diff_pct", "share_2", "share_45"], formats=overview.VS_REGION_FORMATS)

# %%
fig = overview.plot_vs_region(vs, ctx.name)
rep.figure(fig, "vs_region", "Муниципалитет на фоне распределения школ региона",
           "Серая полоса — средние 50 % школ региона (от первого до третьего квартиля), черта — медиана, "
           "точка — средний результат муниципалитета.")

# %%
rep.heading("Динамика по годам")
trend = overview.municipality_trend(st, municipality)
rep.table(trend, "trend", "Средний процент выполнения по годам: муниципалитет и регион",
          "Как менялся средний результат муниципалитета по каждому предмету и классу относительно региона.",
          columns=overview.TREND_COLUMNS, count="participants", values=["mean_pct"],
          formats={"Муниципалитет, %": "0.0", "Регион, %": "0.0"})
