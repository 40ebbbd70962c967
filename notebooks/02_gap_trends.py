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
import pandas as pd
from workbench.notebook_support import start_section
from workbench import gaps
from workbench.config import load_defaults
from workbench.reports import gaps as R
from workbench.reports.deliverables import methodology_of
from workbench.reports.identification import methodology_titles

ctx = start_section(municipality=municipality, year=year, store=store, output_dir=output_dir,
                    cache_dir=cache_dir, section="Разрывы между школами и их динамика")
rep, st, res = ctx.report, ctx.store, ctx.results
p = gaps.load_gap_params()
level = load_defaults().uncertainty.level.value
subjects = p.subjects.value
own_name, _, own_params = methodology_of(municipality)
name = methodology or own_name
params = own_params if name == own_name else None
flags = res.identification(year, name, params).for_municipality(municipality).flags
listed = frozenset(flags.loc[flags["flagged"].astype(bool), "school_id"])
region = res.gaps(year)
mine = res.municipality_gaps(year, municipality, listed)
trends = gaps.gap_trends(pd.concat([mine, region]), "p90_p10", level)
names = st.query("SELECT school_id, name FROM schools WHERE municipality = ?", [municipality]).set_index("school_id")["name"]
title = methodology_titles()[name]

# %%
rep.heading(f"Разрывы между школами с высокими и низкими результатами: {ctx.name}")
rep.note("Разрыв измеряется между истинными средними результатами школ: наблюдаемое среднее маленькой школы сильно "
         "колеблется от случайного состава участников, и разрыв между наблюдаемыми средними завышен. Поправка — "
         "модель со случайными эффектами школ; интервалы сохраняют уровень доверия и при 10–20 школах "
         "(муниципалитет), но при малом числе школ они широкие — это честная мера того, что можно сказать. "
         "Разрыв по наблюдаемым средним показан рядом для сравнения.")
for sentence in R.gap_findings(mine, region, trends, subjects, ctx.name, year, level):
    rep.note(sentence)
rep.figure(R.plot_gap_trends(mine, region, subjects, ctx.name, level), "gap_trends",
           "Разрыв между сильными и слабыми школами по годам",
           "Точки — разрыв P90 − P10 истинных средних школ (среднее по классам, которые писали ВПР во все годы), "
           "линия и полоса — линейный тренд и его доверительный интервал; пунктир — тот же разрыв по наблюдаемым "
           "средним. Серым — регион.")
latest = R.latest_gaps(mine, region, ctx.name, year, subjects)
rep.table(latest, "gap_latest", f"Разрывы по классам в {year} году",
          "P90 − P10: разница между средним школы на 90-м и на 10-м процентиле истинных средних (с интервалом; рядом — "
          "по наблюдаемым средним и по региону); "
          "отношение долей «2» — во сколько раз доля «2» в нижней четверти школ больше, чем в верхней; «остальные − "
          f"ШНОР» — разница средних школ вне списка и в списке по методике «{title}»; внутри групп по контексту — "
          "разрыв между школами с похожим ИСБШ; индекс V — разрыв в стандартных отклонениях по рангам баллов "
          "учеников нижней и верхней четвертей школ, не зависящий от шкалы ВПР года.",
          columns=R.LATEST_COLUMNS, kinds=R.LATEST_KINDS, body_columns=R.GAP_BODY, sheet="Разрывы за год")
sentence = R.hetop_sentence(mine, subjects, year)
if sentence:
    rep.note(sentence)

# %%
rep.heading("Тренд разрыва", level=3)
trend_rows = R.trend_rows(trends, {municipality: ctx.name, "region": "регион"})
lead = R.lead_rows(trend_rows, subjects)
rep.table(lead[lead["grade"] == 0], "gap_trend_table", "Тренд разрыва P90 − P10 по годам",
          "Наклон линейного тренда разрыва (п.п. в год, в среднем по классам) с доверительным интервалом по отклонениям "
          "лет от линии (а не разность двух лет); «сокращается» — интервал целиком ниже нуля. Тренды по каждому "
          "классу и предмету — в приложении.", columns=R.TREND_COLUMNS_RU, kinds=R.TREND_KINDS, body_columns=R.TREND_BODY,
          sheet="Тренд разрыва")
rep.table(trend_rows, "gap_trend_all", "Тренд разрыва P90 − P10 по всем предметам",
          "Те же тренды по всем предметам и классам муниципалитета и региона.", columns=R.TREND_COLUMNS_RU,
          kinds=R.TREND_KINDS, appendix_only=True, sheet="Тренд разрыва все")

