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
from workbench.reports import findings
from workbench.reports.deliverables import methodology_of

ctx = start_section(municipality=municipality, year=year, store=store, output_dir=output_dir,
                    cache_dir=cache_dir, section="Обзор муниципалитета")
rep, st = ctx.report, ctx.store

# %%
figures = overview.key_figures(st, municipality, year)
schools = overview.schools_summary(st, municipality, year).sort_values("mean_pct", na_position="last")
rep.findings(findings.main_findings(ctx, methodology or methodology_of(municipality)[0], figures))

# %%
rep.heading(f"Обзор: {ctx.name}, {year} год")
rep.note(overview.key_figures_text(figures, ctx.name, year))

# %%
rep.heading("Школы и участники ВПР")
rep.table(schools, "schools", "Школы муниципалитета и участники ВПР",
          "Для каждой школы: тип, местность, число работ ВПР по всем предметам в выбранном году, средний процент "
          "выполнения и доля отметок «2»; школы с более низким результатом — выше.",
          columns=overview.SCHOOLS_COLUMNS, count="participants", values=["mean_pct", "share_2"],
          kinds=overview.SCHOOLS_KINDS, sheet="Школы")

# %%
rep.heading("Результаты по предметам и классам в сравнении с регионом")
reference = ctx.region_cached("region_reference", year=year)
vs = overview.results_vs_region(st, municipality, year, reference=reference).sort_values("diff_pct", na_position="last")
rep.figure(overview.plot_vs_region(vs, ctx.name), "vs_region", "Муниципалитет на фоне распределения школ региона",
           "Серая полоса — средние 50 % школ региона (от первого до третьего квартиля), черта — медиана, "
           "точка — средний результат муниципалитета.")
rep.table(vs, "results_vs_region", "Результаты ВПР муниципалитета и региона по предметам и классам",
          "Средний процент выполнения работы, доли отметок «2» и «4–5» у муниципалитета и у региона; "
          "квартили средних по школам региона показывают, где находится муниципалитет среди всех школ. Сначала — "
          "работы, в которых муниципалитет больше всего отстаёт от региона.",
          columns=overview.VS_REGION_COLUMNS, count="participants",
          values=["mean_pct", "diff_pct", "share_2", "share_45"], kinds=overview.VS_REGION_KINDS,
          body_columns=["subject_name", "grade", "participants", "mean_pct", "region_mean_pct", "diff_pct", "share_2",
                        "region_share_2"], sheet="Результаты и регион")

# %%
rep.heading("Динамика по годам")
trend = overview.municipality_trend(st, municipality)
core = trend[trend.subject.isin(["rus", "math"])]
rep.figure(overview.plot_trend(core if len(core) else trend, ctx.name, min_n=rep.min_n), "trend",
           "Средний процент выполнения по годам: русский язык и математика",
           "Каждая клетка — предмет и класс: линия муниципалитета и линия региона по годам. Годы, в которые у "
           "муниципалитета меньше участников, чем порог публикации, не показаны. Остальные предметы — в приложении.")
rep.table(trend, "trend", "Средний процент выполнения по годам: муниципалитет и регион",
          "Как менялся средний результат муниципалитета по каждому предмету и классу относительно региона.",
          columns=overview.TREND_COLUMNS, count="participants", values=["mean_pct"],
          kinds=overview.TREND_KINDS, appendix_only=True, sheet="Динамика по годам")
