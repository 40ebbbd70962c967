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
from workbench import identify
from workbench.reports import identification as R
from workbench.reports.deliverables import methodology_of
from workbench.config import load_defaults

ctx = start_section(municipality=municipality, year=year, store=store, output_dir=output_dir,
                    cache_dir=cache_dir, section="Идентификация ШНОР и ШНСУ")
rep, st = ctx.report, ctx.store
own_name, _, own_params = methodology_of(municipality)
name = methodology or own_name
region_flags = ctx.region_cached("identification_flags", year=year)
typ = ctx.region_cached("identification_typology", year=year)
# the methodology on the region's evidence, with the municipality's overrides when it is its own (read from the
# run's cache when computed before)
res = ctx.results.identification(year, name, own_params if name == own_name else None).for_municipality(municipality)
flags, criteria = res.flags, res.criteria
title = R.methodology_titles()[name]
mine_typ = typ[typ.municipality == municipality]

# %%
rep.heading(f"Идентификация ШНОР и ШНСУ: {ctx.name}, {year} год")
rep.note(R.summary_sentence(flags, title, ctx.name) + " " + R.decision_note(flags, load_defaults().uncertainty))
for n in res.notes:
    rep.note(n)
rep.table(R.identification_list(flags, typ), "ident_list", f"Список школ по методике «{title}»",
          "Группа каждой школы (ШНОР, зона риска, ШНСУ) по методике и с учётом неопределённости, сколько "
          "критериев выполнено, главный показатель с его 95-процентным интервалом и вероятностью и объяснение в "
          "одном предложении.",
          columns=R.FLAGS_RU, count="n", values=["value", "ci_low", "ci_high", "probability"],
          kinds=R.FLAGS_KINDS, body_columns=["name", "group", "group_uncertainty", "criteria_fired", "criteria_required",
                                             "headline", "value", "ci_low", "ci_high", "probability"],
          sheet="Список школ")

# %%
criteria_rows = R.criteria_table(criteria, flags)
rep.table(criteria_rows, "ident_criteria", "Критерии: значение, порог, запас и годы",
          "Для каждой школы и каждого критерия методики: значение показателя, порог, запас до порога, годы, в "
          "которые критерий выполнялся, интервал и вероятность оказаться за порогом. Показатели социального "
          "контекста (индексы) рассчитаны не по результатам учеников и не скрываются.",
          columns=R.CRITERIA_RU, count="n", values=["value", "margin", "ci_low", "ci_high", "probability"],
          pupil_rows=criteria_rows["n"].notna(), kinds=R.CRITERIA_KINDS, appendix_only=True, sheet="Критерии по школам")

# %%
# «Почему школа в списке»: one card per school of the list, with the inputs the rules read
from workbench.reports import evidence
from workbench.config import load_presets

ev = ctx.results.evidence(year)
preset = load_presets()[name]
rule_params = own_params if name == own_name else preset.params
span, read = getattr(rule_params, "years", None), getattr(rule_params, "subjects", None)
window = ev.window(span.value if span is not None else 3)
cards = evidence.listed(flags)
rep.note(f"Для каждой из {len(cards)} выделенных школ в приложении — карточка «Почему школа в списке»: правило "
         "методики, значения критериев с порогами и интервалами и исходные результаты школы по годам, предметам "
         "и классам, по которым флаг можно пересчитать вручную.")
for _, f in cards.iterrows():
    inputs = evidence.card_inputs(ev.results, f["school_id"], window, read.value if read is not None else None)
    rep.evidence_card(evidence.evidence_card(f, criteria, inputs, title, preset.source))

# %%
rep.heading("Сравнение методик")
cmp_flags = region_flags[region_flags.municipality == municipality]
results = {m: identify.Identification(m, "", criteria.iloc[:0], d) for m, d in cmp_flags.groupby("methodology", sort=False)}
cmp = identify.compare(results)
member, member_cols = R.membership_table(cmp["membership"])
rep.table(member, "ident_membership", "Какие школы выделяет каждая методика",
          "Отметка «✓» — школа выделена как ШНОР по методике (с параметрами по умолчанию); последний столбец — "
          "сколько методик её выделяют.", columns=member_cols, kinds={"count": "int"}, sheet="Методики по школам")
rep.table(R.overlap_table(cmp["overlap"]), "ident_overlap", "Совпадение списков методик",
          "Для каждой пары методик: сколько школ выделяет каждая, сколько общих и коэффициент Жаккара (доля общих "
          "школ среди выделенных хотя бы одной из двух; 1 — списки совпадают, 0 — не пересекаются).",
          columns=R.OVERLAP_RU, kinds=R.OVERLAP_KINDS, sheet="Совпадение методик")
dis, dis_cols = R.disagreement_table(cmp["disagreements"])
if len(dis):
    rep.table(dis, "ident_disagreements", "Школы, по которым методики расходятся, и почему",
              "Школы, выделенные одними методиками и не выделенные другими, с объяснением каждой методики.",
              columns=dis_cols, appendix_only=True, sheet="Расхождения методик")
else:
    rep.note("Все методики выделяют одни и те же школы.")

# %%
rep.heading("Результаты и социальный контекст: типология школ")
rep.note("Низкий результат может объясняться контингентом (неблагоприятные социальные условия, ШНСУ) или работой "
         "школы. Линия показывает результат, ожидаемый при таком индексе социального благополучия (ИСБШ) по всем "
         "школам региона; отклонение школы от линии — её добавленная ценность с интервалом.")
rep.figure(R.plot_typology(typ, municipality, ctx.name), "ident_typology_plot", "Результаты ВПР и ИСБШ школ",
           "Серые точки — школы региона; цветные — школы муниципалитета по типам, с 95-процентными интервалами.")
rep.table(mine_typ, "ident_typology", "Типология школ муниципалитета",
          "Результат ВПР (русский язык и математика за 3 года) относительно региона, ИСБШ, добавленная ценность с "
          "интервалом и тип школы: ШНСУ, ШНОР, резильентная и другие.",
          columns=R.TYPOLOGY_RU, count="n", values=["result", "ci_low", "ci_high", "value_added", "va_low", "va_high"],
          kinds=R.TYPOLOGY_KINDS, sheet="Типология школ")

# %%
rep.heading("Школы муниципалитета на фоне региона")
rep.figure(R.plot_schools_vs_region(typ, municipality, ctx.name), "ident_vs_region",
           "Школы муниципалитета и распределение школ региона",
           "Точка — оценка результата школы с учётом её размера, отрезок — 95-процентный интервал; серая полоса — "
           "средние 50 % школ региона.")
