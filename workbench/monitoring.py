"""Monitoring of the support plan (seed 004, DOMAIN §9): the eight indicators per cycle with their trend, the
list's entries, exits and re-entries under the exit rule, and the municipality's progress against its roadmap.

A cycle Y is the school year after the identification of Y: from the first day of ``cycle_start_month`` of Y
(September by default) to the day before it in Y+1. Events count in their cycle: courses and seminars
(``courses.date``), diagnostics of professional deficits (``deficits.date``), partnerships active at some day of
it, and roadmap measures marked «выполнено» with the deadline in it (their ``indicator``). The schools of a cycle
are those listed in Y.

Teacher-level data are not collected (DOMAIN §10: no teacher-level ratings), so the two indicators about teachers'
competences are school-level proxies, said so in their note: a school «shows positive dynamics of its teachers'
competences» when its share of teachers with deficits fell between its last diagnostics before the cycle and its
last in the cycle; «teachers with positive dynamics» is estimated as the drop of that share times the teachers
tested, pooled over the schools.

Example
-------
>>> listed = pd.DataFrame({"year": [2024, 2024, 2025], "school_id": ["a", "b", "a"]})
>>> history = list_history(listed, [2024, 2025, 2026], exit_years=1)
>>> history[history["school_id"] == "b"][["year", "state"]].values.tolist()
[[2024, 'включена'], [2025, 'вышла'], [2026, 'вне списка']]
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench import vocab
from workbench.roadmap import PlanParams, deadline_state

INDICATORS = tuple(vocab.MONITORING_INDICATORS)
UNITS = {"positive_results": "%", "positive_competences": "%", "deficit_diagnostics": "%", "deficit_dynamics": "%",
         "methodical_support": "школ", "network": "школ", "targeted_help": "школ", "seminars": "школ"}


def cycle_window(year: int, start_month: int = 9) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the cycle that follows the identification of ``year``.

    >>> [d.date().isoformat() for d in cycle_window(2025)]
    ['2025-09-01', '2026-08-31']
    """
    first = pd.Timestamp(year, start_month, 1)
    return first, first + pd.DateOffset(years=1) - pd.Timedelta(days=1)


def cycle_label(year: int, start_month: int = 9) -> str:
    """«2025/26» for a cycle starting in autumn, «2026» for one starting in January.

    >>> cycle_label(2025), cycle_label(2026, 1)
    ('2025/26', '2026')
    """
    return str(year) if start_month == 1 else f"{year}/{(year + 1) % 100:02d}"


# ---------------------------------------------------------------- the list over the years

def list_history(listed: pd.DataFrame, years: list[int], exit_years: int) -> pd.DataFrame:
    """Per school ever listed and year: ``listed`` and its ``state`` — «включена» (first time), «в списке»,
    «вне списка (наблюдение)» (out of the list for fewer than ``exit_years`` years: not yet exited),
    «вышла» (the year the streak out of the list reaches ``exit_years``), «вне списка» (after exiting),
    «включена повторно» (listed again after an exit); ``reentries`` counts re-entries so far.

    >>> listed = pd.DataFrame({"year": [2022, 2024, 2025], "school_id": ["a", "a", "a"]})
    >>> list_history(listed, [2022, 2023, 2024, 2025], exit_years=2)["state"].tolist()
    ['включена', 'вне списка (наблюдение)', 'в списке', 'в списке']
    """
    years = sorted(years)
    on = set(zip(listed["year"].astype(int), listed["school_id"]))
    rows = []
    for sid in sorted(set(listed["school_id"])):
        ever, exited, out_for, reentries = False, False, 0, 0
        for y in years:
            now = (y, sid) in on
            if now:
                state = "включена" if not ever else ("включена повторно" if exited else "в списке")
                reentries += exited
                ever, exited, out_for = True, False, 0
            elif not ever:
                continue
            else:
                out_for += 1
                if exited:
                    state = "вне списка"
                elif out_for >= exit_years:
                    state, exited = "вышла", True
                else:
                    state = "вне списка (наблюдение)"
            rows.append({"school_id": sid, "year": y, "listed": now, "state": state, "reentries": reentries})
    return pd.DataFrame(rows, columns=["school_id", "year", "listed", "state", "reentries"])