# %%
if year - 1 in st.status().years("vpr"):
    dyn_all = res.dynamics(year, name, params)
    dyn = dyn_all[dyn_all["municipality"] == municipality]
    summary = gaps.dynamics_summary(dyn, year - 1, year, gaps.DynamicsRule.of(p, level), level)
    rep.heading("Доля ШНОР, показавших положительную динамику", level=3)
    rep.note(f"Школы, выделенные по методике «{title}» в {year - 1} году ({len(dyn)}), и их изменение к {year} году "
             "по каждому определению: какое определение применено, напечатано рядом с числом. Школы с признаками "
             "необъективности результатов этого года не оцениваются и посчитаны отдельно.")
    rep.table(R.dynamics_rows(summary), "gap_dynamics", "Положительная динамика по определениям",
              "Доля с интервалом Вильсона; малое число школ даёт широкий интервал.",
              columns=R.DYNAMICS_COLUMNS_RU, kinds=R.DYNAMICS_KINDS, body_rows=None, sheet="Динамика ШНОР")
    sentence = R.regression_to_mean_sentence(dyn, year - 1, year)
    if sentence:
        rep.note(sentence)
    if len(dyn):
        rep.table(R.school_dynamics_rows(dyn, names), "gap_dynamics_schools", "Динамика школ списка",
                  "Изменение результата (русский язык и математика, п.п. к региону) с интервалом, ожидаемое без "
                  "поддержки изменение и вывод по каждому определению.",
                  columns=R.SCHOOL_DYNAMICS_RU, kinds=R.SCHOOL_DYNAMICS_KINDS, appendix_only=True,
                  sheet="Динамика школ списка")
else:
    rep.note(f"Динамика школ списка не оценивается: в хранилище нет результатов ВПР {year - 1} года.")

# %%
traj = res.trajectories(year)
traj = traj[traj["school_id"].isin(names.index)]
trend = res.trend(year)
trend = trend[trend["school_id"].isin(names.index)]
rep.heading("Траектории школ", level=3)
rep.figure(R.plot_trajectories(trend, traj, names, ctx.name), "gap_trajectories", "Траектории школ относительно региона",
           "Результат каждой школы по годам; наклон оценён смешанной моделью со случайным наклоном для каждой "
           "школы, так что случайные колебания малых школ не выдаются за тренд.")
diverging = traj[traj["diverging"] != ""].assign(name=lambda d: d["school_id"].map(names))
if len(diverging):
    rep.table(diverging.sort_values("slope"), "gap_diverging", "Школы, чья траектория расходится с региональной",
              "Изменение результата за год с интервалом: «отстаёт» — школа уходит вниз от региона, «догоняет» — "
              "поднимается к нему.", columns=R.TRAJECTORY_COLUMNS_RU, kinds=R.TRAJECTORY_KINDS,
              sheet="Расходящиеся траектории")
elif len(traj) and traj["note"].iloc[0]:
    rep.note(f"Расходящиеся траектории не выделяются: {traj['note'].iloc[0]}.")
else:
    rep.note("Ни одна школа муниципалитета не расходится с региональной траекторией больше своей погрешности.")

# %%
ev = res.evaluation(year)
supported_here = int(gaps.support_of(st, p).index.isin(names.index).sum())
rep.heading("Действие поддержки", level=3)
for sentence in R.evaluation_sentences(ev, supported_here, ctx.name):
    rep.note(sentence)
if len(ev.event):
    rep.figure(R.plot_event_study(ev.event, level), "gap_event_study", "Эффект поддержки по годам от её начала",
               "Разность изменений результата школ программы и подобранных школ без поддержки; до нуля — годы до "
               "начала поддержки (ожидается около нуля), от нуля — годы с поддержкой. Когорты, начавшие в разные "
               "годы, сравниваются только со школами без поддержки (Callaway, Sant'Anna 2021).")
    rep.table(ev.event, "gap_event", "Эффект поддержки по годам от её начала",
              "Оценка, интервал и число школ программы по годам от начала поддержки (регион).",
              columns=R.EVENT_COLUMNS_RU, kinds=R.EVENT_KINDS, appendix_only=True, sheet="Эффект поддержки")
    rep.table(ev.att_gt, "gap_att_gt", "Эффект поддержки по когортам и годам",
              "Для каждой когорты (первый год ВПР с поддержкой) и года — оценка с интервалом, число школ программы "
              "и подобранных школ.", columns=R.ATT_GT_COLUMNS_RU, kinds=R.ATT_GT_KINDS, appendix_only=True,
              sheet="Эффект по когортам")
    rep.table(R.balance_rows(ev.balance), "gap_balance", "Сопоставимость школ программы и подобранных школ",
              "Стандартизованная разница средних до и после подбора (меньше 0,1 по модулю — группы сопоставимы).",
              columns=R.BALANCE_COLUMNS_RU, kinds=R.BALANCE_KINDS, appendix_only=True, sheet="Подбор школ")

# %%
rep.table(R.gap_rows(mine, ctx.name), "gap_all", "Разрывы по всем предметам, классам и годам",
          "Все показатели разрыва муниципалитета с интервалами, по наблюдаемым средним и в единицах SD учеников "
          "региона.", columns=R.GAP_TABLE_COLUMNS | {"p90_p10_sd": "P90−P10, SD учеников"},
          kinds=R.GAP_TABLE_KINDS, appendix_only=True, sheet="Разрывы все")
