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
from workbench import agreement, objectivity
from workbench.reports import objectivity as R

ctx = start_section(municipality=municipality, year=year, store=store, output_dir=output_dir,
                    cache_dir=cache_dir, section="Объективность результатов ВПР")
rep, st = ctx.report, ctx.store
report = agreement.agreement_report(st, year, municipality, municipality_name=ctx.name)
names = st.query("SELECT school_id, name FROM schools WHERE municipality = ?", [municipality]).set_index("school_id")["name"]

# %%
rep.heading(f"Объективность результатов ВПР: {ctx.name}, {year} год")
rep.note("Ниже — признаки возможной необъективности оценивания, а не выводы о ней: каждый признак показан с "
         "величиной, статистикой, числом участников и q-значением (поправка на множественные сравнения). "
         "Оценивать учителей по результатам ВПР нельзя, поэтому все таблицы заканчиваются уровнем школы.")
table, cols, kinds = R.report_table(report)
rep.table(table, "obj_agreement", "Соответствие отметок за выполненную работу и отметок по журналу",
          "Среди участников, у которых есть обе отметки: сколько понизили, подтвердили и повысили отметку по журналу "
          "(«Всего» = 100 %), для школы, муниципалитета и региона рядом; участники без отметки по журналу посчитаны "
          "отдельно; доля расхождений на 2 и более балла.",
          columns=cols, count="with_both", values=[c for c in cols if c not in ("subject_name", "grade", "level",
                                                                                  "unit_name", "sample_size")],
          kinds=kinds, appendix_only=True, sheet="Соответствие отметок")

# %%
rep.figure(R.plot_heatmaps(report, ctx.name, ctx.report.min_n), "obj_heatmap",
           "Доли понизивших и повысивших отметку по школам и работам",
           "Слева — доля участников, чья отметка за ВПР ниже журнальной (возможное завышение журнальных отметок), "
           "справа — выше журнальной (возможное завышение результатов ВПР).")

# %%
rep.heading("Согласованность отметок: статистики")
pupils = st.query("""SELECT subject, grade, mark, journal_mark FROM vpr
                     WHERE year = ? AND municipality = ? AND NOT absent AND mark IS NOT NULL""", [year, municipality])
stats = R.weakest_first(R.municipality_statistics(pupils))
scols, skinds = R.statistics_columns()
rep.table(stats, "obj_statistics", "Каппа Коэна и критерии симметрии по предметам и классам",
          "Каппа: 1 — полное согласие отметок, 0 — не лучше случайного; критерий Боукера проверяет, одинаково ли часто "
          "ВПР понижает и повышает каждую пару отметок, критерий Стюарта — Максвелла — совпадают ли распределения "
          "отметок (малое q — отметки систематически смещены). Сначала — работы с наименьшей согласованностью.",
          columns=scols, count="n", values=[c for c in scols if c not in ("subject_name", "grade", "note")],
          kinds=skinds, sheet="Каппа и симметрия", body_rows=8, body_columns=R.STATISTICS_BODY)

# %%
rep.heading("Признаки необъективности")
sig = ctx.region_cached("objectivity_signals", year=year)
sig = sig[sig.municipality == municipality]
schools = objectivity.school_signals(sig)
schools["unit_name"] = schools["school_id"].map(names)
with_signals = int((schools["signals_fired"] > 0).sum())
# the body lists the schools with signals (school_signals puts them first); every school is in the appendix
rep.table(schools, "obj_schools", "Признаки по школам",
          "Сколько разных проверок сработало в школе, самый сильный признак и наименьшее q-значение; предложение "
          "перечисляет сработавшие признаки.",
          columns={"school_id": "Код ОО", "unit_name": "Школа", "signals_fired": "Сработало проверок",
                   "rows_fired": "Сработавших строк", "min_q": "Наименьшее q", "summary_ru": "Признаки"},
          kinds={"signals_fired": "int", "rows_fired": "int", "min_q": "p"}, sheet="Признаки по школам",
          body_rows=with_signals or None, appendix_only=not with_signals)
fired = R.signal_table(sig, names)
if len(fired):
    rep.table(fired, "obj_signals", "Сработавшие признаки с доказательствами",
              "Каждая строка — проверка, сработавшая для работы школы: величина эффекта и порог, статистика, p и q, "
              "число участников и надёжность по размеру выборки (ФИОКО: от 50 — информативно, 20–49 — грубая оценка, "
              "меньше 20 — ограниченно).",
              columns=R.SIGNAL_COLUMNS, count="n", values=["effect", "statistic", "p_value", "q_value"],
              kinds=R.SIGNAL_KINDS, sheet="Сработавшие признаки", body_rows=10, body_columns=R.SIGNAL_BODY)
else:
    rep.note(f"Ни одна проверка не сработала ни в одной из {len(schools)} школ с учётом поправки на множественные "
             "сравнения; таблица проверок по школам — в приложении.")

# %%
heaps = fired[(fired.signal == "boundary_heaping") & fired.subject.notna()].head(4) if len(fired) else fired
for i, r in enumerate(heaps.itertuples()):
    counts, expected, scale = R.score_counts(st, year, r.school_id, r.subject, int(r.grade))
    rep.figure(R.plot_score_histogram(counts, expected, scale, f"{r.unit_name}: {r.subject_name}, {r.grade} класс"),
               f"obj_hist_{i + 1}", f"Распределение первичных баллов: {r.unit_name}, {r.subject_name}, {r.grade} класс",
               "Столбцы — число участников школы с каждым первичным баллом, линия — ожидаемое по форме распределения "
               "региона; пунктир — минимальные баллы отметок «3», «4», «5».")
