"""The support plan of one municipality (DOMAIN §8–9), put together from the region's results: the listed
schools and their risk profiles, leader-school partners, the draft roadmap, the monitoring indicators per cycle
and the list's history, and the progress of the roadmap in the store at a report date.

Everything region-wide (risk profiles, identifications of every year, dynamics, typology, objectivity signals)
comes from :class:`workbench.results.RegionResults`, computed once per run; what is done here per municipality
(one assignment, one draft, a few counts) takes well under a second.

Example
-------
>>> sp = support_plan(RegionResults.shared(Store("data/store")), 2026, "004", "lesosibirsk")   # doctest: +SKIP
>>> sp.roadmap.groupby("direction").size()                                                     # doctest: +SKIP
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from workbench import monitoring, partners, risks, roadmap

TARGET_GROUPS = ("ШНОР", "ШНСУ", "ШНОР и ШНСУ")


@dataclass
class SupportPlan:
    municipality: str
    year: int
    on: pd.Timestamp
    targets: pd.DataFrame            # school_id, name, listed_as
    profiles: pd.DataFrame           # risks.risk_profiles rows of the municipality's schools
    to_address: pd.DataFrame         # risks.factors_to_address of the targets
    pairs: pd.DataFrame              # partners.match
    alone: pd.DataFrame
    draft: pd.DataFrame              # roadmap.draft_roadmap for the cycle after ``year``
    measures: pd.DataFrame           # the roadmap in the store (all cycles), with ``state`` at ``on``
    progress: pd.DataFrame           # monitoring.roadmap_progress of ``measures``
    indicators: pd.DataFrame         # year × indicator with change and direction
    history: pd.DataFrame            # monitoring.list_history
    notes: list[str] = field(default_factory=list)


def targets_of(flags: pd.DataFrame) -> pd.DataFrame:
    """The schools a plan is made for — ШНОР, ШНСУ or both under the methodology (``flags`` of
    ``identify``): ``school_id, name, listed_as``. The risk zone is watched, not planned for.

    >>> f = pd.DataFrame({"school_id": ["a", "b", "c"], "name": ["A", "B", "C"], "group": ["ШНОР", "зона риска", "ШНСУ"]})
    >>> targets_of(f)["school_id"].tolist()
    ['a', 'c']
    """
    t = flags[flags["group"].isin(TARGET_GROUPS)]
    return t[["school_id", "name"]].assign(listed_as=t["group"].to_numpy()).reset_index(drop=True)


def _listed(flags: pd.DataFrame) -> set[str]:
    return set(flags.loc[flags["flagged"] | flags["risk_zone"] | flags["shnsu"], "school_id"])


def match_partners(res, year: int, municipality: str, targets: pd.DataFrame, region_flags: pd.DataFrame,
                   params: partners.PartnerParams | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leader-school partners for the municipality's ``targets`` (:func:`partners.match`), leaders from the
    municipality (scope municipality) or the region, eligible by :func:`partners.eligible_leaders` with the
    region's listed schools (``region_flags``) and objectivity signals excluded and value added from the typology."""
    from workbench import objectivity

    params = params or partners.load_partner_params()
    schools = res.indices(year)
    feat = partners.context_features(schools, schools["social_index_region"])
    typ = res.typology(year)
    va = set(typ.loc[typ["va_low"] > 0, "school_id"]) if "va_low" in typ else set()
    lead = partners.eligible_leaders(feat, res.trend(year), _listed(region_flags),
                                     objectivity.inflated_schools(res.signals(year)), year, params, value_added=va)
    if params.scope.value == "municipality":
        lead = lead[lead["municipality"] == municipality]
        feat = feat[feat["municipality"] == municipality]
    ids = lead.loc[lead["eligible"], "school_id"].tolist()
    return partners.match(feat, targets["school_id"].tolist(), ids, params, lead)


