"""What the identification section publishes: Russian tables and figures built from ``workbench.identify``.

Kept apart from the rules so the rules stay pure computations; the notebook ``01_identification`` and the
dashboard use these to show the same things the same way.

Example
-------
>>> f = pd.DataFrame({"flagged": [True, False, False], "risk_zone": [False, True, False], "shnsu": [True, False, False]})
>>> summary_sentence(f, "Каменск-Уральский", "Школа-1")
'По методике «Каменск-Уральский» в муниципалитете «Школа-1» из 3 школ выделены как ШНОР: 1, в зоне риска: 1, ШНСУ: 1.'
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.config import load_presets
from workbench.formatting import plural

FLAGS_RU = {"school_id": "Код ОО", "name": "Школа", "group": "Группа",
            "group_uncertainty": "С учётом неопределённости", "criteria_fired": "Выполнено критериев",
            "criteria_required": "Нужно", "headline": "Главный показатель", "value": "Значение", "n": "Участников",
            "ci_low": "Интервал: от", "ci_high": "Интервал: до", "probability": "Вероятность", "type_ru": "Тип школы",
            "explanation": "Почему"}
FLAGS_KINDS = {"criteria_fired": "int", "criteria_required": "int", "value": "signed1", "n": "int",
               "ci_low": "signed1", "ci_high": "signed1", "probability": "probability"}
CRITERIA_RU = {"school_id": "Код ОО", "name": "Школа", "title": "Критерий", "unit": "Единица", "value": "Значение",
               "threshold": "Порог", "margin": "Запас (значение − порог)", "n": "Участников", "ci_low": "Интервал: от",
               "ci_high": "Интервал: до", "probability": "Вероятность", "years_held": "Годы, когда выполнялся",
               "years_assessed": "Годы с данными", "fired_ru": "Выполнен", "note": "Примечание"}
CRITERIA_KINDS = {"value": "num2", "threshold": "num2", "margin": "signed2", "n": "int", "ci_low": "num2",
                  "ci_high": "num2", "probability": "probability"}
TYPOLOGY_RU = {"school_id": "Код ОО", "name": "Школа", "n": "Участников", "result": "Результат ВПР, п.п. к региону",
               "ci_low": "Интервал: от", "ci_high": "Интервал: до", "social_index": "ИСБШ (z, по региону)",
               "value_added": "Добавленная ценность, п.п.", "va_low": "ДЦ: от", "va_high": "ДЦ: до",
               "type_ru": "Тип школы"}
TYPOLOGY_KINDS = {"n": "int", "result": "pp", "ci_low": "pp", "ci_high": "pp", "social_index": "z",
                  "value_added": "pp", "va_low": "pp", "va_high": "pp"}
OVERLAP_KINDS = {"first_count": "int", "second_count": "int", "both": "int", "only_first": "int", "only_second": "int",
                 "jaccard": "num2"}
OVERLAP_RU = {"first_ru": "Методика 1", "second_ru": "Методика 2", "first_count": "Выделяет 1", "second_count": "Выделяет 2",
              "both": "Обе", "only_first": "Только 1", "only_second": "Только 2", "jaccard": "Коэффициент Жаккара"}
TYPE_COLORS = {"shnsu": "#c62828", "shnor": "#ef6c00", "resilient": "#2e7d32", "low": "#f9a825", "context": "#6a1b9a",
               "underperforming": "#8d6e63", "effective": "#00838f", "other": "#90a4ae"}


def methodology_titles() -> dict[str, str]:
    """Preset name → its short Russian title (the part before the colon)."""
    return {k: v.title.split(":")[0] for k, v in load_presets().items()}


def summary_sentence(flags: pd.DataFrame, title: str, name: str) -> str:
    """One sentence with the counts of a methodology for the municipality."""
    return (f"По методике «{title}» в муниципалитете «{name}» из {len(flags)} школ выделены как ШНОР: "
            f"{int(flags['flagged'].sum())}, в зоне риска: {int(flags['risk_zone'].sum())}, "
            f"ШНСУ: {int(flags['shnsu'].sum())}.")


def decision_note(flags: pd.DataFrame, unc) -> str:
    """How the flags were decided: by the rule as written with the uncertainty-adjusted view beside it, or by the
    uncertainty-adjusted decision itself (``flags`` from ``identify.run_methodology``; ``unc`` the defaults'
    ``uncertainty``).

    >>> from workbench.config import load_defaults
    >>> f = pd.DataFrame({"decision": ["point"] * 2, "flagged": [True, True], "flagged_uncertainty": [True, False]})
    >>> decision_note(f, load_defaults().uncertainty)[:60]
    'Флаги поставлены по правилу методики, как оно записано в ист'
    """
    sure = f"вероятность оказаться за порогом не менее {round(100 * unc.min_probability.value)} %"
    if len(flags) and (flags["decision"] == "point").all():
        k, n = int((flags["flagged"] & flags["flagged_uncertainty"]).sum()), int(flags["flagged"].sum())
        extra = int((~flags["flagged"] & flags["flagged_uncertainty"]).sum())
        text = ("Флаги поставлены по правилу методики, как оно записано в источнике, — по наблюдаемым значениям. "
                f"Рядом (столбец «С учётом неопределённости») — решение, требующее, чтобы {sure}: ")
        if n == 0:
            text += "по правилу не выделена ни одна школа."
        elif k == n:
            text += f"все {n} {plural(n, 'выделенная школа', 'выделенные школы', 'выделенных школ')} выделяются и так."
        else:
            text += (f"из {n} выделенных школ так выделяются {k}. У остальных превышение порога может быть случайным "
                     "(мало участников или значение у самого порога) — их флаг стоит перепроверить по карточке школы, "
                     "прежде чем делать выводы.")
        if extra:
            text += (f" Ещё {extra} {plural(extra, 'школа выделяется', 'школы выделяются', 'школ выделяются')} только "
                     "с учётом неопределённости: результаты нескольких лет вместе указывают на низкий истинный "
                     "результат, хотя в отдельный год наблюдаемое значение порог не перешло.")
        return text
    return (f"Флаг ставится, только если {sure}: рядом с каждым флагом показаны интервал и вероятность, так что "
            "маленькая школа не попадает в список из-за случайных колебаний результата.")


def identification_list(flags: pd.DataFrame, typology: pd.DataFrame) -> pd.DataFrame:
    """The municipality's schools with their group under the methodology and their type; flagged first."""
    t = typology.set_index("school_id")["type_ru"]
    out = flags.assign(type_ru=flags["school_id"].map(t).fillna("нет данных"),
                       rank=np.select([flags["flagged"], flags["risk_zone"], flags["shnsu"]], [0, 1, 2], 3))
    return out.sort_values(["rank", "value"]).drop(columns="rank").reset_index(drop=True)


