"""«Основные выводы» of the справка: 5–8 sentences generated from the data, each with its figures.

Findings are worded as signals with their evidence and its limits, never as verdicts: a flag says that a
school meets a methodology's rule on the data in the store, an objectivity signal that a check fired, and
the support named is what the data call for, for the department to decide.

Example
-------
>>> names_list(["Школа № 1", "Школа № 2", "Школа № 3", "Школа № 4"], shown=2)
'Школа № 1, Школа № 2 и ещё 2'
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench import formatting as fmt


def names_list(names: list[str], shown: int = 5) -> str:
    """«А, Б и ещё 3»: the first names and how many more."""
    names = [str(n) for n in names]
    if len(names) <= shown:
        return ", ".join(names)
    return ", ".join(names[:shown]) + f" и ещё {len(names) - shown}"


def _schools(n: int) -> str:
    """«1 школа», «3 школы», «5 школ»."""
    return f"{n} {fmt.plural(n, 'школа', 'школы', 'школ')}"


def _of_schools(n: int) -> str:
    """Genitive, after «у», «для», «из»: «1 школы», «3 школ», «5 школ»."""
    return f"{n} {fmt.plural(n, 'школы', 'школ', 'школ')}"


def identification_sentences(flags: pd.DataFrame, previous: pd.DataFrame | None, title: str) -> list[str]:
    """How many schools and which are ШНОР, in the risk zone and ШНСУ; change from the year before."""
    n = len(flags)
    shnor = flags[flags["flagged"].astype(bool)]
    risk = flags[flags["risk_zone"].astype(bool) & ~flags["flagged"].astype(bool)]
    shnsu = flags[flags["shnsu"].astype(bool)]
    out = []
    if len(shnor):
        out.append(f"По методике «{title}» признаки школы с низкими образовательными результатами (ШНОР) выявлены "
                   f"у {_of_schools(len(shnor))} из {n}: {names_list(shnor['name'].tolist())}.")
    else:
        out.append(f"По методике «{title}» ни одна из {n} школ не отнесена к ШНОР на данных хранилища.")
    if len(shnor) and "flagged_uncertainty" in flags and (flags["decision"] == "point").all():
        sure = int(shnor["flagged_uncertainty"].astype(bool).sum())
        out.append("Флаги поставлены по правилу методики, как оно записано; " + (
            "все выделенные школы выделяются и с учётом статистической неопределённости." if sure == len(shnor)
            else f"с учётом статистической неопределённости выделяются {sure} из {len(shnor)}, у остальных превышение "
                 "порога может быть случайным (мало участников или значение у порога)."))
    tail = []
    if len(risk):
        tail.append(f"в зоне риска — {_schools(len(risk))} ({names_list(risk['name'].tolist(), 3)})")
    if len(shnsu):
        tail.append(f"в неблагоприятных социальных условиях (ШНСУ) — {_schools(len(shnsu))}")
    if tail:
        out.append("Кроме того, " + "; ".join(tail) + ".")
    if previous is not None and len(previous):
        before = set(previous.loc[previous["flagged"].astype(bool), "school_id"])
        now = set(shnor["school_id"])
        stayed, new, left = len(now & before), len(now - before), len(before - now)
        out.append(f"По сравнению с предыдущим годом: в списке ШНОР остались {stayed}, добавились {new}, "
                   f"вышли из него {left} (изменение списка — признак, а не доказательство изменения результатов: "
                   "у малых школ результат колеблется от года к году).")
    return out


def gap_sentence(mine: pd.DataFrame, region: pd.DataFrame, subjects, year: int) -> str | None:
    """The corrected gap between the strongest and the weakest schools of the lead subjects this year, against
    the region, and where it is heading (``workbench.gaps``: true school means, trend over the years)."""
    from workbench import gaps
    from workbench.reports import gaps as R

    trends = gaps.gap_trends(pd.concat([mine, region]))
    parts = []
    for s in subjects:
        y_m, y_r = R.yearly_mean(mine, s), R.yearly_mean(region, s)
        if year not in y_m.index:
            continue
        tr = trends[(trends["unit"] != "region") & (trends["subject"] == s) & (trends["grade"] == 0)]
        trend = f", {R.direction(tr.iloc[0])}" if len(tr) and np.isfinite(tr["slope"].iloc[0]) else ""
        parts.append(f"{R.subject_name(s).lower()} — {fmt.number(y_m[year], 1)} п.п. (по региону "
                     f"{fmt.number(y_r.get(year, float('nan')), 1)}){trend}")
    if not parts:
        return None
    return ("Разрыв между школами с высокими и низкими результатами (P90 − P10 истинных средних школ, с поправкой "
            "на шум малых школ, в среднем по классам): " + "; ".join(parts) + ".")


def results_sentence(f: dict) -> str | None:
    """The municipality against the region in one sentence."""
    if not f.get("participants"):
        return None
    diff = f["mean_pct"] - f["region_mean_pct"]
    return (f"Средний процент выполнения ВПР — {fmt.number(f['mean_pct'], 1, unit='%')} "
            f"({fmt.pp(diff)} к региону), доля отметок «2» — {fmt.share(f['share_2'])} "
            f"(по региону {fmt.share(f['region_share_2'])}); {fmt.integer(f['participants'])} работ из "
            f"{_of_schools(int(f['schools']))}.")


def objectivity_sentence(school_signals: pd.DataFrame, names: pd.Series) -> str:
    """How many schools show signs of non-objective results, and which."""
    fired = school_signals[school_signals["signals_fired"].fillna(0) > 0]
    if fired.empty:
        return ("Проверки объективности (соответствие отметок ВПР и журнала, распределения баллов) не дали "
                "признаков с учётом поправки на множественные сравнения.")
    listed = names_list(fired["school_id"].map(names).fillna(fired["school_id"]).tolist(), 4)
    return (f"Признаки возможной необъективности результатов ВПР отмечены у {_of_schools(len(fired))}: {listed}; это "
            "повод проверить организацию и проверку работ, а не вывод о нарушениях.")


def support_sentence(flags: pd.DataFrame, school_signals: pd.DataFrame) -> str | None:
    """What support the data call for."""
    shnor = int(flags["flagged"].astype(bool).sum())
    shnsu = int(flags["shnsu"].astype(bool).sum())
    checks = int((school_signals["signals_fired"].fillna(0) > 0).sum()) if len(school_signals) else 0
    parts = []
    if shnor:
        parts.append(f"адресная программа поддержки для {_of_schools(shnor)} с признаками ШНОР (анализ рисков, "
                     "партнёрство со школой-лидером, дорожная карта)")
    if shnsu:
        parts.append(f"меры компенсации социальных условий для {_of_schools(shnsu)} ШНСУ")
    if checks:
        where = "школе" if checks % 10 == 1 and checks % 100 != 11 else "школах"
        parts.append(f"контроль объективности проведения и проверки ВПР в {checks} {where}")
    if not parts:
        return None
    return "Данные указывают на потребность в следующем: " + "; ".join(parts) + "."


def dynamics_sentence(summary: pd.DataFrame, base: int, year: int) -> str | None:
    """Seed 004's indicator «доля ШНОР, показавших положительную динамику» as a clause: schools of the year
    before's list whose result rose beyond its interval (the other definitions are in the gap section)."""
    s = summary.set_index("definition")
    if not len(s) or not s["listed"].iloc[0] or s.loc["beyond_interval", "judged"] == 0:
        return None
    r = s.loc["beyond_interval"]
    excluded = int(r["excluded"])
    tail = f", ещё {excluded} не оценивались из-за признаков необъективности" if excluded else ""
    return (f"положительную динамику (рост результата больше погрешности) показали {int(r['positive'])} из "
            f"{int(r['judged'])} школ списка {base} года{tail}; другие определения и возврат к среднему — в разделе "
            "о разрывах")


