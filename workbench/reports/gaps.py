"""What the gap section publishes: the gap between the strongest and the weakest schools with its trend, the
dynamics of the listed schools next to regression to the mean, and the schools whose trajectory departs from
the region's (Russian).

Every gap printed in the body is the noise-corrected one (``workbench.gaps``); the gap between observed means
stands beside it for comparison, so a reader can see how much of a spreadsheet gap is the noise of small schools.

Example
-------
>>> direction(pd.Series({"slope": -0.8, "slope_low": -1.5, "slope_high": -0.1}))
'сокращается'
>>> direction(pd.Series({"slope": 0.4, "slope_low": -0.3, "slope_high": 1.1}))
'значимо не меняется'
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench import formatting as fmt
from workbench.vocab import SUBJECTS

GAP_TABLE_COLUMNS = {
    "subject_name": "Предмет", "grade": "Класс", "year": "Год", "unit_name": "Где", "schools": "Школ",
    "pupils": "Участников", "p90_p10": "Разрыв P90−P10, п.п.", "p90_p10_low": "от", "p90_p10_high": "до",
    "raw_p90_p10": "P90−P10 по наблюдаемым средним", "quartile_gap": "Верхняя − нижняя четверть, п.п.",
    "quartile_gap_low": "от ", "quartile_gap_high": "до ", "raw_quartile_gap": "То же по наблюдаемым",
    "p90_p10_sd": "P90−P10, SD учеников", "reliability": "Надёжность средних школ",
    "two_bottom": "Доля «2» в нижней четверти", "two_top": "Доля «2» в верхней четверти",
    "two_ratio": "Отношение долей «2»", "two_ratio_low": "от  ", "two_ratio_high": "до  ",
    "shnor_schools": "Школ в списке", "shnor_gap": "Остальные − ШНОР, п.п.", "shnor_gap_low": "от   ",
    "shnor_gap_high": "до   ", "within_p90_p10": "P90−P10 внутри групп по контексту, п.п.",
    "context_share": "Доля разброса, объяснённая контекстом", "v": "Индекс V (по рангам)", "v_low": "от    ",
    "v_high": "до    ", "hetop_p90_p10": "P90−P10 по одним отметкам (HETOP), SD", "hetop_p90_p10_low": "от     ",
    "hetop_p90_p10_high": "до     ", "normality_p": "p нормальности"}
GAP_TABLE_KINDS = {"schools": "int", "pupils": "int", "p90_p10": "num1", "p90_p10_low": "num1", "p90_p10_high": "num1",
                   "raw_p90_p10": "num1", "quartile_gap": "num1", "quartile_gap_low": "num1",
                   "quartile_gap_high": "num1", "raw_quartile_gap": "num1", "p90_p10_sd": "num2",
                   "reliability": "num2", "two_bottom": "share", "two_top": "share", "two_ratio": "num1",
                   "two_ratio_low": "num1", "two_ratio_high": "num1", "shnor_schools": "int", "shnor_gap": "num1",
                   "shnor_gap_low": "num1", "shnor_gap_high": "num1", "within_p90_p10": "num1",
                   "context_share": "share", "v": "num2", "v_low": "num2", "v_high": "num2", "normality_p": "p",
                   "hetop_p90_p10": "num2", "hetop_p90_p10_low": "num2", "hetop_p90_p10_high": "num2"}
LATEST_COLUMNS = {**{k: v for k, v in GAP_TABLE_COLUMNS.items() if k not in ("year", "unit_name")},
                  "region_p90_p10": "P90−P10 по региону, п.п.", "region_two_ratio": "Отношение долей «2» по региону"}
LATEST_KINDS = {**GAP_TABLE_KINDS, "region_p90_p10": "num1", "region_two_ratio": "num1"}
GAP_BODY = ["subject_name", "grade", "schools", "p90_p10", "p90_p10_low", "p90_p10_high", "raw_p90_p10",
            "region_p90_p10", "two_ratio", "shnor_gap"]


def subject_name(code: str) -> str:
    return SUBJECTS.get(code, code)


def gap_rows(table: pd.DataFrame, unit_name: str) -> pd.DataFrame:
    """A ``gaps.region_gaps`` table ready for publication (subject names, the unit's name)."""
    out = table.copy()
    out["subject_name"] = out["subject"].map(subject_name)
    out["unit_name"] = unit_name
    return out


def lead_rows(rows: pd.DataFrame, subjects) -> pd.DataFrame:
    """Rows of the lead subjects in their order, by grade, the municipality before the region."""
    order = {s: i for i, s in enumerate(subjects)}
    rows = rows[rows["subject"].isin(list(subjects))]
    rows = rows.assign(_s=rows["subject"].map(order), _u=(rows["unit_name"] == "регион").astype(int))
    return rows.sort_values(["_s", "grade", "_u"]).drop(columns=["_s", "_u"]).reset_index(drop=True)


def latest_gaps(mine: pd.DataFrame, region: pd.DataFrame, name: str, year: int, subjects) -> pd.DataFrame:
    """The year's gaps of the lead subjects by grade, with the region's P90 − P10 and «2» ratio beside them."""
    reg = region[region["year"] == year].set_index(["subject", "grade"])
    rows = gap_rows(mine[mine["year"] == year], name)
    key = pd.MultiIndex.from_frame(rows[["subject", "grade"]])
    rows["region_p90_p10"] = reg["p90_p10"].reindex(key).to_numpy()
    rows["region_two_ratio"] = reg["two_ratio"].reindex(key).to_numpy()
    return lead_rows(rows, subjects)


def hetop_sentence(mine: pd.DataFrame, subjects, year: int) -> str | None:
    """The gap from mark counts alone (HETOP) next to the gap from scores, both in pupil SD units."""
    if "hetop_p90_p10" not in mine:
        return None
    now = mine[(mine["year"] == year) & mine["subject"].isin(list(subjects))].dropna(subset=["hetop_p90_p10"])
    if now.empty:
        return None
    parts = [f"{subject_name(s).lower()} — {fmt.number(g['hetop_p90_p10'].mean(), 2)} SD по отметкам против "
             f"{fmt.number(g['p90_p10_sd'].mean(), 2)} SD по баллам" for s, g in now.groupby("subject", sort=False)]
    return ("По одним только числам отметок «2»–«5» каждой школы (как в сводках ФИС ОКО) разрыв P90 − P10 "
            "оценивается гетероскедастической порядковой пробит-моделью (HETOP, как в SEDA): в среднем по классам "
            + "; ".join(parts) + ". Совпадение показывает, что разрыв можно отслеживать и там, где баллов нет; "
            "интервалы по классам — в приложении.")


def direction(row) -> str:
    """«сокращается» / «растёт» / «значимо не меняется» from a trend's interval."""
    if not np.isfinite(row.get("slope_high", np.nan)):
        return "не оценивается"
    if row["slope_high"] < 0:
        return "сокращается"
    if row["slope_low"] > 0:
        return "растёт"
    return "значимо не меняется"


TREND_COLUMNS_RU = {"subject_name": "Предмет", "grade_label": "Классы", "unit_name": "Где",
                    "period": "Годы", "slope": "Изменение разрыва за год, п.п.", "slope_low": "от",
                    "slope_high": "до", "p_value": "p", "fitted_first": "Разрыв в начале (по тренду), п.п.",
                    "fitted_last": "Разрыв в конце (по тренду), п.п.", "direction": "Вывод"}
# nine columns: the body table stays on a portrait page with its heading (p and the start are in the appendix)
TREND_BODY = ["subject_name", "grade_label", "unit_name", "period", "slope", "slope_low", "slope_high", "fitted_last",
              "direction"]
TREND_KINDS = {"slope": "num2", "slope_low": "num2", "slope_high": "num2", "p_value": "p", "fitted_first": "num1",
               "fitted_last": "num1"}


def grades_label(grades: str) -> str:
    """«4, 5, 6, 7, 8» → «4–8»; gaps stay listed: «4, 5, 7» → «4, 5, 7».

    >>> grades_label("4, 5, 6, 7, 8"), grades_label("5, 7"), grades_label("")
    ('4–8', '5, 7', '—')
    """
    g = [int(x) for x in grades.split(",") if x.strip()]
    if not g:
        return "—"
    if len(g) > 2 and g == list(range(g[0], g[-1] + 1)):
        return f"{g[0]}–{g[-1]}"
    return ", ".join(map(str, g))


def trend_rows(trends: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """``gaps.gap_trends`` for publication: grade 0 is «все (…)», the period, the verdict in words."""
    out = trends.copy()
    out["subject_name"] = out["subject"].map(subject_name)
    out["unit_name"] = out["unit"].map(names).fillna(out["unit"])
    out["grade_label"] = [grades_label(g) + ", среднее" if grade == 0 else str(grade)
                          for grade, g in zip(out["grade"], out["grades"].fillna(""))]
    out["period"] = [f"{int(a)}–{int(b)}" if np.isfinite(a) else "—"
                     for a, b in zip(out["first_year"], out["last_year"])]
    out["direction"] = [direction(r) for _, r in out.iterrows()]
    return out


def trend_band(years, values, level: float = 0.95) -> pd.DataFrame:
    """The fitted linear trend and its confidence band at each year (for the figure)."""
    import statsmodels.api as sm

    t = np.asarray(years, dtype=float)
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(y)
    if ok.sum() < 3:
        return pd.DataFrame(columns=["year", "fit", "low", "high"])
    X = sm.add_constant(t[ok] - t[ok].mean())
    pred = sm.OLS(y[ok], X).fit().get_prediction(X).summary_frame(alpha=1 - level)
    return pd.DataFrame({"year": t[ok], "fit": pred["mean"].to_numpy(), "low": pred["mean_ci_lower"].to_numpy(),
                         "high": pred["mean_ci_upper"].to_numpy()})


def yearly_mean(table: pd.DataFrame, subject: str, measure: str = "p90_p10") -> pd.Series:
    """Per year the mean over the grades of ``subject`` assessed in every year (as ``gaps.gap_trends``)."""
    g = table[(table["subject"] == subject)].dropna(subset=[measure])
    if g.empty:
        return pd.Series(dtype=float)
    every = g.groupby("grade")["year"].nunique()
    g = g[g["grade"].isin(every[every == g["year"].nunique()].index)]
    return g.groupby("year")[measure].mean()


def plot_gap_trends(mine: pd.DataFrame, region: pd.DataFrame, subjects, name: str, level: float = 0.95):
    """One panel per subject: the municipality's corrected P90 − P10 per year (mean over grades) with its trend and
    confidence band, the observed-means gap dotted, the region in grey."""
    import matplotlib.pyplot as plt

    subjects = list(subjects)
    ncol = min(2, len(subjects))          # legend columns under the panels
    fig, axes = plt.subplots(1, len(subjects), figsize=(5.2 * len(subjects), 3.8 if ncol == 2 else 4.6),
                             squeeze=False, sharey=True)
    for ax, s in zip(axes[0], subjects):
        for table, label, colour in ((region, "регион", "0.55"), (mine, name, "#1f5fa8")):
            y = yearly_mean(table, s)
            if y.empty:
                continue
            ax.plot(y.index, y.values, "o", color=colour, label=f"{label}: разрыв по истинным средним")
            band = trend_band(y.index, y.values, level)
            if len(band):
                ax.plot(band["year"], band["fit"], "-", color=colour, lw=1.5)
                ax.fill_between(band["year"], band["low"], band["high"], color=colour, alpha=0.15, lw=0)
            raw = yearly_mean(table, s, "raw_p90_p10")
            ax.plot(raw.index, raw.values, ":", color=colour, lw=1, label=f"{label}: по наблюдаемым средним")
        ax.set_title(subject_name(s), fontsize=10)
        ax.set_xlabel("год")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("P90 − P10 средних школ, п.п.")
    # below the panels: inside one they covered the points
    handles, labels = axes[0][-1].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=ncol, frameon=False)
    import textwrap

    title = (f"{name}: разрыв между сильными и слабыми школами по годам (среднее по классам; полоса — "
             f"{level:.0%}-интервал тренда)")
    fig.suptitle("\n".join(textwrap.wrap(title, 60 * len(subjects))), fontsize=10)
    fig.tight_layout(rect=(0, 0.12 if ncol == 2 else 0.2, 1, 1))
    return fig


DYNAMICS_COLUMNS_RU = {"definition_ru": "Определение", "listed": "В списке в базовом году", "excluded":
                       "Исключены (признаки необъективности)", "judged": "Оценено", "positive": "Школ с динамикой",
                       "share": "Доля", "share_low": "от", "share_high": "до"}
DYNAMICS_KINDS = {"listed": "int", "excluded": "int", "judged": "int", "positive": "int", "share": "share",
                  "share_low": "share", "share_high": "share"}
DEFINITION_NAMES = {"exit": "Выход из списка", "beyond_interval": "Изменение больше погрешности",
                    "percentile": "Подъём по процентилю", "residual": "Лучше с учётом контекста",
                    "negative": "Отрицательная динамика (ФИОКО)"}


def dynamics_rows(summary: pd.DataFrame) -> pd.DataFrame:
    out = summary.copy()
    out["definition_ru"] = out["definition"].map(DEFINITION_NAMES) + ": " + out["text_ru"]
    return out


SCHOOL_DYNAMICS_RU = {"name": "Школа", "supported": "В программе поддержки", "estimate_base": "Результат базового года, п.п. к региону",
                      "estimate": "Результат года, п.п. к региону", "change": "Изменение, п.п.", "change_low": "от",
                      "change_high": "до", "expected_change": "Ожидалось без поддержки (возврат к среднему), п.п.",
                      "two_change": "Изменение доли «2», п.п.", "percentile_rise": "Изменение процентиля",
                      "exit": "Вышла из списка", "beyond_interval": "Больше погрешности", "percentile": "По процентилю",
                      "residual": "С учётом контекста", "negative": "Отрицательная (ФИОКО)", "note": "Примечание"}
SCHOOL_DYNAMICS_KINDS = {"estimate_base": "pp", "estimate": "pp", "change": "pp", "change_low": "pp",
                         "change_high": "pp", "expected_change": "pp", "two_change": "pp", "percentile_rise": "num1"}


def _yes(v) -> str:
    return "—" if pd.isna(v) else ("да" if bool(v) else "нет")


def school_dynamics_rows(dyn: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    out = dyn.copy()
    out["name"] = out["school_id"].map(names).fillna(out["school_id"])
    for c in ("exit", "beyond_interval", "percentile", "residual", "negative"):
        out[c] = out[c].map(_yes)
    out["supported"] = out["supported"].map({True: "да", False: "нет"})
    out["note"] = np.where(out["excluded"], "признаки необъективности в этом году: не оценивается",
                           np.where(out["change"].isna(), "нет результатов одного из лет", ""))
    return out.sort_values("change", ascending=False, na_position="last").reset_index(drop=True)


def regression_to_mean_sentence(dyn: pd.DataFrame, base: int, year: int) -> str | None:
    """What regression to the mean predicts for the listed schools outside the programme, next to what they did,
    and what the supported ones did (their own past already carries the support, so no expectation is given)."""
    d = dyn[~dyn["excluded"] & dyn["change"].notna()]
    if d.empty:
        return None
    sup, rest = d[d["supported"]], d[~d["supported"]]
    parts = []
    if len(rest) and rest["expected_change"].notna().any():
        parts.append(f"Школы, отобранные по низкому результату, поднимаются и без поддержки: часть низкого результата — "
                     f"случайность (возврат к среднему). От школ списка {base} года вне программы поддержки "
                     f"({len(rest)}) к {year} году ожидалось в среднем {fmt.pp(rest['expected_change'].mean())} "
                     f"(прогноз по школам региона вне программы), наблюдалось {fmt.pp(rest['change'].mean())}")
    if len(sup):
        parts.append(f"школы списка в программе поддержки ({len(sup)}) изменились в среднем на "
                     f"{fmt.pp(sup['change'].mean())}")
    if not parts:
        return None
    return "; ".join(parts) + (". Рост сам по себе не доказывает действия поддержки: её нужно сравнивать с похожими "
                               "школами вне программы.")


TRAJECTORY_COLUMNS_RU = {"name": "Школа", "years": "Лет", "level": "Средний уровень, п.п. к региону",
                         "slope": "Изменение за год, п.п.", "slope_low": "от", "slope_high": "до",
                         "diverging": "Траектория"}
TRAJECTORY_KINDS = {"years": "int", "level": "pp", "slope": "num2", "slope_low": "num2", "slope_high": "num2"}


def plot_trajectories(trend: pd.DataFrame, traj: pd.DataFrame, names: pd.Series, name: str):
    """Each school's yearly result relative to the region; schools that fall behind in red, those catching up
    in green, the others in grey."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 4.6))
    label = traj.set_index("school_id")["diverging"] if len(traj) else pd.Series(dtype=str)
    colours = {"отстаёт": "#c0392b", "догоняет": "#2e8b57"}
    for sid, g in trend.groupby("school_id"):
        kind = label.get(sid, "")
        c = colours.get(kind, "0.7")
        ax.plot(g["year"], g["estimate"], "-o", color=c, ms=2.5, lw=1.6 if kind else 0.8, alpha=1 if kind else 0.6)
        if kind:
            last = g.sort_values("year").iloc[-1]
            ax.annotate(str(names.get(sid, sid))[:28], (last["year"], last["estimate"]), fontsize=6.5,
                        xytext=(3, 0), textcoords="offset points", color=c, va="center")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("год")
    ax.set_ylabel("результат ВПР (русский язык и математика), п.п. к региону")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_title(f"{name}: траектории школ относительно региона (красные — отстают, зелёные — догоняют)",
                 fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def gap_findings(mine: pd.DataFrame, region: pd.DataFrame, trends: pd.DataFrame, subjects, name: str,
                 year: int, level: float = 0.95) -> list[str]:
    """Sentences for the top of the section: the gap this year against the region and where it is heading."""
    out = []
    for s in subjects:
        y_m, y_r = yearly_mean(mine, s), yearly_mean(region, s)
        if y_m.empty or year not in y_m.index:
            continue
        tr = trends[(trends["unit"] != "region") & (trends["subject"] == s) & (trends["grade"] == 0)]
        tr_r = trends[(trends["unit"] == "region") & (trends["subject"] == s) & (trends["grade"] == 0)]
        band = trend_band(y_m.index, y_m.values, level)
        at = band[band["year"] == year]
        where = (f" (по тренду {fmt.number(at['fit'].iloc[0], 1)}, {level:.0%}-интервал "
                 f"{fmt.number(at['low'].iloc[0], 1)}–{fmt.number(at['high'].iloc[0], 1)})") if len(at) else ""
        now = mine[(mine["subject"] == s) & (mine["year"] == year)]
        used = sorted(now.loc[now["p90_p10"].notna(), "grade"].astype(int))
        which = "в среднем по классам" if len(used) == len(now) else (
            f"только {grades_label(', '.join(map(str, used)))} кл.: в остальных классах меньше школ, чем нужно для "
            "оценки")
        text = (f"{subject_name(s)}: разрыв между школами с высокими и низкими результатами (P90 − P10 средних "
                f"школ с поправкой на шум малых школ, {which}) в {year} году — "
                f"{fmt.number(y_m[year], 1)} п.п.{where}, по региону {fmt.number(y_r.get(year, np.nan), 1)} п.п.")
        if len(tr) and np.isfinite(tr["slope"].iloc[0]):
            t = tr.iloc[0]
            text += (f"; за {int(t['first_year'])}–{int(t['last_year'])} годы он {direction(t)} "
                     f"({fmt.number(t['slope'], 2, signed=True)} п.п. в год, интервал {fmt.number(t['slope_low'], 2)}"
                     f"…{fmt.number(t['slope_high'], 2)})")
        if len(tr) and np.isfinite(tr["slope"].iloc[0]) and len(tr_r):
            text += f", по региону {direction(tr_r.iloc[0])}"
        out.append(text if text.endswith(".") else text + ".")
    return out


# ---------------------------------------------------------------- did support work

def plot_event_study(event: pd.DataFrame, level: float = 0.95):
    """Effect of support by year relative to its start, with intervals; before the start — the placebo years."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    pre, post = event[event["event"] < 0], event[event["event"] >= 0]
    for part, colour, label in ((pre, "0.45", "до начала поддержки (проверка)"), (post, "#1f5fa8", "после начала")):
        ax.errorbar(part["event"], part["att"], yerr=[part["att"] - part["ci_low"], part["ci_high"] - part["att"]],
                    fmt="o", color=colour, capsize=4, label=label)
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(-0.5, color="0.6", ls=":", lw=1)
    ax.set_xlabel("лет от начала поддержки (0 — первый год ВПР с поддержкой)")
    ax.set_ylabel("эффект, п.п. к региону")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_title(f"Действие поддержки: школы программы против подобранных школ без неё ({level:.0%}-интервалы)",
                 fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


EVENT_COLUMNS_RU = {"event": "Лет от начала", "att": "Эффект, п.п.", "ci_low": "от", "ci_high": "до", "se": "Ст. ошибка",
                    "cohorts": "Когорт", "treated": "Школ программы"}
EVENT_KINDS = {"event": "int", "att": "signed1", "ci_low": "signed1", "ci_high": "signed1", "se": "num2",
               "cohorts": "int", "treated": "int"}
ATT_GT_COLUMNS_RU = {"cohort": "Начало поддержки (год ВПР)", "year": "Год", "event": "Лет от начала", "att": "Эффект, п.п.",
                     "ci_low": "от", "ci_high": "до", "treated": "Школ программы", "controls": "Подобранных школ"}
ATT_GT_KINDS = {"cohort": "text", "year": "text", "event": "int", "att": "signed1", "ci_low": "signed1",
                "ci_high": "signed1", "treated": "int", "controls": "int"}
BALANCE_COLUMNS_RU = {"cohort": "Начало поддержки", "variable_ru": "Показатель", "smd_before": "Различие до подбора, SD",
                      "smd_after": "После подбора, SD"}
BALANCE_KINDS = {"cohort": "text", "smd_before": "signed2", "smd_after": "signed2"}


def balance_rows(balance: pd.DataFrame) -> pd.DataFrame:
    out = balance.copy()
    out["variable_ru"] = [f"результат {v[1:]} года" if v.startswith("y") and v[1:].isdigit() else
                          ("ИСБШ" if v == "ses" else v) for v in out["variable"]]
    return out


def evaluation_sentences(ev, supported_here: int, name: str) -> list[str]:
    """What can and cannot be concluded, in plain Russian."""
    o, pre = ev.overall, ev.pretrend
    treated = int(ev.att_gt.drop_duplicates("cohort")["treated"].sum()) if len(ev.att_gt) else 0
    if not treated or not np.isfinite(o.get("att", np.nan)):
        return ["Оценить действие поддержки нельзя: в данных нет школ с записями о сетевом партнёрстве (или нет лет "
                "до и после его начала)."]
    lo, hi = o["ci_low"], o["ci_high"]
    verdict = ("результаты школ программы выросли больше, чем у похожих школ без поддержки" if lo > 0 else
               "результаты школ программы снизились относительно похожих школ без поддержки" if hi < 0 else
               "различие с похожими школами без поддержки не выходит за пределы случайных колебаний")
    schools = fmt.plural(treated, "школа", "школы", "школ")
    out = [f"Действие поддержки (по всему региону: {treated} {schools} программы, в муниципалитете «{name}» — "
           f"{supported_here}): в среднем "
           f"за годы после её начала {fmt.number(o['att'], 1, signed=True)} п.п. к региону ({ev.level:.0%}-интервал "
           f"{fmt.number(lo, 1, signed=True)}…{fmt.number(hi, 1, signed=True)}); {verdict}. Сравнение — с ближайшими "
           f"школами без поддержки (по {ev.matches} на каждую школу программы) по результатам всех лет до её начала "
           "и ИСБШ, так что возврат к среднему у обеих групп одинаков; стандартные ошибки кластеризованы по школам."]
    if pre["df"]:
        ok = pre["p_value"] >= 0.05
        years = fmt.plural(pre["df"], "год", "года", "лет")
        out.append(f"Проверка до начала поддержки ({pre['df']} {years}, критерий χ², p = {fmt.p_value(pre['p_value'])}): "
                   + ("изменения школ программы и подобранных школ до поддержки не различались — допущение о "
                      "параллельных траекториях не опровергается." if ok else
                      "изменения различались уже до поддержки — оценку следует читать с осторожностью (если школы "
                      "отобраны по случайно низкому результату года отбора, провал в этом году ожидаем)."))
    out.append("Вывод о причине возможен, если школы программы отличаются от подобранных только поддержкой; "
               "неучтённые различия (смена директора, состав учеников) могут дать тот же результат.")
    return out