def list_summary(history: pd.DataFrame) -> pd.DataFrame:
    """Per year: schools listed, newly listed, listed again after an exit, exited.

    >>> h = list_history(pd.DataFrame({"year": [2024, 2024, 2026], "school_id": ["a", "b", "a"]}), [2024, 2025, 2026], 1)
    >>> list_summary(h).values.tolist()
    [[2024, 2, 2, 0, 0], [2025, 0, 0, 0, 2], [2026, 1, 0, 1, 0]]
    """
    h = history
    out = h.groupby("year").agg(listed=("listed", "sum"), new=("state", lambda s: int((s == "включена").sum())),
                                reentered=("state", lambda s: int((s == "включена повторно").sum())),
                                exited=("state", lambda s: int((s == "вышла").sum()))).reset_index()
    return out.astype({"listed": int})


# ---------------------------------------------------------------- the eight indicators

def _in(dates: pd.Series, window) -> pd.Series:
    d = pd.to_datetime(dates)
    return (d >= window[0]) & (d <= window[1])


def supported_schools(year: int, courses: pd.DataFrame, partnerships: pd.DataFrame, measures: pd.DataFrame,
                      params: PlanParams) -> dict[str, set[str]]:
    """The schools reached in the cycle of ``year`` by each count indicator (methodical_support, network,
    targeted_help, seminars), from the event tables and the roadmap measures done with that ``indicator``.

    >>> c = pd.DataFrame({"school_id": ["a", "b"], "date": pd.to_datetime(["2025-10-01", "2024-10-01"]),
    ...                   "kind": ["семинар", "консультация"]})
    >>> p = pd.DataFrame(columns=["school_id", "start", "end", "kind"])
    >>> m = pd.DataFrame(columns=["school_id", "status", "deadline", "indicator"])
    >>> from workbench.roadmap import load_plan_params
    >>> got = supported_schools(2025, c, p, m, load_plan_params())
    >>> sorted(got["seminars"]), sorted(got["targeted_help"])
    (['a'], [])
    """
    window = cycle_window(year, params.cycle_start_month.value)
    kinds = params.course_kinds.value
    c = courses[_in(courses["date"], window)]
    out = {code: set(c.loc[c["kind"].isin(kinds[code]), "school_id"]) for code in kinds}
    p = partnerships[partnerships["kind"].isin(params.partnership_kinds.value)]
    start, end = pd.to_datetime(p["start"]), pd.to_datetime(p["end"])
    out["network"] = set(p.loc[(start <= window[1]) & (end.isna() | (end >= window[0])), "school_id"])
    done = measures[(measures["status"] == "выполнено") & _in(measures["deadline"], window)
                    & measures["school_id"].notna()] if len(measures) else measures
    for code in ("methodical_support", "network", "targeted_help", "seminars"):
        out[code] |= set(done.loc[done["indicator"] == code, "school_id"]) if len(done) else set()
    return out


