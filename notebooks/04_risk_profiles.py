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
from workbench import risks
from workbench.plan import targets_of
from workbench.reports import plan as R
from workbench.reports.deliverables import methodology_of
from workbench.roadmap import load_plan_params

ctx = start_section(municipality=municipality, year=year, store=store, output_dir=output_dir,
                    cache_dir=cache_dir, section="Профили рисков школ")
rep, st = ctx.report, ctx.store
own_name, _, own_params = methodology_of(municipality)
name = methodology or own_name
flags = ctx.results.identification(year, name, own_params if name == own_name else None).for_municipality(municipality).flags
targets = targets_of(flags)
profiles = ctx.region_cached("risk_profiles", year=year)
profiles = profiles[profiles.municipality == municipality]
names = st.query("SELECT school_id, name FROM schools WHERE municipality = ?", [municipality]).set_index("school_id")["name"]
profiles = profiles.assign(name=profiles["school_id"].map(names))
params, plan = risks.load_risk_params(), load_plan_params()
todo = risks.factors_to_address(profiles[profiles.school_id.isin(targets.school_id)])

# %%
rep.heading(f"Профили рисков школ: {ctx.name}, {year} год")
rule = {"zscore": "z-оценка сводного показателя фактора относительно школ региона того же типа",
        "percentile": "процентиль сводного показателя среди школ региона", "share_flagged":
        "доля показателей фактора, заметно худших, чем в среднем по региону"}[params.level_rule.value]
rep.note(f"Десять факторов риска ФИОКО («500+»): каждый складывается из показателей анкет директора, учителей, "
         f"обучающихся и родителей и административных данных хранилища (кадры, оснащение, контекст, дефициты, ВПР). "
         f"Уровень риска определяется правилом «{rule}»; официальные пороги не опубликованы, поэтому уровни — "
         f"эвристика (params/risks.yaml), а не заключение. Если данных по фактору мало, пишется «нет данных»; "
         f"пропуски никогда не считаются нулём. В списке {len(targets)} школ.")
rep.figure(R.plot_risk_heatmap(profiles, names, targets.set_index("school_id")["listed_as"],
                               f"{ctx.name}: уровни риска по факторам, {year}"),
           "risk_heatmap", "Карта рисков: школы × факторы",
           "Каждая клетка — уровень риска школы по фактору (В — высокий, С — средний); сверху — школы из списка "
           "ШНОР/ШНСУ, под чертой — остальные школы муниципалитета.")

# %%
factors = R.factors_table(todo, targets, plan.max_factors.value)
rep.table(factors, "risk_factors", "Факторы риска школ из списка",
          f"Для каждой школы из списка — факторы высокого и среднего риска по убыванию, с показателями, которые "
          f"повышают риск, и направлениями дорожной карты. Здесь — первые {plan.max_factors.value} фактора школы: "
          f"они идут в черновик плана на год (params/plan.yaml); все факторы — в приложении и в файле Excel.",
          columns=R.FACTOR_COLUMNS, kinds={"rank": "int"}, sheet="Факторы риска школ",
          body_rows=int((factors["rank"] <= plan.max_factors.value).sum()) or None,
          body_columns=["name", "listed_as", "rank", "title", "level", "explain"])
rep.table(R.level_counts(profiles), "risk_levels", "Уровни риска по факторам: сколько школ",
          "Число школ муниципалитета на каждом уровне риска по каждому фактору.",
          columns=R.LEVEL_COUNT_COLUMNS, sheet="Уровни риска")
rep.table(profiles.sort_values(["name", "factor"]), "risk_profiles", "Профили рисков всех школ",
          "Все школы и все факторы: оценка по правилу, полнота данных (доля веса показателей, которые есть) и "
          "чего не хватает.", columns=R.PROFILE_COLUMNS, kinds=R.PROFILE_KINDS, appendix_only=True,
          sheet="Профили рисков")
