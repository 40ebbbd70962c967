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
report_date = ""   # «ДД.ММ.ГГГГ» или ГГГГ-ММ-ДД: на эту дату считаются «просрочено» и «срок подходит»; пусто — сегодня

# %%
from pathlib import Path

from workbench.notebook_support import start_section
from workbench import formatting as fmt
from workbench.monitoring import cycle_label, list_summary
from workbench.plan import support_plan
from workbench.reports import plan as R
from workbench.reports.identification import methodology_titles
from workbench.reports.deliverables import methodology_of
from workbench.roadmap import FILE_NAME, load_plan_params, write_workbook

ctx = start_section(municipality=municipality, year=year, store=store, output_dir=output_dir,
                    cache_dir=cache_dir, section="План поддержки")
rep, st = ctx.report, ctx.store
own_name, _, own_params = methodology_of(municipality)
name = methodology or own_name
plan = load_plan_params()
on = R.report_date(report_date)
sp = support_plan(ctx.results, year, municipality, name, own_params if name == own_name else None, on=on)
names = st.query("SELECT school_id, name FROM schools WHERE municipality = ?", [municipality]).set_index("school_id")["name"]
cycle = cycle_label(year, plan.cycle_start_month.value)

# %%
rep.heading(f"План поддержки: {ctx.name}, цикл {cycle}")
rep.note(f"План составлен для {len(sp.targets)} {fmt.plural(len(sp.targets), 'школы', 'школ', 'школ')} из списка {year} года "
         f"(методика «{methodology_titles()[name]}») по их профилям рисков и подобранным школам-лидерам. Это черновик: муниципалитет "
         f"правит сроки, ответственных и статусы в редактируемой таблице «дорожная карта.xlsx» и загружает её "
         f"обратно (workbench import); состояния «просрочено» и «срок подходит» считаются на дату отчёта "
         f"{sp.on:%d.%m.%Y}, вручную не вводятся.")
for n in sp.notes:
    rep.note(n)
path = write_workbook(sp.draft, Path(output_dir) / FILE_NAME,
                      title=f"Дорожная карта поддержки ШНОР и ШНСУ: {ctx.name}, цикл {cycle}", on=sp.on,
                      soon_days=plan.soon_days.value)

# %%
rep.heading("Сетевые пары со школами-лидерами")
if len(sp.pairs):
    rep.table(sp.pairs, "plan_pairs", "Сетевые пары",
              "Школа-лидер для каждой школы из списка — одно оптимальное распределение на весь муниципалитет "
              "(не «ближайшая по очереди»): похожие социальные условия, размер и тип, ограничение расстояния и "
              "числа подопечных у лидера (params/partners.yaml).",
              columns=R.PAIR_COLUMNS, kinds=R.PAIR_KINDS, sheet="Сетевые пары",
              body_columns=["name", "leader_name", "travel_km", "explain"])
if len(sp.alone):
    rep.table(sp.alone, "plan_alone", "Школы без пары", "Школы из списка, для которых допустимая школа-лидер "
              "не нашлась, и почему: пару подбирают вручную (пункт дорожной карты «подобрать школу-лидера»).",
              columns=R.ALONE_COLUMNS, sheet="Школы без пары")

# %%
rep.heading("Черновик дорожной карты")
rows = R.roadmap_rows(sp.draft)
rep.note(R.roadmap_sentence(rows))
rep.table(rows, "plan_roadmap", f"Дорожная карта на цикл {cycle}",
          "Мероприятия муниципалитета и каждой школы из списка из каталога мероприятий пяти муниципальных "
          "дорожных карт (params/measures.yaml): базовые для всех школ списка и по факторам риска школы; сроки — "
          "типовые для годового цикла (идентификация раз в год, промежуточный мониторинг дважды в год).",
          columns=R.ROADMAP_COLUMNS_RU, body_columns=R.ROADMAP_BODY, sheet="Дорожная карта")

# %%
rep.heading("Выполнение дорожной карты")
if len(sp.progress):
    rep.table(sp.progress, "plan_progress", f"Выполнение по направлениям на {sp.on:%d.%m.%Y}",
              "Пункты дорожной карты из хранилища (все циклы): выполнено, выполняется, просрочено, срок подходит; "
              "доля выполненных — среди пунктов, срок которых истёк (отменённые не считаются).",
              columns=R.PROGRESS_COLUMNS, kinds=R.PROGRESS_KINDS, sheet="Выполнение")
    late = R.overdue_rows(sp.measures, names)
    if len(late):
        rep.table(late, "plan_overdue", "Просроченные пункты и пункты с подходящим сроком",
                  f"На {sp.on:%d.%m.%Y}; «срок подходит» — до срока не больше {plan.soon_days.value} дней.",
                  columns=R.OVERDUE_COLUMNS, sheet="Просрочено")
else:
    rep.note("В хранилище нет дорожной карты муниципалитета: выполнение появится после загрузки "
             "«дорожная карта.xlsx» с отметками.")

# %%
rep.heading("Показатели мониторинга")
table = R.indicator_table(sp.indicators)
cols, body = R.indicator_columns(table)
rep.table(table, "plan_indicators", "Восемь показателей мониторинга по циклам",
          "Показатели муниципальной программы поддержки (seed 004) по учебным циклам после каждой идентификации: "
          "доли — в процентах (в скобках — из скольких), охват — числом школ из списка того года. Показатели компетенций учителей — оценка "
          "по школам (данных по отдельным учителям нет и быть не должно).",
          columns=cols, body_columns=body, sheet="Показатели мониторинга")
rep.figure(R.plot_indicators(sp.indicators, f"{ctx.name}: показатели мониторинга по циклам"), "plan_indicators_fig",
           "Показатели мониторинга по циклам", "Каждый показатель по учебным циклам; последний цикл может быть не "
           "завершён.")

# %%
rep.heading("Школы в списке по годам")
rep.table(list_summary(sp.history), "plan_list_summary", "Движение списка по годам",
          f"Сколько школ в списке, включены впервые, повторно и вышли; школа выходит из списка, если не "
          f"идентифицирована {plan.exit_years.value} года подряд (params/plan.yaml).",
          columns=R.SUMMARY_COLUMNS, kinds={"year": "text"}, sheet="Движение списка")
hist = R.history_table(sp.history, names)
rep.table(hist, "plan_history", "История школ в списке",
          "Состояние каждой школы, когда-либо включённой в список, по годам идентификации.",
          columns={"name": "Школа", **{c: c for c in hist.columns if c.isdigit()}, "reentries": "Повторных включений"},
          kinds={"reentries": "int"}, appendix_only=True, sheet="История списка")