def deficit_change(deficits: pd.DataFrame, year: int, start_month: int = 9) -> pd.DataFrame:
    """Per school diagnosed in the cycle of ``year``: teachers tested and with deficits at its last diagnostics in
    the cycle (subjects of that date pooled) and at its last one before the cycle, if any.

    >>> d = pd.DataFrame({"school_id": ["a", "a"], "date": pd.to_datetime(["2024-11-01", "2025-11-01"]),
    ...                   "teachers_tested": [10, 10], "teachers_with_deficits": [6, 3]})
    >>> r = deficit_change(d, 2025).iloc[0]
    >>> int(r.tested), int(r.with_deficits), float(r.prev_share), float(r.share)
    (10, 3, 0.6, 0.3)
    """
    window = cycle_window(year, start_month)
    d = deficits.assign(date=pd.to_datetime(deficits["date"]))
    by = d.groupby(["school_id", "date"], as_index=False)[["teachers_tested", "teachers_with_deficits"]].sum()
    by = by[by["teachers_tested"] > 0]
    now = by[_in(by["date"], window)].sort_values("date").groupby("school_id").tail(1)
    before = by[by["date"] < window[0]].sort_values("date").groupby("school_id").tail(1)
    out = now.rename(columns={"teachers_tested": "tested", "teachers_with_deficits": "with_deficits"})
    out = out.merge(before.rename(columns={"teachers_tested": "prev_tested", "teachers_with_deficits": "prev_with",
                                           "date": "prev_date"}), on="school_id", how="left")
    out["share"] = out["with_deficits"] / out["tested"]
    out["prev_share"] = out["prev_with"] / out["prev_tested"]
    return out.reset_index(drop=True)


def indicators(year: int, schools: set[str], *, teachers: pd.Series, deficits: pd.DataFrame, courses: pd.DataFrame,
               partnerships: pd.DataFrame, measures: pd.DataFrame, dynamics: pd.DataFrame | None,
               params: PlanParams) -> pd.DataFrame:
    """The eight indicators of seed 004 for the cycle of ``year`` over ``schools`` (listed in ``year``):
    ``indicator, title, value, unit, numerator, denominator, note``. ``teachers``: teachers per school (staff of
    the year); ``dynamics``: :func:`workbench.gaps.school_dynamics` of the schools listed in ``year`` to
    ``year`` + 1 (None before the next year's results exist: the indicator is NaN with the reason).

    >>> e = pd.DataFrame(columns=["school_id", "date", "kind", "teachers_tested", "teachers_with_deficits"])
    >>> p = pd.DataFrame(columns=["school_id", "start", "end", "kind"])
    >>> m = pd.DataFrame(columns=["school_id", "status", "deadline", "indicator"])
    >>> from workbench.roadmap import load_plan_params
    >>> t = indicators(2025, {"a"}, teachers=pd.Series({"a": 20}), deficits=e, courses=e, partnerships=p,
    ...                measures=m, dynamics=None, params=load_plan_params())
    >>> t.set_index("indicator").loc["network", ["value", "denominator"]].astype(float).tolist()
    [0.0, 1.0]
    """
    n = len(schools)
    rows: dict[str, dict] = {}

    def put(code, value, num, den, note=""):
        rows[code] = {"indicator": code, "title": vocab.MONITORING_INDICATORS[code], "value": value,
                      "unit": UNITS[code], "numerator": num, "denominator": den, "note": note}

    definition = params.positive_definition.value
    if dynamics is None or not len(dynamics):
        put("positive_results", np.nan, np.nan, np.nan, f"нет результатов ВПР {year + 1} года")
    else:
        d = dynamics[dynamics["school_id"].isin(schools)]
        v = d[definition]
        k, m = int(v.fillna(False).sum()), int(v.notna().sum())
        put("positive_results", 100 * k / m if m else np.nan, k, m,
            f"изменение к {year + 1} году; определение «{definition}» (params/plan.yaml); не оценены: {len(d) - m}")
    ch = deficit_change(deficits[deficits["school_id"].isin(schools)], year, params.cycle_start_month.value)
    staff = teachers.reindex(sorted(schools))
    tested = ch.set_index("school_id")["tested"].reindex(staff.index)
    capped = np.minimum(tested.fillna(0), staff)   # tested counts are per subject: never above the staff
    den = float(staff.sum(skipna=True))
    put("deficit_diagnostics", 100 * float(capped.sum(skipna=True)) / den if den else np.nan,
        int(capped.sum(skipna=True)), int(den), "учителей школ списка, прошедших диагностику в цикле, от всех "
        "учителей этих школ (кадры года)" + (f"; нет численности учителей: {int(staff.isna().sum())} школ"
                                             if staff.isna().any() else ""))
    both = ch[ch["prev_share"].notna()]
    fell = int((both["share"] < both["prev_share"]).sum())
    put("positive_competences", 100 * fell / len(both) if len(both) else np.nan, fell, len(both),
        "оценка по школам (данных по учителям нет): доля учителей с дефицитами снизилась между диагностиками")
    gain = (np.maximum(both["prev_share"] - both["share"], 0) * both["tested"]).sum()
    put("deficit_dynamics", 100 * float(gain) / float(both["tested"].sum()) if len(both) else np.nan,
        round(float(gain)), int(both["tested"].sum()) if len(both) else 0,
        "оценка по школам (данных по учителям нет): снижение доли учителей с дефицитами × прошедшие диагностику")
    reached = supported_schools(year, courses, partnerships, measures, params)
    for code in ("methodical_support", "network", "targeted_help", "seminars"):
        k = len(reached[code] & schools)
        put(code, float(k), k, n, f"из {n} школ списка")
    return pd.DataFrame([rows[c] for c in INDICATORS])