def _dynamics_sentence(ctx, methodology: str) -> str | None:
    from workbench import gaps
    from workbench.config import load_defaults
    from workbench.reports.deliverables import methodology_of

    if ctx.year - 1 not in ctx.store.status().years("vpr"):
        return None
    own, _, params = methodology_of(ctx.municipality)
    dyn = ctx.results.dynamics(ctx.year, methodology, params if methodology == own else None)
    dyn = dyn[dyn["municipality"] == ctx.municipality]
    level = load_defaults().uncertainty.level.value
    summary = gaps.dynamics_summary(dyn, ctx.year - 1, ctx.year, gaps.DynamicsRule.of(gaps.load_gap_params(), level),
                                    level)
    return dynamics_sentence(summary, ctx.year - 1, ctx.year)


def _gap_sentence(ctx, flags: pd.DataFrame) -> str | None:
    from workbench import gaps

    subjects = gaps.load_gap_params().subjects.value
    listed = frozenset(flags.loc[flags["flagged"].astype(bool), "school_id"])
    mine = ctx.results.municipality_gaps(ctx.year, ctx.municipality, listed, subjects=subjects)
    return gap_sentence(mine, ctx.results.gaps(ctx.year), subjects, ctx.year)


def main_findings(ctx, methodology: str, figures: dict) -> list[str]:
    """The findings of one municipality from the region-wide results the run computed once (read from the cache)
    and its key figures (``overview.key_figures``) as the overview section shows them."""
    from workbench import objectivity
    from workbench.reports.identification import methodology_titles

    st, m, year = ctx.store, ctx.municipality, ctx.year
    region_flags = ctx.region_cached("identification_flags", year=year)
    flags = region_flags[(region_flags.methodology == methodology) & (region_flags.municipality == m)]
    previous = None
    if year - 1 in st.status().years("vpr"):
        prev = ctx.region_cached("identification_flags", year=year - 1)
        previous = prev[(prev.methodology == methodology) & (prev.municipality == m)]
    sig = ctx.region_cached("objectivity_signals", year=year)
    school_sig = objectivity.school_signals(sig[sig.municipality == m])
    names = st.query("SELECT school_id, name FROM schools WHERE municipality = ?", [m]).set_index("school_id")["name"]
    out = [results_sentence(figures)]
    out += identification_sentences(flags, previous, methodology_titles().get(methodology, methodology))
    dyn = _dynamics_sentence(ctx, methodology)
    change = next((i for i, x in enumerate(out) if x and x.startswith("По сравнению с предыдущим годом")), None)
    if dyn and change is not None:       # one sentence about how the list moved, not two
        out[change] = out[change].rstrip(".") + "; " + dyn + "."
    elif dyn:
        out.append(dyn[0].upper() + dyn[1:] + ".")
    out.append(_gap_sentence(ctx, flags))
    out.append(objectivity_sentence(school_sig, names))
    out.append(support_sentence(flags, school_sig))
    if ctx.data_warning:
        out.append("Данные неполны: " + ctx.data_warning.split("**")[-1].strip())
    return [s for s in out if s]