def criteria_table(criteria: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """Criteria of the municipality's schools with the school name and a Russian «да/нет»; shares (unit «доля»)
    are shown as percents (unit «%»), so 0.0047 reads 0.47 %.

    >>> c = pd.DataFrame({"school_id": ["a"], "unit": ["доля"], "value": [0.0047], "threshold": [0.005],
    ...                   "margin": [-0.0003], "ci_low": [None], "ci_high": [None], "fired": [True]})
    >>> criteria_table(c, pd.DataFrame({"school_id": ["a"], "name": ["Школа"]})).round(4)[["unit", "value", "fired_ru"]].values.tolist()
    [['%', 0.47, 'да']]
    """
    names = flags.set_index("school_id")["name"]
    return shares_as_percent(criteria.assign(name=criteria["school_id"].map(names),
                                             fired_ru=np.where(criteria["fired"], "да", "нет")).reset_index(drop=True))


def shares_as_percent(criteria: pd.DataFrame) -> pd.DataFrame:
    """Criteria rows in the unit «доля» with their values, thresholds, margins and intervals as percents (unit «%»)."""
    out = criteria.copy()
    share = out["unit"].eq("доля")
    for c in ("value", "threshold", "margin", "ci_low", "ci_high"):
        if c in out:
            out[c] = out[c].astype("float64").where(~share, 100 * out[c].astype("float64"))
    out["unit"] = out["unit"].where(~share, "%")
    return out


def membership_table(membership: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """School × methodology with «✓» marks, and the Russian column names."""
    titles = methodology_titles()
    cols = [c for c in membership.columns if c in titles]
    out = membership.copy()
    for c in cols:
        out[c] = np.where(out[c], "✓", "")
    out["count"] = membership[cols].sum(axis=1)
    out = out.sort_values(["count", "school_id"], ascending=[False, True])
    return out, {"school_id": "Код ОО", "name": "Школа", **{c: titles[c] for c in cols}, "count": "Сколько методик"}


def overlap_table(overlap: pd.DataFrame) -> pd.DataFrame:
    titles = methodology_titles()
    return overlap.assign(first_ru=overlap["first"].map(titles), second_ru=overlap["second"].map(titles))


def disagreement_table(dis: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Schools flagged by some methodologies but not others, with each methodology's reason."""
    titles = methodology_titles()
    if dis.empty:
        return dis, {}
    out = dis.assign(flagged_by=dis["flagged_by"].map(lambda s: ", ".join(titles.get(x, x) for x in s.split(", ") if x)),
                     not_flagged_by=dis["not_flagged_by"].map(lambda s: ", ".join(titles.get(x, x) for x in s.split(", ") if x)))
    cols = {"school_id": "Код ОО", "name": "Школа", "flagged_by": "Выделяют", "not_flagged_by": "Не выделяют"}
    cols |= {m: f"{titles[m]}: почему" for m in titles if m in out}
    return out, cols


def plot_typology(typ: pd.DataFrame, municipality: str, name: str):
    """Results against ИСБШ: the region's schools in grey, the municipality's coloured by type, the context line."""
    import matplotlib.pyplot as plt

    from workbench.identify import TYPES

    fig, ax = plt.subplots(figsize=(8, 5.5))
    reg = typ.dropna(subset=["social_index", "eb"])
    ax.scatter(reg["social_index"], reg["eb"], s=12, color="#cfd8dc", label="школы региона", zorder=1)
    if reg["line_slope"].notna().any():
        xs = np.linspace(reg["social_index"].min(), reg["social_index"].max(), 50)
        ax.plot(xs, reg["line_intercept"].iloc[0] + reg["line_slope"].iloc[0] * xs, color="#455a64", lw=1.2,
                label="ожидаемый результат при таком контексте")
    mine = reg[reg["municipality"] == municipality]
    for t, d in mine.groupby("type"):
        # a posterior mean may lie (just) outside its central interval when the posterior is lopsided
        err = [(d["eb"] - d["ci_low"]).clip(lower=0), (d["ci_high"] - d["eb"]).clip(lower=0)]
        ax.errorbar(d["social_index"], d["eb"], yerr=err, fmt="o", ms=6,
                    color=TYPE_COLORS[t], ecolor=TYPE_COLORS[t], elinewidth=0.8, label=TYPES[t].split(":")[0], zorder=3)
    ax.axhline(0, color="#90a4ae", lw=0.6, ls="--")
    ax.set_xlabel("ИСБШ — индекс социального благополучия (z по региону; левее — неблагополучнее)")
    ax.set_ylabel("Результат ВПР, п.п. к среднему по региону")
    ax.set_title(f"{name}: результаты и социальный контекст школ")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def plot_schools_vs_region(typ: pd.DataFrame, municipality: str, name: str):
    """Each school of the municipality with its interval on the band of the region's middle 50 % of schools."""
    import matplotlib.pyplot as plt

    reg = typ.dropna(subset=["eb"])
    q1, med, q3 = reg["eb"].quantile([0.25, 0.5, 0.75])
    mine = reg[reg["municipality"] == municipality].sort_values("eb")
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(mine) + 1.5))
    y = np.arange(len(mine))
    ax.axvspan(q1, q3, color="#eceff1", label="средние 50 % школ региона")
    ax.axvline(med, color="#37474f", lw=1, label="медиана школ региона")
    ax.errorbar(mine["eb"], y, xerr=[mine["eb"] - mine["ci_low"], mine["ci_high"] - mine["eb"]], fmt="o",
                color="#d84315", ecolor="#d84315", ms=4, elinewidth=1, label="школа (оценка и 95 % интервал)")
    ax.set_yticks(y, [str(n)[:40] for n in mine["name"]], fontsize=7)
    ax.set_xlabel("Результат ВПР (русский язык, математика), п.п. к среднему по региону")
    ax.set_title(f"{name}: школы на фоне школ региона")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return fig
