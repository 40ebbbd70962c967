"""Leader-school partners for the listed schools (seed 004 «сетевые пары», DOMAIN §9).

A leader must be eligible (:func:`eligible_leaders`): not listed (ШНОР, ШНСУ, risk group), no objectivity
signals, results above the region in at least ``min_years_above`` of the last ``stable_years`` years and never
significantly below, enough participants, and not of a type with a selected intake (гимназия, лицей, УИОП).

Similarity is a standardised, weighted context distance (:func:`context_distance`)::

    d(i, j) = √( Σ_f w_f · Δ_f² / Σ_f w_f ),

Δ_social the difference of the region-standardised ИСБШ, Δ_size of the region-standardised log enrolment,
Δ_settlement and Δ_type 0 or 1. A pair is admissible when d ≤ ``max_distance`` and the road via the
municipal centre (the sum of both schools' distances to it: the registry holds no coordinates, and rural roads
run through the centre) is ≤ ``max_travel_km``.

The assignment (:func:`assign`) is one optimal solution for the whole municipality (or region), never a greedy
«first free leader»: ``scipy.optimize.linear_sum_assignment`` on a cost matrix whose columns are every leader
repeated ``capacity`` times plus one «no partner» column per school at the finite ``no_partner_cost``;
inadmissible pairs cost more than «no partner», so they are never chosen (an infinite cost would make the
problem infeasible). The cost is the distance plus a vanishing tie-break by leader id, so ties resolve the same
way every run. Each pair has its explanation and the two next admissible leaders; a school left without a
partner gets the reason.

Example
-------
>>> s = pd.DataFrame({"school_id": ["t1", "L1", "L2"], "municipality": "001", "name": ["Т1", "Л1", "Л2"],
...                   "school_type": "СОШ", "settlement": "село", "distance_km": [10.0, 20.0, 5.0],
...                   "social_z": [-1.0, -0.8, 1.5], "size_z": [0.0, 0.1, 0.0]})
>>> pairs, alone = match(s, ["t1"], ["L1", "L2"], load_partner_params())
>>> pairs[["school_id", "leader_id"]].values.tolist(), round(float(pairs.distance.iat[0]), 3), len(alone)
([['t1', 'L1']], 0.141, 0)
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from scipy.optimize import linear_sum_assignment

from workbench import formatting as fmt
from workbench import vocab
from workbench.config import Tagged, _Strict, load_yaml_model, override  # noqa: F401 (re-exported)

SchoolType = Literal[tuple(vocab.SCHOOL_TYPES)]  # type: ignore[valid-type]
FEATURES = ("social", "size", "settlement", "type")


class PartnerParams(_Strict):
    """``params/partners.yaml``: who may lead, how similar a pair must be, the capacity and the scope."""
    exclude_types: Tagged[list[SchoolType]]
    stable_years: Tagged[Annotated[int, Field(ge=1, le=10)]]
    min_years_above: Tagged[Annotated[int, Field(ge=1, le=10)]]
    min_participants: Tagged[Annotated[float, Field(ge=0)]]
    weights: Tagged[dict[Literal[FEATURES], Annotated[float, Field(ge=0)]]]  # type: ignore[valid-type]
    max_distance: Tagged[Annotated[float, Field(gt=0)]]
    max_travel_km: Tagged[Annotated[float, Field(gt=0)] | None]
    capacity: Tagged[Annotated[int, Field(ge=1, le=20)]]
    scope: Tagged[Literal["municipality", "region"]]
    no_partner_cost: Tagged[Annotated[float, Field(gt=0)]]
    by_value_added: Tagged[bool]


def load_partner_params(path: str | Path = "partners.yaml") -> PartnerParams:
    """The partner parameters; a bad file raises ``ParamsError`` naming the key and what is allowed.

    >>> load_partner_params().capacity.value
    2
    """
    return load_yaml_model(PartnerParams, path)


# ---------------------------------------------------------------- eligibility

def eligible_leaders(schools: pd.DataFrame, trend: pd.DataFrame, listed, signalled, year: int,
                     params: PartnerParams, value_added=frozenset()) -> pd.DataFrame:
    """Every school with ``eligible`` and ``reason`` (why not, in Russian), ``years_above`` of ``years_seen``,
    ``mean_result`` (п.п. relative to the region) and ``participants`` over the last ``stable_years`` years.

    ``trend`` is ``results.school_trend`` (school_id, year, n, estimate, ci_low, ci_high); ``listed`` the ids of
    ШНОР/ШНСУ/risk-group schools; ``signalled`` the ids with objectivity signals; ``value_added`` the ids with a
    value added above zero beyond its interval (typology): with ``by_value_added`` on, they qualify by it
    instead of by raw results («стабильно высокие результаты *или* добавленная ценность»), since a school doing
    well with a poor intake is the partner a ШНСУ can learn from even when its raw results are near the region's.

    >>> from workbench.config import override
    >>> s = pd.DataFrame({"school_id": ["a", "b"], "municipality": "001", "school_type": "СОШ"})
    >>> t = pd.DataFrame({"school_id": ["a", "b"] * 3, "year": [2024, 2024, 2025, 2025, 2026, 2026], "n": 40.0,
    ...                   "estimate": [3.0, -1.0] * 3, "ci_low": [1.0, -3.0] * 3, "ci_high": [5.0, 1.0] * 3})
    >>> eligible_leaders(s, t, [], [], 2026, load_partner_params(), value_added={"b"})["eligible"].tolist()
    [True, True]
    """
    window = trend[(trend["year"] > year - params.stable_years.value) & (trend["year"] <= year)]
    g = window.groupby("school_id").agg(years_seen=("year", "nunique"),
                                        years_above=("estimate", lambda e: int((e > 0).sum())),
                                        years_below=("ci_high", lambda h: int((h < 0).sum())),
                                        mean_result=("estimate", "mean"), participants=("n", "mean"))
    out = schools[["school_id", "municipality", "school_type"]].merge(g, left_on="school_id", right_index=True,
                                                                      how="left")
    listed, signalled = set(listed), set(signalled)
    need = params.min_years_above.value
    reasons = []
    for r in out.itertuples(index=False):
        why = []
        if r.school_id in listed:
            why.append("сама в списке ШНОР/ШНСУ/группы риска")
        if r.school_id in signalled:
            why.append("есть признаки необъективности результатов")
        if r.school_type in params.exclude_types.value:
            why.append(f"{r.school_type}: отобранный контингент")
        if pd.isna(r.years_seen):
            why.append("нет результатов ВПР за последние годы")
        elif params.by_value_added.value and r.school_id in value_added:
            if r.participants < params.min_participants.value:
                why.append(f"мало участников ВПР ({fmt.integer(r.participants)} в год, нужно "
                           f"{fmt.integer(params.min_participants.value)})")
        else:
            if r.years_above < need:
                why.append(f"выше региона {int(r.years_above)} из {int(r.years_seen)} лет (нужно не меньше {need})")
            if r.years_below > 0:
                why.append("в одном из лет значимо ниже региона")
            if r.participants < params.min_participants.value:
                why.append(f"мало участников ВПР ({fmt.integer(r.participants)} в год, нужно "
                           f"{fmt.integer(params.min_participants.value)})")
        reasons.append("; ".join(why))
    out["reason"] = reasons
    out["eligible"] = out["reason"] == ""
    out["by_value_added"] = out["eligible"] & out["school_id"].isin(set(value_added)) & params.by_value_added.value \
        & (out["years_above"].fillna(0) < need)
    return out


# ---------------------------------------------------------------- similarity

def context_features(schools: pd.DataFrame, social: pd.Series) -> pd.DataFrame:
    """``schools`` with ``social_z`` (the ИСБШ standardised across the region) and ``size_z`` (log enrolment,
    standardised across the region)."""
    s = schools.copy()
    x = pd.to_numeric(social, errors="coerce").astype(float)
    s["social_z"] = ((x - x.mean()) / x.std(ddof=0)).to_numpy()
    size = np.log1p(pd.to_numeric(s["enrolment"], errors="coerce").astype(float))
    s["size_z"] = ((size - size.mean()) / size.std(ddof=0)).to_numpy()
    return s


def context_distance(a: pd.DataFrame, b: pd.DataFrame, weights: dict[str, float]) -> np.ndarray:
    """The matrix of weighted context distances between the rows of ``a`` and ``b`` (columns ``social_z``,
    ``size_z``, ``settlement``, ``school_type``); a feature missing for either school is left out of that pair's
    sum (weights re-normalised), NaN when nothing is left.

    >>> a = pd.DataFrame({"social_z": [0.0], "size_z": [0.0], "settlement": ["село"], "school_type": ["СОШ"]})
    >>> b = pd.DataFrame({"social_z": [1.0], "size_z": [0.0], "settlement": ["город"], "school_type": ["СОШ"]})
    >>> round(float(context_distance(a, b, {"social": 2, "size": 1, "settlement": 1, "type": 0.5})[0, 0]), 4)
    0.8165
    """
    def diff(col, categorical=False):
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if categorical:
            d = (x[:, None] != y[None, :]).astype(float)
            d[pd.isna(x)[:, None] | pd.isna(y)[None, :]] = np.nan
            return d
        return x.astype(float)[:, None] - y.astype(float)[None, :]

    parts = {"social": diff("social_z"), "size": diff("size_z"), "settlement": diff("settlement", True),
             "type": diff("school_type", True)}
    num = np.zeros((len(a), len(b)))
    den = np.zeros((len(a), len(b)))
    for f, d in parts.items():
        w = float(weights.get(f, 0.0))
        if w == 0:
            continue
        ok = ~np.isnan(d)
        num += np.where(ok, w * np.nan_to_num(d) ** 2, 0.0)
        den += np.where(ok, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(num / den)


def candidate_pairs(schools: pd.DataFrame, targets, leaders, params: PartnerParams) -> pd.DataFrame:
    """Every target × leader pair in scope with ``distance``, ``travel_km`` (via the municipal centre; NaN when
    a distance is unknown), ``admissible`` and ``why_not``."""
    s = schools.set_index("school_id", drop=False)
    t, lead = s.loc[list(targets)], s.loc[list(leaders)]
    dist = context_distance(t, lead, params.weights.value)
    km_t = pd.to_numeric(t["distance_km"], errors="coerce").astype(float).to_numpy()
    km_l = pd.to_numeric(lead["distance_km"], errors="coerce").astype(float).to_numpy()
    travel = km_t[:, None] + km_l[None, :]
    out = pd.DataFrame({"school_id": np.repeat(t["school_id"].to_numpy(), len(lead)),
                        "leader_id": np.tile(lead["school_id"].to_numpy(), len(t)),
                        "municipality": np.repeat(t["municipality"].to_numpy(), len(lead)),
                        "leader_municipality": np.tile(lead["municipality"].to_numpy(), len(t)),
                        "distance": dist.ravel(), "travel_km": travel.ravel()})
    if params.scope.value == "municipality":
        out = out[out["municipality"] == out["leader_municipality"]]
    out = out[out["school_id"] != out["leader_id"]].reset_index(drop=True)
    maxd, maxkm = params.max_distance.value, params.max_travel_km.value
    far_context = ~(out["distance"] <= maxd + 1e-12)
    far_road = (out["travel_km"] > maxkm) if maxkm is not None else pd.Series(False, index=out.index)
    why = np.where(out["distance"].isna(), "контекст не сравнить: нет данных",
                   np.where(far_context, [f"контекст отличается на {fmt.number(d, 2)} (допустимо ≤ {fmt.number(maxd, 2)})"
                                          for d in out["distance"]], ""))
    road = [f"около {fmt.integer(k)} км через центр (допустимо ≤ {fmt.integer(maxkm)})" if f else ""
            for k, f in zip(out["travel_km"], far_road)]
    out["why_not"] = ["; ".join(x for x in (a, b) if x) for a, b in zip(why, road)]
    out["admissible"] = out["why_not"] == ""
    return out


# ---------------------------------------------------------------- the assignment

def assign(pairs: pd.DataFrame, targets, leaders, params: PartnerParams,
           municipality_of: dict | None = None) -> pd.DataFrame:
    """The optimal assignment of ``targets`` to ``leaders`` under the capacity: one row per target with
    ``leader_id`` (None when without a partner) and ``distance``. Solved once per municipality (scope
    municipality, ``municipality_of`` maps a target to its municipality) or for the whole region."""
    targets, leaders = list(targets), sorted(leaders)
    k, none_cost = params.capacity.value, params.no_partner_cost.value
    bad = none_cost * 10 + 1.0      # finite: any «no partner» column is cheaper, so it is never chosen
    tie = {lid: i * 1e-9 for i, lid in enumerate(leaders)}
    adm = pairs[pairs["admissible"]]
    cost_of = {(r.school_id, r.leader_id): r.distance + tie[r.leader_id] for r in adm.itertuples(index=False)}
    groups: dict[str, list[str]] = {}
    for t in targets:
        key = "" if params.scope.value == "region" or municipality_of is None else str(municipality_of.get(t, ""))
        groups.setdefault(key, []).append(t)
    rows = []
    for _, group in sorted(groups.items()):
        mine = sorted({lid for (sid, lid) in cost_of if sid in set(group)})
        slots = [lid for lid in mine for _ in range(k)]
        cost = np.full((len(group), len(slots) + len(group)), bad)
        for i, sid in enumerate(group):
            for j, lid in enumerate(slots):
                cost[i, j] = cost_of.get((sid, lid), bad)
            cost[i, len(slots):] = none_cost
        r, c = linear_sum_assignment(cost)
        for i, j in zip(r, c):
            lid = slots[j] if j < len(slots) else None
            rows.append({"school_id": group[i], "leader_id": lid,
                         "distance": cost_of[(group[i], lid)] - tie[lid] if lid else np.nan})
    return pd.DataFrame(rows, columns=["school_id", "leader_id", "distance"])


def _name(s: pd.DataFrame, sid: str) -> str:
    return str(s.at[sid, "name"]) if "name" in s.columns and pd.notna(s.at[sid, "name"]) else sid


def _explain(s: pd.DataFrame, sid: str, lid: str, pair, results: pd.DataFrame | None) -> str:
    t, lead = s.loc[sid], s.loc[lid]
    parts = [f"контекст похож (расстояние {fmt.number(pair.distance, 2)}): ИСБШ {fmt.number(t.social_z, 2, signed=True)} "
             f"и {fmt.number(lead.social_z, 2, signed=True)} (z по региону)"]
    if "enrolment" in s.columns:
        parts.append(f"{fmt.integer(t.enrolment)} и {fmt.integer(lead.enrolment)} обучающихся")
    parts.append(f"{t.settlement} и {lead.settlement}, {t.school_type} и {lead.school_type}")
    if results is not None and lid in results.index:
        r = results.loc[lid]
        if bool(r.get("by_value_added", False)):
            parts.append(f"школа-лидер по добавленной ценности: результаты выше ожидаемых при её контексте "
                         f"(к региону в среднем {fmt.pp(r.mean_result)})")
        else:
            parts.append(f"результаты школы-лидера выше региона {int(r.years_above)} из {int(r.years_seen)} лет "
                         f"(в среднем {fmt.pp(r.mean_result)})")
    if pd.notna(pair.travel_km):
        parts.append(f"около {fmt.integer(pair.travel_km)} км через муниципальный центр")
    return "; ".join(parts)


def match(schools: pd.DataFrame, targets, leaders, params: PartnerParams,
          leader_results: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pairs, without partner): the optimal pairs with ``explain`` and ``alternatives`` (the two next admissible
    leaders by distance, «занята» when at capacity), and the targets left without a partner with ``reason``.

    ``schools`` needs ``school_id, municipality, school_type, settlement, distance_km, social_z, size_z`` (see
    :func:`context_features`) and optionally ``name``, ``enrolment``; ``leader_results`` is the frame of
    :func:`eligible_leaders` (for the results in the explanation).
    """
    s = schools.set_index("school_id", drop=False)
    targets = [t for t in targets if t in s.index]
    leaders = [lid for lid in leaders if lid in s.index and lid not in set(targets)]
    res = leader_results.set_index("school_id") if leader_results is not None else None
    cols = ["municipality", "school_id", "name", "leader_id", "leader_name", "distance", "travel_km", "explain",
            "alternatives"]
    if not targets:
        return pd.DataFrame(columns=cols), pd.DataFrame(columns=["municipality", "school_id", "name", "reason"])
    pairs = candidate_pairs(s.reset_index(drop=True), targets, leaders, params) if leaders else pd.DataFrame(
        columns=["school_id", "leader_id", "municipality", "distance", "travel_km", "admissible", "why_not"])
    chosen = assign(pairs, targets, leaders, params, s["municipality"].to_dict()) if leaders else pd.DataFrame(
        {"school_id": targets, "leader_id": None, "distance": np.nan})
    load = chosen["leader_id"].value_counts().to_dict()
    k = params.capacity.value
    by_pair = pairs.set_index(["school_id", "leader_id"]) if len(pairs) else None
    out, alone = [], []
    for r in chosen.itertuples(index=False):
        mine = pairs[pairs["school_id"] == r.school_id] if len(pairs) else pairs
        if isinstance(r.leader_id, str):
            pair = by_pair.loc[(r.school_id, r.leader_id)]
            alt = mine[mine["admissible"] & (mine["leader_id"] != r.leader_id)].sort_values(["distance", "leader_id"]).head(2)
            alts = "; ".join(f"{_name(s, a.leader_id)} (расстояние {fmt.number(a.distance, 2)}"
                             + (", занята" if load.get(a.leader_id, 0) >= k else "") + ")" for a in alt.itertuples())
            out.append({"municipality": s.at[r.school_id, "municipality"], "school_id": r.school_id,
                        "name": _name(s, r.school_id), "leader_id": r.leader_id, "leader_name": _name(s, r.leader_id),
                        "distance": float(r.distance), "travel_km": pair.travel_km,
                        "explain": _explain(s, r.school_id, r.leader_id, pair, res), "alternatives": alts or "нет"})
            continue
        if mine.empty:
            reason = "нет школ, отвечающих условиям школы-лидера" + (" в муниципалитете" if params.scope.value == "municipality" else "")
        elif mine["admissible"].any():
            reason = (f"все подходящие школы-лидеры уже сопровождают по {k} "
                      f"{fmt.plural(k, 'школе', 'школы', 'школ')} (ёмкость): "
                      + ", ".join(_name(s, x) for x in mine[mine["admissible"]].sort_values("distance")["leader_id"].head(3)))
        else:
            near = mine.sort_values(["distance", "leader_id"]).iloc[0]
            reason = f"нет допустимой школы-лидера; ближайшая по контексту — {_name(s, near.leader_id)}: {near.why_not}"
        alone.append({"municipality": s.at[r.school_id, "municipality"], "school_id": r.school_id,
                      "name": _name(s, r.school_id), "reason": reason})
    pairs_out = pd.DataFrame(out, columns=cols).sort_values(["municipality", "school_id"]).reset_index(drop=True)
    return pairs_out, pd.DataFrame(alone, columns=["municipality", "school_id", "name", "reason"])