def support_plan(res, year: int, municipality: str, methodology: str, params=None, *, on=None,
                 plan_params: roadmap.PlanParams | None = None, catalogue: roadmap.Catalogue | None = None,
                 partner_params: partners.PartnerParams | None = None) -> SupportPlan:
    """The municipality's support plan for the identification of ``year`` under ``methodology`` (``params``:
    the municipality's overrides) at the report date ``on`` (default today)."""
    st = res.store
    pp = plan_params or roadmap.load_plan_params()
    cat = catalogue or roadmap.load_catalogue()
    on = pd.Timestamp(on or dt.date.today()).normalize()
    notes: list[str] = []
    region_flags = res.identification(year, methodology, params).flags
    flags = region_flags[region_flags["municipality"] == municipality]
    targets = targets_of(flags)
    prof = res.risk_profiles(year)
    prof = prof[prof["municipality"] == municipality].reset_index(drop=True)
    todo = risks.factors_to_address(prof[prof["school_id"].isin(targets["school_id"])])
    pairs, alone = match_partners(res, year, municipality, targets, region_flags, partner_params)
    draft = roadmap.draft_roadmap(municipality, year, targets, todo, pairs, alone, cat, pp)

    have = set(st.tables())

    def table(name: str) -> pd.DataFrame:
        return st.read(name, municipality) if name in have else pd.DataFrame()

    measures, courses, parts, deficits = table("measures"), table("courses"), table("partnerships"), table("deficits")
    if not len(measures):
        measures = pd.DataFrame(columns=["measure_id", "school_id", "direction", "status", "deadline", "indicator"])
    measures = measures.assign(state=roadmap.deadline_state(measures, on, pp.soon_days.value)) if len(measures) \
        else measures.assign(state=pd.Series(dtype=object))
    progress = monitoring.roadmap_progress(measures, on, pp.soon_days.value) if len(measures) else pd.DataFrame()
    if "indicator" not in measures:     # a store imported before the column existed
        measures["indicator"] = None
    empty = {"courses": ["school_id", "date", "kind"], "partnerships": ["school_id", "start", "end", "kind"],
             "deficits": ["school_id", "date", "teachers_tested", "teachers_with_deficits"]}
    courses = courses if len(courses) else pd.DataFrame(columns=empty["courses"])
    parts = parts if len(parts) else pd.DataFrame(columns=empty["partnerships"])
    deficits = deficits if len(deficits) else pd.DataFrame(columns=empty["deficits"])

    years = [y for y in st.status().years("vpr") if y <= year]
    listed_by_year = {}
    for y in years:
        f = res.identification(y, methodology, params).flags
        listed_by_year[y] = set(targets_of(f[f["municipality"] == municipality])["school_id"])
    listed = pd.DataFrame([(y, s) for y, ids in listed_by_year.items() for s in ids], columns=["year", "school_id"])
    history = monitoring.list_history(listed, years, pp.exit_years.value)
    staff = table("staff")
    rows = []
    for y in years:
        teachers = (staff[staff["year"] == y].set_index("school_id")["teachers"].astype(float)
                    if len(staff) else pd.Series(dtype=float))
        dyn = None
        if y + 1 in years or (y + 1 <= year and y + 1 in st.status().years("vpr")):
            d = res.dynamics(y + 1, methodology, params)
            dyn = d[d["municipality"] == municipality]
        t = monitoring.indicators(y, listed_by_year[y], teachers=teachers, deficits=deficits, courses=courses,
                                  partnerships=parts, measures=measures, dynamics=dyn, params=pp)
        rows.append(t.assign(year=y, cycle=monitoring.cycle_label(y, pp.cycle_start_month.value)))
    ind = monitoring.indicator_trend(pd.concat(rows, ignore_index=True)) if rows else pd.DataFrame()
    first, last = monitoring.cycle_window(year, pp.cycle_start_month.value)
    if on < last:
        notes.append(f"Цикл {monitoring.cycle_label(year, pp.cycle_start_month.value)} не завершён на "
                     f"{on:%d.%m.%Y}: показатели этого цикла — промежуточные.")
    return SupportPlan(municipality, year, on, targets, prof, todo, pairs, alone, draft, measures, progress, ind,
                       history, notes)