def indicator_trend(table: pd.DataFrame) -> pd.DataFrame:
    """The yearly indicators (``year`` + the columns of :func:`indicators`) with ``change`` from the cycle before
    and ``direction`` («рост» / «снижение» / «без изменений»; empty when either year lacks a value).

    >>> t = pd.DataFrame({"year": [2024, 2025], "indicator": ["network"] * 2, "value": [3.0, 5.0]})
    >>> indicator_trend(t)[["change", "direction"]].values.tolist()[1]
    [2.0, 'рост']
    """
    t = table.sort_values(["indicator", "year"]).copy()
    t["change"] = t.groupby("indicator")["value"].diff()
    t["direction"] = np.select([t["change"] > 0, t["change"] < 0, t["change"] == 0], ["рост", "снижение", "без изменений"], "")
    return t.reset_index(drop=True)


# ---------------------------------------------------------------- progress against the roadmap

def roadmap_progress(measures: pd.DataFrame, on, soon_days: int = 30) -> pd.DataFrame:
    """Per direction and in total («Всего»): items, done, in progress, overdue, deadline soon, cancelled, and the
    share done among the items due by ``on`` (deadline passed, not cancelled).

    >>> m = pd.DataFrame({"direction": ["кадровое"] * 3, "status": ["выполнено", "запланировано", "отменено"],
    ...                   "deadline": pd.to_datetime(["2026-05-31", "2026-06-30", "2026-06-30"])})
    >>> roadmap_progress(m, "2026-12-04").iloc[-1][["items", "done", "overdue", "done_share"]].astype(float).tolist()
    [3.0, 1.0, 1.0, 0.5]
    """
    m = measures.assign(state=deadline_state(measures, on, soon_days),
                        due=pd.to_datetime(measures["deadline"]) < pd.Timestamp(on).normalize())

    def one(g: pd.DataFrame) -> dict:
        due = g[g["due"] & (g["status"] != "отменено")]
        return {"items": len(g), "done": int((g["status"] == "выполнено").sum()),
                "in_progress": int((g["state"] == "выполняется").sum()), "overdue": int((g["state"] == "просрочено").sum()),
                "soon": int((g["state"] == "срок подходит").sum()), "cancelled": int((g["status"] == "отменено").sum()),
                "done_share": float((due["status"] == "выполнено").mean()) if len(due) else np.nan}
    order = [d for d in vocab.ROADMAP_DIRECTIONS if d in set(m["direction"])]
    rows = [{"direction": d, **one(m[m["direction"] == d])} for d in order]
    rows.append({"direction": "Всего", **one(m)})
    return pd.DataFrame(rows)
