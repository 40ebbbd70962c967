"""Identification of ШНОР and ШНСУ under named methodologies (DOMAIN §4), with uncertainty (§4.6).

There is no federal formula, so every methodology of ``params/methodologies.yaml`` is a rule function
here. All of them work on one ``Evidence`` (school results relative to the region, exams, outcomes,
context indices) and return the same two tables:

- ``criteria``: one row per school × criterion: value, threshold, margin, the years it held, the
  empirical-Bayes interval and the probability of being beyond the threshold, and whether it fired;
- ``flags``: one row per school: flagged as ШНОР or not, «зона риска», ШНСУ, and a one-sentence Russian
  explanation a director would understand, with the interval of the headline figure.

Results are put on a common footing before any rule sees them: a ВПР result is the school's mean
percent of the maximum score minus the region's pupils' mean in the same subject, grade and year
(«п.п. к региону»); an exam result is the school's mean score minus the region's mean. Every result
carries a standard error from the region's pooled within-school spread (a small school's own spread is
itself noise), so flags can be decided on intervals or probabilities (``params/defaults.yaml``,
``uncertainty``) instead of point estimates.

Example
-------
>>> from workbench.data.store import Store                                   # doctest: +SKIP
>>> ev = load_evidence(Store("data/store"), year=2026)                  # doctest: +SKIP
>>> res = run_methodology(ev, "kamensk_uralsky")                        # doctest: +SKIP
>>> res.flags.query("municipality == '005' and flagged")[["name", "explanation"]]   # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from workbench import uncertainty as U
from workbench.config import (BelowRegionalMeanRule, BottomPercentileRule, ContextAdjustedRule, LesosibirskRule,
                              RiskGroupRule, StableLowRule, Tagged, Typology, Uncertainty, load_defaults,
                              load_presets)
from workbench.context import bottom_share_flags
from workbench.formatting import plural
from workbench.vocab import SUBJECTS

ASSESSMENT_GRADES = {"ОГЭ": 9, "ЕГЭ": 11}
LEVELS = {"НОО": [("ВПР", 4)], "ООО": [("ВПР", 5), ("ВПР", 6), ("ВПР", 7), ("ВПР", 8), ("ОГЭ", 9)],
          "СОО": [("ВПР", 10), ("ВПР", 11), ("ЕГЭ", 11)]}
LEVEL_TITLES = {"НОО": "начальное общее (4 класс)", "ООО": "основное общее (5–9 классы)",
                "СОО": "среднее общее (10–11 классы)"}
CRITERIA_COLUMNS = ["school_id", "municipality", "methodology", "criterion", "title", "unit", "value", "threshold",
                    "margin", "n", "ci_low", "ci_high", "probability", "years_held", "years_assessed", "fired", "note"]
HEAD_COLUMNS = ["school_id", "headline", "value", "unit", "n", "ci_low", "ci_high", "probability"]
FLAG_COLUMNS = ["school_id", "municipality", "name", "methodology", "flagged", "risk_zone", "shnsu", "group",
                "criteria_fired", "criteria_required", "headline", "value", "unit", "n", "ci_low", "ci_high", "probability",
                "explanation"]
# added by run_methodology: the decision the preset applies and both views beside each other
RUN_FLAG_COLUMNS = FLAG_COLUMNS[:8] + ["decision", "flagged_rule", "flagged_uncertainty", "group_uncertainty"] \
    + FLAG_COLUMNS[8:]


# ---------------------------------------------------------------- evidence

@dataclass(frozen=True)
class Evidence:
    """Everything the rules read, for one target year, over the whole region.

    ``results``: one row per assessment (ВПР/ОГЭ/ЕГЭ) × subject × grade × year × school with ``n``
    participants, ``dsum`` (sum over pupils of the difference from the region mean), ``vsum`` (sum of the
    within-school variances, so se = sqrt(vsum)/n), ``sdw`` (the region's pooled within-school SD of that
    cell) and, for ВПР, counts of marks ``n2``..``n5``. ``context`` has one row per school with the indices
    of ``workbench.context`` (``social_index`` etc., municipal reference) and ``social_index_region``.
    ``excluded`` are schools with signals of inflated ВПР results (``objectivity.inflated_schools``), which rules
    may exclude; None when no objectivity checks were passed (the rule then says the exclusion was not applied).
    """
    year: int
    results: pd.DataFrame
    schools: pd.DataFrame
    outcomes: pd.DataFrame
    context: pd.DataFrame
    excluded: frozenset | None = None

    def window(self, years: int) -> list[int]:
        return list(range(self.year - years + 1, self.year + 1))


VPR_CELLS_SQL = """
    WITH w AS (
        SELECT v.year, v.municipality, v.school_id, v.subject, v.grade, v.mark,
               100.0 * v.primary_score / s.max_score AS pct
        FROM vpr v JOIN mark_scales s USING (year, subject, grade)
        WHERE NOT v.absent AND v.primary_score IS NOT NULL AND v.year BETWEEN ? AND ?)
    SELECT year, municipality, school_id, subject, grade, count(*) AS n, sum(pct) AS s1, sum(pct * pct) AS s2,
           count(*) FILTER (WHERE mark = 2) AS n2, count(*) FILTER (WHERE mark = 3) AS n3,
           count(*) FILTER (WHERE mark = 4) AS n4, count(*) FILTER (WHERE mark = 5) AS n5
    FROM w GROUP BY ALL ORDER BY ALL"""


def vpr_cells(store, year: int, years: int = 5) -> pd.DataFrame:
    """Sums of ВПР percent scores and mark counts per school × subject × grade × year (region-wide)."""
    return store.query(VPR_CELLS_SQL, [year - years + 1, year])


def vpr_cells_from_pupils(pupils: pd.DataFrame) -> pd.DataFrame:
    """The same cells from pupil rows (``year, municipality, school_id, subject, grade, pct, mark``): the
    pandas twin of ``vpr_cells`` used by hand-built tests.

    >>> p = pd.DataFrame({"year": 2026, "municipality": "001", "school_id": "a", "subject": "rus", "grade": 4,
    ...                   "pct": [40.0, 60.0], "mark": [3, 4]})
    >>> vpr_cells_from_pupils(p)[["n", "s1", "s2", "n3", "n4"]].values.tolist()
    [[2.0, 100.0, 5200.0, 1.0, 1.0]]
    """
    p = pupils.assign(pct2=pupils["pct"] ** 2, **{f"n{m}": (pupils["mark"] == m).astype(int) for m in (2, 3, 4, 5)})
    keys = ["year", "municipality", "school_id", "subject", "grade"]
    out = p.groupby(keys, as_index=False).agg(n=("pct", "size"), s1=("pct", "sum"), s2=("pct2", "sum"),
                                              n2=("n2", "sum"), n3=("n3", "sum"), n4=("n4", "sum"), n5=("n5", "sum"))
    return out.sort_values(keys).reset_index(drop=True)


def vpr_results(cells: pd.DataFrame) -> pd.DataFrame:
    """ВПР cells relative to the region: ``dsum`` = sum of (pupil percent − region mean of the subject,
    grade and year); ``sdw`` = the region's pooled within-school SD; ``vsum`` = n · sdw²."""
    c = cells.copy()
    g = c.groupby(["year", "subject", "grade"])
    region_mean = g["s1"].transform("sum") / g["n"].transform("sum")
    within_ss = (c["s2"] - c["s1"] ** 2 / c["n"]).clip(lower=0)
    dof = (c["n"] - 1).clip(lower=0)
    sdw = np.sqrt(within_ss.groupby([c["year"], c["subject"], c["grade"]]).transform("sum")
                  / dof.groupby([c["year"], c["subject"], c["grade"]]).transform("sum"))
    c["assessment"] = "ВПР"
    c["region_mean"] = region_mean
    c["mean"] = c["s1"] / c["n"]
    c["dsum"] = c["s1"] - c["n"] * region_mean
    c["sdw"] = sdw
    c["vsum"] = c["n"] * sdw ** 2
    return c.drop(columns=["s1", "s2"])


EXAM_PUPIL_CELLS_SQL = """
    SELECT year, exam, subject, school_id, count(score) AS n, sum(score) AS s1, sum(score * score) AS s2
    FROM (SELECT year, exam, subject, school_id,
                 CASE WHEN exam = 'ЕГЭ' THEN test_score ELSE primary_score END AS score
          FROM exam_results WHERE year BETWEEN ? AND ?)
    WHERE score IS NOT NULL GROUP BY ALL"""


def exam_within_variance(pupil_cells: pd.DataFrame) -> pd.DataFrame:
    """Pooled within-school variance of pupils' exam scores per exam × subject × year, from pupil-level protocols
    aggregated per school (``year, exam, subject, school_id, n, s1, s2``; ЕГЭ in test points, ОГЭ in primary
    points, as the exam summaries report their means): Σ (s2 − s1²/n) / Σ (n − 1).

    >>> c = pd.DataFrame({"year": 2026, "exam": "ОГЭ", "subject": "math", "school_id": ["a", "b"], "n": [2, 2],
    ...                   "s1": [10.0, 20.0], "s2": [52.0, 208.0]})   # a: 4, 6; b: 8, 12 → (2 + 8) / 2
    >>> exam_within_variance(c)["sigma2"].tolist()
    [5.0]
    """
    cols = ["year", "exam", "subject", "sigma2"]
    if pupil_cells is None or pupil_cells.empty:
        return pd.DataFrame(columns=cols)
    c = pupil_cells[pupil_cells["n"] >= 2]
    c = c.assign(ss=(c["s2"] - c["s1"] ** 2 / c["n"]).clip(lower=0), dof=c["n"] - 1)
    g = c.groupby(["year", "exam", "subject"], as_index=False)[["ss", "dof"]].sum()
    return g.assign(sigma2=g["ss"] / g["dof"].where(g["dof"] > 0))[cols]


def exam_results(exams: pd.DataFrame, within: pd.DataFrame | None = None) -> pd.DataFrame:
    """ОГЭ/ЕГЭ school results relative to the region mean of the exam, subject and year.

    Exams come as school aggregates, so the pupils' within-school variance σ² is taken, in order, from
    pupil-level protocols (``within``: ``exam_within_variance``) — «протоколы»; else by the method of moments
    from the school means: across schools E[(mean − region mean)²] = τ² + σ²/n, σ² the slope of the squared
    deviations on 1/n — «по средним школ»; when that slope is not positive, the spread of means × the median
    size, which never makes a small school look precise — «разброс средних». ``sdw_source`` says which. From
    means alone σ² is weakly identified (within 2× of the truth in about 40 % of simulated regions; a bounded
    REML fit was tried and is no better), so protocols are used wherever the store has them.
    """
    e = exams[exams["subject"].isin(list(SUBJECTS)) & (exams["participants"] > 0)].dropna(subset=["mean_score"])
    known = {} if within is None or within.empty else \
        {(int(r.year), r.exam, r.subject): float(r.sigma2) for r in within.itertuples() if np.isfinite(r.sigma2)}
    parts = []
    for (exam, subject, year), d in e.groupby(["exam", "subject", "year"]):
        n, x = d["participants"].astype(float), d["mean_score"].astype(float)
        mu = float(np.sum(n * x) / np.sum(n))
        sigma2, source = known.get((int(year), exam, subject), np.nan), "протоколы"
        if not np.isfinite(sigma2) and len(d) >= 5 and n.nunique() > 1:
            slope = np.polyfit(1 / n, (x - mu) ** 2, 1)[0]
            sigma2, source = (slope if slope > 0 else np.nan), "по средним школ"
        if not np.isfinite(sigma2):
            sigma2 = float(np.var(x)) * float(np.median(n)) if len(d) > 1 else np.nan
            source = "разброс средних"
        parts.append(pd.DataFrame({
            "year": year, "municipality": d["municipality"], "school_id": d["school_id"], "subject": subject,
            "grade": ASSESSMENT_GRADES.get(exam, 0), "assessment": exam, "n": d["participants"].astype(int),
            "region_mean": mu, "mean": x, "dsum": n * (x - mu), "sdw": np.sqrt(sigma2), "vsum": n * sigma2,
            "sdw_source": source}))
    cols = ["year", "municipality", "school_id", "subject", "grade", "assessment", "n", "region_mean", "mean",
            "dsum", "sdw", "vsum", "sdw_source"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def pool(results: pd.DataFrame, by: list[str], *, units: str = "raw", same_pupils: int = 1) -> pd.DataFrame:
    """Pool result cells into one estimate per group: ``estimate`` = Σdsum/Σn (difference from the region),
    ``se`` = sqrt(same_pupils · Σvsum)/Σn, ``n``.

    ``units="sd"`` first divides each cell by its within-school SD (effect-size units, comparable across
    ВПР, ОГЭ and ЕГЭ; a cell whose SD is 0 or unknown is left out). ``same_pupils`` = how many pooled subjects
    the same pupils wrote: their results are correlated, so the se is inflated as if each pupil counted once
    (conservative).

    >>> r = pd.DataFrame({"school_id": ["a", "a"], "n": [10, 30], "dsum": [-50.0, -30.0], "vsum": [1000.0, 3000.0],
    ...                   "sdw": [10.0, 10.0]})
    >>> pool(r, ["school_id"])[["n", "estimate", "se"]].round(6).values.tolist()
    [[40.0, -2.0, 1.581139]]
    """
    r = results
    if units == "sd":
        # a work without spread (every pupil the same score) has no SD units: its pupils are left out
        ok = r["sdw"].gt(0)
        r = r.assign(n=r["n"].where(ok, 0), dsum=(r["dsum"] / r["sdw"]).where(ok, 0.0),
                     vsum=(r["vsum"] / r["sdw"] ** 2).where(ok, 0.0))
    agg = r.groupby(by, as_index=False, observed=True).agg(n=("n", "sum"), dsum=("dsum", "sum"), vsum=("vsum", "sum"))
    agg["n"] = agg["n"].astype(float)
    agg["estimate"] = agg["dsum"] / agg["n"]
    agg["se"] = np.sqrt(same_pupils * agg["vsum"]) / agg["n"]
    agg["n"] = agg["n"] / same_pupils
    return agg.drop(columns=["dsum", "vsum"])


def load_evidence(store, year: int, *, cells: pd.DataFrame | None = None, indices: pd.DataFrame | None = None,
                  excluded: frozenset | None = None) -> Evidence:
    """Read everything the rules need from the store (``cells``/``indices`` may come from the run's cache)."""
    cells = vpr_cells(store, year) if cells is None else cells
    tables = set(store.tables())
    exams = store.query("SELECT * FROM exams WHERE year BETWEEN ? AND ?", [year - 4, year]) if "exams" in tables \
        else pd.DataFrame(columns=["year", "municipality", "school_id", "exam", "subject", "participants", "mean_score"])
    within = exam_within_variance(store.query(EXAM_PUPIL_CELLS_SQL, [year - 4, year])) \
        if "exam_results" in tables else None
    results = pd.concat([vpr_results(cells), exam_results(exams, within)], ignore_index=True)
    schools = store.query("SELECT school_id, municipality, name, school_type, settlement, enrolment, small_class "
                          "FROM schools ORDER BY school_id")
    outcomes = store.query("SELECT * FROM outcomes WHERE year BETWEEN ? AND ?", [year - 4, year]) \
        if "outcomes" in tables else pd.DataFrame(columns=["year", "school_id"])
    if indices is None:
        indices = region_indices(store, year)
    keep = ["school_id"] + [c for c in indices.columns if c.endswith(("_index", "_note", "_missing"))] \
        + ["social_index_region"]
    return Evidence(year, results, schools, outcomes, indices[list(dict.fromkeys(keep))],
                    None if excluded is None else frozenset(excluded))


# ---------------------------------------------------------------- judging an estimate against a threshold

def judge(est: pd.DataFrame, unc: Uncertainty, *, share: float | None = None, threshold: float | None = None,
          groups: pd.Series | None = None, low_is_bad: bool = True, min_n: int | None = None,
          inclusive: bool = False, unit: pd.Series | None = None, stratum: pd.Series | None = None) -> pd.DataFrame:
    """Decide, for each row of ``est`` (columns ``estimate``, ``se``, ``n``), whether it is beyond a threshold.

    Either ``share`` (the bottom share of the reference group: the threshold is that quantile of the
    schools' TRUE values under the fitted normal prior, or of the raw estimates for the "point" decision)
    or an absolute ``threshold``. Estimates are shrunk (empirical Bayes) toward the reference group's mean;
    ``groups`` splits the reference set (e.g. by municipality). Rows with n < min_n are not assessed.
    ``inclusive``: for the "point" decision an estimate exactly at an absolute threshold counts («не менее»).
    Returns ``eb``, ``ci_low``, ``ci_high``, ``threshold``, ``probability``, ``fired``, ``assessed``; the
    interval is that of the observed value for the "point" decision and the shrunk one otherwise.

    ``unit`` (with a ``year`` column in ``est``): the rows are the years of a window, and a unit (a school, or
    a school's work) keeps part of its result from year to year. Unless the decision is "point", one model is
    fitted per ``stratum`` (default: all rows) instead of one shrinkage per cell (``judge_window``), so a unit's
    other years inform each year, and the between-school variances come from the whole stratum (the region),
    not from a municipal group of eight schools; ``held_probable`` is then how many of the unit's years are
    probably beyond the threshold.

    >>> from workbench.config import load_defaults
    >>> e = pd.DataFrame({"estimate": [-30.0, -30.0, 0.0], "se": [2.0, 40.0, 2.0], "n": [100, 3, 100]})
    >>> judge(e, load_defaults().uncertainty, threshold=-20.0)["fired"].tolist()   # 3 pupils: not sure enough
    [True, False, False]
    """
    sign = 1.0 if low_is_bad else -1.0
    min_n = unc.min_participants.value if min_n is None else min_n
    assessed = est["n"].ge(min_n) & est["estimate"].notna() & est["se"].notna()
    if unit is not None and "year" in est and unc.decision.value != "point":
        # the model weighs each year by its se, so the gate is on the pupils behind the whole window: a small
        # school far below is judged on all its years instead of being «Нет данных» in each
        usable = est["n"].gt(0) & est["estimate"].notna() & est["se"].notna()
        window_n = est["n"].where(usable, 0).groupby(unit.reindex(est.index)).transform("sum")
        return judge_window(est, unc, usable & window_n.ge(min_n), share=share, threshold=threshold, groups=groups,
                            sign=sign, unit=unit, stratum=stratum)
    out = pd.DataFrame(index=est.index, columns=["eb", "eb_se", "ci_low", "ci_high", "threshold", "probability"],
                       dtype=float)
    grp = pd.Series("all", index=est.index) if groups is None else groups.reindex(est.index)
    prior = None
    if unc.decision.value != "point" and unc.prior.value == "npmle" and int(assessed.sum()) >= unc.prior_min_units.value:
        # one prior of true values for the whole call (the region), each group keeping its own mean
        a_idx = assessed[assessed].index
        y_all, s_all = sign * est.loc[a_idx, "estimate"], est.loc[a_idx, "se"]
        mu_all = _group_means(y_all, s_all, grp[a_idx])
        prior = U.npmle_prior(y_all - mu_all, s_all, size=200, iters=200)
        spread = _group_spread(y_all - mu_all, s_all, grp[a_idx], unc.group_spread_pool.value) if share is not None \
            else pd.Series(1.0, index=a_idx)
    for _, idx in grp[assessed].groupby(grp[assessed]).groups.items():
        y, s = sign * est.loc[idx, "estimate"], est.loc[idx, "se"]
        if prior is not None:
            mu = float(mu_all.loc[idx].iloc[0])
            # the bottom share of THIS group: the region's shape at the group's own width (a municipality with
            # wide differences got far more than its quarter at the region's width, a narrow one almost none)
            c = float(spread.loc[idx].iloc[0])
            grid, weights = prior[0] * c, prior[1]
            thr = (mu + U.prior_quantile(grid, U.group_distribution(y - mu, s, grid, weights), share)
                   if share is not None else sign * threshold)
            post = U.npmle_posterior(y - mu, s, grid, weights, thr - mu, unc.level.value)
            eb = pd.DataFrame({"eb_estimate": mu + post["eb"], "eb_se": post["eb_se"], "ci_low": mu + post["ci_low"],
                               "ci_high": mu + post["ci_high"], "probability": post["probability"]})
        else:
            eb = U.shrink(y, s, level=unc.level.value)
            if share is None:
                thr = sign * threshold
            elif unc.decision.value == "point":
                # the largest value with at most k schools at or below it: a tie is taken whole or not at all,
                # so the share is never exceeded and equal schools are never all «in the bottom share»
                k = int(np.floor(share * len(y) + 1e-9))
                at_or_below = y.rank(method="max")
                inside = y[at_or_below <= k]
                thr = float(inside.max()) if len(inside) else -np.inf
            else:
                thr = eb.attrs["mu"] + np.sqrt(eb.attrs["tau2"]) * stats.norm.ppf(share)
        if unc.decision.value == "point":
            # the rule judges the observed figure, so the interval shown beside it is that figure's own
            z = U._z(unc.level.value)
            lo, hi = y - z * s, y + z * s
        else:
            lo, hi = eb["ci_low"], eb["ci_high"]
        _put_estimates(out, idx, sign, eb["eb_estimate"], eb["eb_se"], lo, hi, thr)
        out.loc[idx, "probability"] = (eb["probability"] if prior is not None else
                                       U.prob_below(eb["eb_estimate"], eb["eb_se"], thr)).to_numpy()
        if unc.decision.value == "point":
            fired = (y <= thr) if share is not None or inclusive else (y < thr)
        else:
            fired = U.decide(True, eb["eb_estimate"], eb["ci_low"], eb["ci_high"], thr, unc.decision.value,
                             probability=out.loc[idx, "probability"], min_probability=unc.min_probability.value)
        out.loc[idx, "fired"] = np.asarray(fired, dtype=bool)
        if unc.decision.value == "probability":
            # could this school be flagged at all? its probability had it the lowest result of the group
            y_ext = pd.Series(float(y.min()), index=idx)
            if prior is not None:
                p_ext = U.npmle_posterior(y_ext - mu, s, grid, weights, thr - mu)["probability"]
            else:
                e_ext = U.shrink(y_ext, s, mu=eb.attrs["mu"], tau2=eb.attrs["tau2"])
                p_ext = U.prob_below(e_ext["eb_estimate"], e_ext["eb_se"], thr)
            out.loc[idx, "can_fire"] = (p_ext >= unc.min_probability.value).to_numpy()
    out["fired"] = out.get("fired", pd.Series(False, index=est.index)).fillna(False).astype(bool)
    out["assessed"] = assessed
    return out


def _group_spread(resid: pd.Series, se: pd.Series, groups: pd.Series, pool: int) -> pd.Series:
    """Per row, its group's SD of true values relative to the whole call's, √(τ²_group / τ²_all): τ² by moments
    (mean of resid² − se²); the log ratio of a group of n schools is pulled toward 0 by n / (n + ``pool``) (a
    municipality of eight schools says little about its spread) and the ratio kept within ¼…4.

    >>> r = pd.Series([-2.0, 2.0, -1.0, 1.0]); g = pd.Series(["a", "a", "b", "b"])
    >>> _group_spread(r, pd.Series(0.0, index=r.index), g, 0).round(3).tolist()   # τ² 4 and 1 against 2.5
    [1.265, 1.265, 0.632, 0.632]
    """
    excess = resid**2 - se**2
    total = float(excess.mean())
    if not total > 0:
        return pd.Series(1.0, index=resid.index)
    by = excess.groupby(groups)
    n, own = by.transform("size"), by.transform("mean")
    ratio = (own / total).clip(lower=1 / 16, upper=16)
    return np.exp(0.5 * np.log(ratio) * n / (n + pool))


def _put_estimates(out: pd.DataFrame, idx, sign: float, eb, eb_se, lo, hi, thr) -> None:
    """Write a group's estimates back on the original scale (``sign`` −1: «the more, the worse» was flipped)."""
    out.loc[idx, "eb"] = sign * eb
    out.loc[idx, "eb_se"] = eb_se
    out.loc[idx, "ci_low"] = np.where(sign > 0, lo, -hi)
    out.loc[idx, "ci_high"] = np.where(sign > 0, hi, -lo)
    out.loc[idx, "threshold"] = sign * thr


def _group_means(y: pd.Series, se: pd.Series, groups: pd.Series) -> pd.Series:
    """Each row's reference-group mean μ of the random-effects model (``uncertainty.between_variance``)."""
    mu = pd.Series(np.nan, index=y.index)
    for _, gi in groups.groupby(groups).groups.items():
        mu.loc[gi] = U.between_variance(y.loc[gi], se.loc[gi])[0]
    return mu


def judge_window(est: pd.DataFrame, unc: Uncertainty, assessed: pd.Series, *, share: float | None,
                 threshold: float | None, groups: pd.Series | None, sign: float, unit: pd.Series,
                 stratum: pd.Series | None) -> pd.DataFrame:
    """``judge`` with one model per window (``uncertainty.window_posterior``): y = μ_group,year + u_unit +
    v_unit,year + e. μ is each reference group's (year's) precision-weighted mean; σ_u², σ_v² are fitted on the
    whole stratum. The bottom-share threshold is the quantile of the group's true values: μ + √(spread of the
    group's true values over the whole window) · Φ⁻¹(share)."""
    out = pd.DataFrame(index=est.index, columns=["eb", "eb_se", "ci_low", "ci_high", "threshold", "probability",
                                                 "held_probable"], dtype=float)
    out["fired"] = False
    grp0 = (pd.Series("all", index=est.index) if groups is None else groups.reindex(est.index)).astype(str)
    grp = grp0 + "|" + est["year"].astype(str)          # μ is each year's own
    strat = (pd.Series("all", index=est.index) if stratum is None else stratum.reindex(est.index)).astype(str)
    z = U._z(unc.level.value)
    required = unc.min_probability.value if unc.decision.value == "probability" else None
    a = assessed.to_numpy()
    for _, idx in strat[a].groupby(strat[a]).groups.items():
        y, s = sign * est.loc[idx, "estimate"], est.loc[idx, "se"]
        mu = _group_means(y, s, grp.loc[idx])
        su2, sv2 = U.window_variances(y - mu, s, unit.loc[idx])
        if share is not None:
            # the bottom share of THIS group's schools: the spread of its true values over all the window's
            # years (eight schools × three years, not eight); the region's spread made 45 % of a municipality
            # with wide differences «the bottom 25 %»
            r2 = ((y - mu) ** 2 - s**2).groupby(grp0.loc[idx]).transform("mean").clip(lower=0)
            thr = mu + np.sqrt(r2) * stats.norm.ppf(share)
        else:
            thr = pd.Series(sign * threshold, index=idx)
        post = U.window_posterior(y - mu, s, unit.loc[idx], thr - mu, su2, sv2, required=required)
        eb = mu + post["eb"]
        lo, hi = eb - z * post["eb_se"], eb + z * post["eb_se"]
        _put_estimates(out, idx, sign, eb, post["eb_se"], lo, hi, thr)
        out.loc[idx, "probability"] = post["probability"]
        out.loc[idx, "held_probable"] = post["held_probable"]
        if required is not None:
            # could this unit be flagged at all? its probability had it the stratum's lowest result every year
            ext = U.window_posterior(pd.Series(float((y - mu).min()), index=idx), s, unit.loc[idx], thr - mu, su2, sv2)
            out.loc[idx, "can_fire"] = (ext["probability"] >= required).to_numpy()
        out.loc[idx, "fired"] = U.decide(True, eb, lo, hi, thr, unc.decision.value, probability=post["probability"],
                                         min_probability=unc.min_probability.value).to_numpy()
    out["fired"] = out["fired"].astype(bool)
    out["assessed"] = assessed
    return out


def share_estimate(successes: pd.Series, n: pd.Series, reference: float | pd.Series | None = None) -> pd.DataFrame:
    """A share as an estimate with a binomial se taken at the reference share (not the school's own share,
    which is 0 for a small school with no cases and would look infinitely precise)."""
    n = n.astype(float)
    p = successes / n.where(n > 0)
    ref = (successes.sum() / n.sum() if n.sum() > 0 else 0.5) if reference is None else reference
    ref = np.clip(ref, 0.02, 0.98)
    return pd.DataFrame({"estimate": p, "se": np.sqrt(ref * (1 - ref) / n.where(n > 0)), "n": n})


# ---------------------------------------------------------------- words

def _pp(x: float, unit: str = "п.п.") -> str:
    return f"{x:+.1f}".replace(".", ",").replace("-", "−") + f" {unit}"


def _pct(x: float) -> str:
    """Share as Russian percent; small shares keep a decimal (0,5 %, not 0 %)."""
    return (f"{100 * x:.1f}".replace(".", ",") if 0 < abs(x) < 0.1 and round(100 * x) != 100 * x else f"{100 * x:.0f}") + " %"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _years(ys) -> str:
    return ", ".join(str(int(y)) for y in ys) if len(ys) else "ни в одном году"


def _subjects(codes) -> str:
    return ", ".join(SUBJECTS.get(c, c).lower() for c in codes)


def _interval(lo: float, hi: float, unit: str = "п.п.", level: float = 0.95, shrunk: bool = False) -> str:
    """«95 % интервал от … до …»; ``shrunk`` names an interval of the true value after shrinkage, which is not
    the interval of the observed figure beside it."""
    if pd.isna(lo) or pd.isna(hi):
        return ""
    kind = " с учётом сжатия к среднему" if shrunk else ""
    return f"{_pct(level)} интервал{kind} от {_pp(lo, unit)} до {_pp(hi, unit)}".replace("+", "")


# ---------------------------------------------------------------- result of a methodology

@dataclass
class Identification:
    """The outcome of one methodology: per-criterion evidence and per-school flags (region-wide)."""
    methodology: str
    title: str
    criteria: pd.DataFrame
    flags: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def for_municipality(self, code: str) -> "Identification":
        return Identification(self.methodology, self.title,
                              self.criteria[self.criteria["municipality"] == code].reset_index(drop=True),
                              self.flags[self.flags["municipality"] == code].reset_index(drop=True), self.notes)


def _criteria_rows(ev: Evidence, methodology: str, criterion: str, title: str, unit: str, frame: pd.DataFrame,
                   verdict: pd.DataFrame, years_held: pd.Series | None = None, years_assessed: pd.Series | None = None,
                   note: str | pd.Series = "") -> pd.DataFrame:
    """Criteria rows from an estimate frame (school_id, estimate, n) and its ``judge`` verdict."""
    out = pd.DataFrame({
        "school_id": frame["school_id"].to_numpy(), "methodology": methodology, "criterion": criterion, "title": title,
        "unit": unit, "value": frame["estimate"].to_numpy(), "threshold": verdict["threshold"].to_numpy(),
        "n": frame["n"].to_numpy(), "ci_low": verdict["ci_low"].to_numpy(), "ci_high": verdict["ci_high"].to_numpy(),
        "probability": verdict["probability"].to_numpy(), "fired": verdict["fired"].to_numpy(),
        "years_held": "" if years_held is None else years_held.to_numpy(),
        "years_assessed": "" if years_assessed is None else years_assessed.to_numpy(),
        "note": note if isinstance(note, str) else np.asarray(note)})
    out["margin"] = out["value"] - out["threshold"]
    out["municipality"] = out["school_id"].map(ev.schools.set_index("school_id")["municipality"])
    return out[CRITERIA_COLUMNS]


def _key(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    """One string key per row from ``cols`` (column-wise: a row-wise join took seconds on 60 000 rows)."""
    key = df[cols[0]].astype(str)
    for c in cols[1:]:
        key = key + "|" + df[c].astype(str)
    return key


def _by_year(ev: Evidence, results: pd.DataFrame, years: list[int], unc: Uncertainty, *, share=None, threshold=None,
             reference: str = "region", same_pupils: int = 1, units: str = "raw", low_is_bad: bool = True,
             min_n: int | None = None, extra_keys: list[str] | None = None) -> pd.DataFrame:
    """Pool results per school × year (× extra keys) and judge each year; one row per judged cell."""
    keys = ["school_id", "year"] + (extra_keys or [])
    est = pool(results[results["year"].isin(years)], keys, units=units, same_pupils=same_pupils)
    if est.empty:
        return est.assign(eb=[], ci_low=[], ci_high=[], threshold=[], probability=[], fired=[], assessed=[])
    est["municipality"] = est["school_id"].map(ev.schools.set_index("school_id")["municipality"])
    group_keys = ["year"] + (extra_keys or []) + (["municipality"] if reference == "municipality" else [])
    groups = _key(est, group_keys)
    unit_keys = ["school_id"] + (extra_keys or [])
    unit = _key(est, unit_keys)
    stratum = _key(est, extra_keys) if extra_keys else None
    verdict = judge(est, unc, share=share, threshold=threshold, groups=groups, low_is_bad=low_is_bad, min_n=min_n,
                    unit=unit, stratum=stratum)
    return pd.concat([est, verdict], axis=1)


def _summarise_years(judged: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per key: years held / assessed and the latest assessed year's figures (for display).

    Under the window model (``held_probable`` present) the years held are the largest k such that the unit is
    probably beyond the threshold in at least k years, and the years named are its k likeliest ones: evidence
    accumulates over the window although no single year may be sure.
    """
    a = judged[judged["assessed"].fillna(False).astype(bool)].sort_values(["year"] + keys, kind="mergesort")
    a = a.assign(fired=a["fired"].fillna(False).astype(bool))
    a = a.assign(hit=a["fired"])
    if "held_probable" in a and a["held_probable"].notna().any():
        rank = a.sort_values("probability", ascending=False, kind="mergesort").groupby(keys).cumcount()
        a = a.assign(hit=rank.reindex(a.index) < a["held_probable"].fillna(0))
    if a.empty:
        return pd.DataFrame(columns=keys + ["held", "assessed_years", "years_held", "years_assessed", "estimate", "n",
                                            "threshold", "ci_low", "ci_high", "probability", "fired_last"])
    g = a.groupby(keys)
    last = g.tail(1).set_index(keys)
    year = a["year"].astype(int).astype(str)
    out = pd.DataFrame({"held": g["hit"].sum(), "assessed_years": g.size(),
                        "years_assessed": year.groupby([a[k] for k in keys]).agg(", ".join)})
    held = year[a["hit"]].groupby([a.loc[a["hit"], k] for k in keys]).agg(", ".join)
    out["years_held"] = held.reindex(out.index).fillna(_years([]))
    shown = ["estimate", "n", "threshold", "ci_low", "ci_high", "probability", "fired"]
    out = out.join(last[shown + (["can_fire"] if "can_fire" in last else [])].rename(columns={"fired": "fired_last"}))
    return out.reset_index()


def _flags(ev: Evidence, methodology: str, flagged: pd.Series, fired: pd.Series, required: int | pd.Series,
           headline: pd.DataFrame, explanation: pd.Series, risk_zone: pd.Series | None = None,
           shnsu: pd.Series | None = None) -> pd.DataFrame:
    """Per-school flags of a methodology; every school of the registry gets a row."""
    s = ev.schools.set_index("school_id")
    idx = s.index
    f = pd.DataFrame(index=idx)
    f["municipality"] = s["municipality"]
    f["name"] = s["name"]
    f["methodology"] = methodology
    f["flagged"] = flagged.reindex(idx).fillna(False).astype(bool)
    f["risk_zone"] = (risk_zone.reindex(idx).fillna(False).astype(bool) if risk_zone is not None
                      else pd.Series(False, index=idx)) & ~f["flagged"]
    f["shnsu"] = shnsu.reindex(idx).fillna(False).astype(bool) if shnsu is not None else False
    f["group"] = np.select([f["flagged"] & f["shnsu"], f["flagged"], f["risk_zone"], f["shnsu"]],
                           ["ШНОР и ШНСУ", "ШНОР", "зона риска", "ШНСУ"], default="")
    f["criteria_fired"] = fired.reindex(idx).fillna(0).astype(int)
    f["criteria_required"] = (pd.Series(required, index=idx) if isinstance(required, int) else
                              required.reindex(idx)).astype("Int64")
    h = headline.set_index("school_id").reindex(idx) if len(headline) else pd.DataFrame(index=idx)
    for c in ("headline", "value", "unit", "n", "ci_low", "ci_high", "probability"):
        f[c] = h[c] if c in h else np.nan
    f["explanation"] = explanation.reindex(idx).fillna("Нет данных для оценки по этой методике.")
    return f.reset_index()[FLAG_COLUMNS]


def _vpr(ev: Evidence, subjects) -> pd.DataFrame:
    r = ev.results
    return r[(r["assessment"] == "ВПР") & r["subject"].isin(list(subjects))]


def _cannot_fire(value) -> bool:
    return value is not None and not pd.isna(value) and not bool(value)


def _evidence_sentence(row, unc: Uncertainty, unit: str = "п.п.", what: str = "") -> str:
    """«−12,3 п.п. к среднему по региону (95 % интервал …; вероятность …; n участников)»: the interval at the
    decision's level, named as shrunk unless the decision is the point rule."""
    shrunk = unc.decision.value != "point"
    parts = [_interval(row.ci_low, row.ci_high, unit, unc.level.value, shrunk),
             "" if pd.isna(row.probability) else f"вероятность {_pct(row.probability)}"]
    detail = ", ".join(x for x in parts if x)
    n = "" if pd.isna(row.n) else f"{int(round(row.n))} участников"
    inside = "; ".join(x for x in (detail, n) if x)
    # a criterion that cannot fire for lack of pupils says so, rather than reading as «not low»
    weak = (" — при таком числе участников критерий с учётом неопределённости сработать не может: даже самый "
            "низкий результат группы не дал бы нужной уверенности") if _cannot_fire(getattr(row, "can_fire", None)) else ""
    return f"{what}{_pp(row.estimate, unit)} к среднему по региону" + (f" ({inside})" if inside else "") + weak


# ---------------------------------------------------------------- the rules

def rule_bottom_percentile(ev: Evidence, p: BottomPercentileRule, unc: Uncertainty, name: str) -> Identification:
    """Bottom ``percentile`` of schools by ВПР (subjects pooled) in at least ``years_required`` of the last
    ``years`` years; schools with < ``min_participants`` are not assessed; objectivity-flagged schools excluded."""
    years, subj = ev.window(p.years.value), p.subjects.value
    judged = _by_year(ev, _vpr(ev, subj), years, unc, share=p.percentile.value, reference=p.reference.value,
                      same_pupils=len(subj), min_n=p.min_participants.value)
    s = _summarise_years(judged, ["school_id"])
    apply = p.exclude_objectivity_flags.value and ev.excluded is not None
    excluded = s["school_id"].isin(ev.excluded) if apply else pd.Series(False, index=s.index)
    flagged = (s["held"] >= p.years_required.value) & ~excluded
    crit = _criteria_rows(ev, name, "bottom_percentile", f"В нижних {_pct(p.percentile.value)} школ по ВПР ({_subjects(subj)})",
                          "п.п.", s, s.assign(fired=s["fired_last"]), s["years_held"], s["years_assessed"],
                          np.where(excluded, "исключена: признаки необъективности", ""))
    crit["fired"] = flagged.to_numpy()

    def explain(r, flag, excl):
        base = (f"ВПР ({_subjects(subj)}): в нижних {_pct(p.percentile.value)} школ в {int(r.held)} из "
                f"{int(r.assessed_years)} лет ({r.years_held}); в {r.years_assessed.split(', ')[-1]} году "
                f"{_evidence_sentence(r, unc)}")
        if excl:
            return "Не выделена: есть признаки необъективности результатов ВПР. " + base + "."
        if flag:
            return f"Выделена: устойчиво низкие результаты — {base}."
        return f"Не выделена (нужно не менее {p.years_required.value} лет): {base}."

    expl = pd.Series([explain(r, f, e) for r, f, e in zip(s.itertuples(), flagged, excluded)], index=s["school_id"])
    head = s.assign(headline="ВПР, п.п. к региону", value=s["estimate"], unit="п.п.")[HEAD_COLUMNS]
    flags = _flags(ev, name, pd.Series(flagged.to_numpy(), index=s["school_id"]),
                   pd.Series(s["held"].to_numpy(), index=s["school_id"]), p.years_required.value, head, expl)
    if not p.exclude_objectivity_flags.value:
        notes = []
    elif ev.excluded is None:
        notes = ["Исключение школ с признаками необъективности не применено: проверки объективности не переданы."]
    else:
        k = len(ev.excluded)
        left = int((excluded & (s["held"] >= p.years_required.value)).sum())
        notes = [f"Не оценивались как ШНОР {k} {plural(k, 'школа', 'школы', 'школ')} региона с признаками завышения "
                 f"результатов ВПР в {ev.year} году (сработал хотя бы один признак завышения; «понизили» — ВПР ниже "
                 f"журнала — и расхождение на 2 балла в любую сторону не учитываются); по результатам из них попали "
                 f"бы в список {left}."]
    return Identification(name, "", crit, flags, notes)


def _assessment_label(a: str, subject: str) -> str:
    return f"{a} — {SUBJECTS.get(subject, subject).lower()}"


def rule_below_regional_mean(ev: Evidence, p: BelowRegionalMeanRule, unc: Uncertainty, name: str) -> Identification:
    """Kamensk-Uralsky: per assessment (ВПР, ОГЭ, ЕГЭ) and subject, the school's mean below the regional mean
    in each of the last ``years`` years → ШНОР; in ``risk_zone_years`` of them → «зона риска»."""
    years, subj = ev.window(p.years.value), p.subjects.value
    r = ev.results[ev.results["subject"].isin(subj)]
    judged = _by_year(ev, r, years, unc, threshold=0.0, min_n=p.min_participants.value,
                      extra_keys=["assessment", "subject"])
    s = _summarise_years(judged, ["school_id", "assessment", "subject"])
    s["unit"] = np.where(s["assessment"] == "ВПР", "п.п.", "балла")
    s["full"] = (s["held"] >= p.years.value) & (s["assessed_years"] >= p.years.value)
    s["risk"] = s["held"] >= p.risk_zone_years.value
    crit = pd.concat([
        _criteria_rows(ev, name, f"below_mean_{a}_{sub}", f"Ниже среднего по региону: {_assessment_label(a, sub)}",
                       d["unit"].iloc[0], d, d.assign(fired=d["full"]), d["years_held"], d["years_assessed"])
        for (a, sub), d in s.groupby(["assessment", "subject"])], ignore_index=True) if len(s) else \
        pd.DataFrame(columns=CRITERIA_COLUMNS)
    per = s.groupby("school_id")
    flagged, risk = per["full"].any(), per["risk"].any()
    fired = per["full"].sum()
    sure = "" if unc.decision.value == "point" else "уверенно "

    def explain(sid, d):
        worst = d.sort_values(["full", "held", "estimate", "assessment", "subject"],
                              ascending=[False, False, True, True, True]).iloc[0]
        what = (f"{_assessment_label(worst.assessment, worst.subject)}: ниже среднего по региону в {int(worst.held)} "
                f"из {int(worst.assessed_years)} лет ({worst.years_held}); в последнем году ")
        ev_s = _evidence_sentence(worst, unc, worst.unit, what)
        if d["full"].any():
            k = int(d["full"].sum())
            return f"Выделена: {k} из {len(d)} результатов ниже среднего по региону каждый из {p.years.value} лет; {ev_s}."
        if d["risk"].any():
            return f"Зона риска: ниже среднего по региону {int(worst.held)} года из {p.years.value}; {ev_s}."
        return f"Не выделена: ни один результат не был {sure}ниже среднего по региону {p.risk_zone_years.value} года и более; {ev_s}."

    expl = pd.Series({sid: explain(sid, d) for sid, d in per})
    worst = s.sort_values(["full", "held", "estimate", "assessment", "subject"],
                   ascending=[False, False, True, True, True]).groupby("school_id").head(1)
    head = worst.assign(headline=worst["assessment"] + " " + worst["subject"].map(SUBJECTS).str.lower(),
                        value=worst["estimate"], unit=worst["unit"])[HEAD_COLUMNS]
    flags = _flags(ev, name, flagged, fired, 1, head, expl, risk_zone=risk)
    return Identification(name, "", crit, flags)


def rule_mark2_risk_group(ev: Evidence, p: RiskGroupRule, unc: Uncertainty, name: str) -> Identification:
    """Rosobrnadzor 2025: ≥ ``share_mark2_min`` of participants at «2» on ≥ ``assessments_min`` ВПР (subject ×
    grade) this year, and on the same assessment in ``consecutive_years`` consecutive years."""
    years = ev.window(p.consecutive_years.value)
    v = ev.results[(ev.results["assessment"] == "ВПР") & ev.results["year"].isin(years)].copy()
    v["region_share2"] = v.groupby(["year", "subject", "grade"])["n2"].transform("sum") / \
        v.groupby(["year", "subject", "grade"])["n"].transform("sum")
    est = share_estimate(v["n2"], v["n"], v["region_share2"]).assign(year=v["year"])
    work = _key(v, ["subject", "grade"])
    verdict = judge(est, unc, threshold=p.share_mark2_min.value, low_is_bad=False, inclusive=True,
                    groups=work, unit=_key(v, ["school_id", "subject", "grade"]), stratum=work)
    est = est.drop(columns="year")
    j = pd.concat([v[["school_id", "year", "subject", "grade"]], est, verdict], axis=1)
    s = _summarise_years(j, ["school_id", "subject", "grade"])
    s["streak"] = s["held"] >= p.consecutive_years.value
    now = j[(j["year"] == ev.year) & j["assessed"]]
    count_now = now.groupby("school_id")["fired"].sum()
    streak = s.groupby("school_id")["streak"].any()
    many = count_now >= p.assessments_min.value
    flagged = many.reindex(streak.index.union(many.index)).fillna(False) & streak.reindex(
        streak.index.union(many.index)).fillna(False)
    crit = _criteria_rows(ev, name, "share2", "Доля «2» не ниже порога", "доля",
                          s.assign(school_id=s["school_id"]), s.assign(fired=s["fired_last"]), s["years_held"],
                          s["years_assessed"], s["subject"].map(SUBJECTS) + ", " + s["grade"].astype(str) + " класс")
    crit["criterion"] = "share2_" + s["subject"].to_numpy() + "_" + s["grade"].astype(str).to_numpy()
    crit["title"] = "Доля «2» ≥ " + _pct(p.share_mark2_min.value) + ": " + crit["note"]

    fired_now = {sid: d for sid, d in now[now["fired"]].sort_values(["estimate", "subject", "grade"],
                                                                      ascending=[False, True, True]).groupby("school_id")}
    sure = "" if unc.decision.value == "point" else "уверенно "

    none_now = now.iloc[:0]
    is_flagged, has_streak, counts = flagged.to_dict(), streak.to_dict(), count_now.to_dict()   # plain lookups

    def explain(sid):
        n_now = int(counts.get(sid, 0))
        rows = fired_now.get(sid, none_now)
        works = "; ".join(f"{SUBJECTS.get(r.subject, r.subject).lower()}, {r.grade} кл.: «2» у {_pct(r.estimate)}"
                          for r in rows.head(3).itertuples()) + (f" и ещё {len(rows) - 3}" if len(rows) > 3 else "")
        if is_flagged.get(sid, False):
            return (f"Выделена (группа риска Рособрнадзора): в {ev.year} году доля «2» не ниже "
                    f"{_pct(p.share_mark2_min.value)} в {n_now} работах ({works}), и по той же работе "
                    f"{p.consecutive_years.value} года подряд.")
        if n_now:
            tail = "" if has_streak.get(sid, False) else f", но ни одна работа не повторилась {p.consecutive_years.value} года подряд"
            return f"Не выделена: доля «2» не ниже {_pct(p.share_mark2_min.value)} в {n_now} работах ({works}){tail}."
        return f"Не выделена: в {ev.year} году ни в одной работе доля «2» {sure}не достигает {_pct(p.share_mark2_min.value)}."

    ids = j["school_id"].unique()
    expl = pd.Series({sid: explain(sid) for sid in ids})
    top = now.sort_values(["probability", "estimate", "subject", "grade"],
                          ascending=[False, False, True, True]).groupby("school_id").head(1)
    head = top.assign(headline="доля «2»: " + top["subject"].map(SUBJECTS).str.lower() + ", " + top["grade"].astype(str)
                      + " кл.", value=top["estimate"], unit="доля")[HEAD_COLUMNS]
    flags = _flags(ev, name, flagged, count_now, p.assessments_min.value, head, expl)
    return Identification(name, "", crit, flags)


def _index_flags(ev: Evidence, column: str, share: float, reference: str) -> pd.Series:
    c = ev.context.set_index("school_id")[column]
    mun = ev.schools.set_index("school_id")["municipality"].reindex(c.index)
    if reference == "municipality":
        return c.groupby(mun, group_keys=False).apply(lambda x: bottom_share_flags(x, share))
    return bottom_share_flags(c, share)


def rule_multi_criteria(ev: Evidence, p: LesosibirskRule, unc: Uncertainty, name: str) -> Identification:
    """Lesosibirsk (seed 003 §2.1): seven indicators, ШНОР when ``criteria_required`` of them hold; ШНСУ when in the
    bottom ``index_bottom_share`` by ИСБШ (staff and resource deficits reported alongside)."""
    years, subj, ref = ev.window(p.years.value), p.subjects.value, p.reference.value
    mun = ev.schools.set_index("school_id")["municipality"]
    rows = []
    r = ev.results[ev.results["subject"].isin(subj) & ev.results["year"].isin(years)]
    # 1. bottom share by ЕГЭ, ОГЭ and ВПР together over the window (effect-size units, comparable across tests)
    est = pool(r, ["school_id"], units="sd", same_pupils=len(subj))
    est["municipality"] = est["school_id"].map(mun)
    groups = est["municipality"] if ref == "municipality" else None
    v = judge(est, unc, share=p.bottom_share.value, groups=groups)
    rows.append(_criteria_rows(ev, name, "bottom_all", f"В нижних {_pct(p.bottom_share.value)} школ по ЕГЭ, ОГЭ и ВПР "
                               f"({_subjects(subj)}) за {p.years.value} года", "SD", est, v, note="в единицах "
                               "стандартного отклонения баллов обучающихся"))
    # 2. continuing to grade 10
    o = ev.outcomes[ev.outcomes["year"].isin(years)].groupby("school_id", as_index=False)[
        ["grade9_graduates", "continued_grade10", "olympiad_participants"]].sum(min_count=1)
    o = o[o["grade9_graduates"] > 0]
    e2 = pd.concat([o[["school_id"]], share_estimate(o["continued_grade10"], o["grade9_graduates"])], axis=1)
    v2 = judge(e2, unc, threshold=p.continue_grade10_min.value, min_n=1)
    rows.append(_criteria_rows(ev, name, "continue10", f"Менее {_pct(p.continue_grade10_min.value)} выпускников 9 класса "
                               "продолжают обучение в 10 классе", "доля", e2, v2))
    # 3. more than N points below the regional mean (ВПР percent and ЕГЭ test points: both on a 100-point scale)
    r3 = r[r["assessment"].isin(["ВПР", "ЕГЭ"])]
    e3 = pool(r3, ["school_id", "assessment", "subject"])
    v3 = judge(e3, unc, threshold=-p.below_region_points.value)
    j3 = pd.concat([e3, v3], axis=1)
    j3 = j3[j3["assessed"]].sort_values(["fired", "probability", "assessment", "subject"],
                                    ascending=[False, False, True, True]).groupby("school_id").head(1)
    rows.append(_criteria_rows(ev, name, "below_points", f"Средний результат ниже среднего по региону более чем на "
                               f"{p.below_region_points.value:g} баллов (ВПР в % от максимума, ЕГЭ)", "баллов", j3, j3,
                               note=j3["assessment"] + " — " + j3["subject"].map(SUBJECTS).str.lower()))
    # 4. olympiad participants over the window as a share of the pupils, as seed 003 §2.1 п.4 writes it («0,5 % и
    # ниже учащихся за последние 3 года»): the years together, not per year; a school that reported fewer years
    # is brought to the window's length, and told so. 5. НОКО satisfaction (administrative figures: point rule)
    span = int(p.years.value)
    enrol = ev.schools.set_index("school_id")["enrolment"]
    years_with = ev.outcomes[ev.outcomes["year"].isin(years)].groupby("school_id")["olympiad_participants"].count()
    had = o["school_id"].map(years_with)
    o4 = o.assign(n=o["school_id"].map(enrol))
    o4["estimate"] = o4["olympiad_participants"] * span / had.where(had > 0) / o4["n"].where(o4["n"] > 0)
    v4 = pd.DataFrame({"threshold": p.olympiad_share_max.value, "ci_low": np.nan, "ci_high": np.nan,
                       "probability": np.nan, "fired": o4["estimate"] <= p.olympiad_share_max.value}, index=o4.index)
    years_ru = f"{span} {plural(span, 'год', 'года', 'лет')}"
    note4 = [f"участников за {years_ru} на одного обучающегося" if h >= span else
             f"данные за {int(h)} {plural(int(h), 'год', 'года', 'лет')} из {span}, пересчитано на {years_ru}"
             for h in had.fillna(0)]
    rows.append(_criteria_rows(ev, name, "olympiad", f"Участников олимпиад и конкурсов "
                               f"{_pct(p.olympiad_share_max.value)} и менее за {years_ru}", "доля", o4, v4,
                               note=pd.Series(note4, index=o4.index)))
    n5 = ev.outcomes[ev.outcomes["year"].isin(years)].groupby("school_id", as_index=False)["noko_satisfaction"].mean()
    n5 = n5.dropna().rename(columns={"noko_satisfaction": "estimate"}).assign(n=np.nan)
    v5 = pd.DataFrame({"threshold": p.noko_satisfaction_max.value, "ci_low": np.nan, "ci_high": np.nan,
                       "probability": np.nan, "fired": n5["estimate"] <= p.noko_satisfaction_max.value}, index=n5.index)
    rows.append(_criteria_rows(ev, name, "noko", f"Удовлетворённость по НОКО {_pct(p.noko_satisfaction_max.value)} и ниже",
                               "доля", n5, v5))
    # 6–7. quality (4–5) and success (3–5) below the municipal mean, ВПР of the target year
    cur = ev.results[(ev.results["assessment"] == "ВПР") & ev.results["subject"].isin(subj) & (ev.results["year"] == ev.year)]
    agg = cur.groupby(["school_id", "municipality"], as_index=False)[["n", "n3", "n4", "n5"]].sum()
    for key, cols, dev, title in (("quality", ["n4", "n5"], p.quality_deviation.value, "Качество обученности (доля «4» и «5»)"),
                                  ("success", ["n3", "n4", "n5"], p.success_deviation.value, "Успеваемость (доля «3», «4», «5»)")):
        good = agg[cols].sum(axis=1)
        mun_share = good.groupby(agg["municipality"]).transform("sum") / agg["n"].groupby(agg["municipality"]).transform("sum")
        e = share_estimate(good, agg["n"], mun_share)
        e["estimate"] = e["estimate"] - mun_share
        e["school_id"] = agg["school_id"]
        e["n"] = e["n"] / len(subj)
        e["se"] = e["se"] * np.sqrt(len(subj))
        v6 = judge(e, unc, threshold=-dev, inclusive=True)
        rows.append(_criteria_rows(ev, name, key, f"{title} ниже среднего по муниципалитету на {_pct(dev)[:-2]} п.п. и более",
                                   "доля", e, v6, note="разница со средним по муниципалитету (все участники, "
                                   f"включая саму школу), ВПР {ev.year}"))
    crit = pd.concat(rows, ignore_index=True)
    fired = crit.groupby("school_id")["fired"].sum()
    flagged = fired >= p.criteria_required.value
    shnsu = _index_flags(ev, "social_index", p.index_bottom_share.value, ref)
    staff = _index_flags(ev, "staff_index", p.index_bottom_share.value, ref)
    res = _index_flags(ev, "resources_index", p.index_bottom_share.value, ref)
    idx = ev.context.set_index("school_id")
    for key, flags_, title in (("social_index", shnsu, "ИСБШ"), ("staff_index", staff, "Индекс кадрового потенциала"),
                               ("resources_index", res, "Индекс ресурсного обеспечения")):
        d = pd.DataFrame({"school_id": idx.index, "estimate": idx[key].to_numpy(), "n": np.nan})
        v = pd.DataFrame({"threshold": np.nan, "ci_low": np.nan, "ci_high": np.nan, "probability": np.nan,
                          "fired": flags_.reindex(idx.index).fillna(False).to_numpy()})
        c = _criteria_rows(ev, name, key, f"{title}: нижние {_pct(p.index_bottom_share.value)} школ", "z", d, v,
                           note=idx[key.replace("_index", "_note")].fillna("").to_numpy() if key.replace("_index", "_note")
                           in idx else "")
        crit = pd.concat([crit, c], ignore_index=True)

    seven = {"bottom_all": "результаты ЕГЭ, ОГЭ, ВПР", "continue10": "продолжение обучения в 10 классе",
             "below_points": "разница со средним по региону", "olympiad": "олимпиады и конкурсы", "noko": "НОКО",
             "quality": "качество обученности", "success": "успеваемость"}

    own = crit[~crit["criterion"].str.endswith("_index")]
    by_school = {sid: d for sid, d in own.groupby("school_id", sort=False)}   # one pass, not a scan per school
    empty = own.iloc[:0]

    def explain(sid):
        c = by_school.get(sid, empty)
        on = c[c["fired"]]
        n_on = len(on)
        listed = "; ".join(_describe_criterion(r) for r in on.itertuples())
        assessed = set(c.loc[c["value"].notna(), "criterion"])
        missing = [title for key, title in seven.items() if key not in assessed]
        # «k из 7» only when all seven could be assessed; otherwise out of those assessed, naming what is missing
        gap = f"(из 7; нет данных: {', '.join(missing)})"
        of = "из 7 показателей" if not missing else (
            f"из {len(assessed)} {plural(len(assessed), 'оценённого', 'оценённых', 'оценённых')} показателей {gap}")
        extra = []
        if shnsu.get(sid, False):
            extra.append(f"ШНСУ: в нижних {_pct(p.index_bottom_share.value)} по ИСБШ")
        if staff.get(sid, False):
            extra.append(f"дефицит кадров (нижние {_pct(p.index_bottom_share.value)} по кадровому индексу)")
        if res.get(sid, False):
            extra.append("дефицит ресурсов")
        tail = (" " + _cap("; ".join(extra)) + ".") if extra else ""
        need = f"нужно {p.criteria_required.value}"
        if flagged.get(sid, False):
            return f"Выделена: выполнено {n_on} {of}, {need} — {listed}.{tail}"
        if n_on:
            return f"Не выделена: выполнено {n_on} {of}, {need} — {listed}.{tail}"
        if missing:
            return f"Не выделена: ни один из {len(assessed)} оценённых показателей не выполнен {gap}.{tail}"
        return f"Не выделена: ни один из 7 показателей не выполнен.{tail}"

    expl = pd.Series({sid: explain(sid) for sid in ev.schools["school_id"]})
    b = crit[crit["criterion"] == "bottom_all"]
    head = b.assign(headline="ЕГЭ, ОГЭ, ВПР: SD к региону", unit="SD")[HEAD_COLUMNS]
    flags = _flags(ev, name, flagged, fired, p.criteria_required.value, head, expl, shnsu=shnsu)
    return Identification(name, "", crit, flags)


def _describe_criterion(r) -> str:
    if r.unit == "доля":
        return f"{r.title.lower()} ({_pct(r.value) if r.criterion not in ('quality', 'success') else _pp(100 * r.value)})"
    return f"{r.title[0].lower() + r.title[1:]} ({_pp(r.value, r.unit)})"


def rule_stable_low_deprivation(ev: Evidence, p: StableLowRule, unc: Uncertainty, name: str) -> Identification:
    """Ekaterinburg (seed 000) made operational: in the bottom ``bottom_share`` every assessed year of the window on
    at least ``levels_required`` of the school's levels (НОО, ООО, СОО; fewer when the school has fewer levels);
    ШНСУ = bottom ``deprivation_bottom_share`` by ИСБШ; a polarised intake is reported as a signal."""
    years = ev.window(p.years.value)
    subjects = p.subjects.value
    r = ev.results[ev.results["subject"].isin(subjects)]
    parts = []
    for level, items in LEVELS.items():
        mask = pd.Series(False, index=r.index)
        for a, g in items:
            mask |= (r["assessment"] == a) & (r["grade"] == g)
        j = _by_year(ev, r[mask], years, unc, share=p.bottom_share.value, reference=p.reference.value, units="sd",
                     same_pupils=len(subjects))
        parts.append(j.assign(level=level))
    judged = pd.concat(parts, ignore_index=True)
    s = _summarise_years(judged, ["school_id", "level"])
    s["stable"] = (s["held"] == s["assessed_years"]) & (s["assessed_years"] >= min(p.min_years_assessed.value,
                                                                                     p.years.value))
    crit = _criteria_rows(ev, name, "stable_low", "Стабильно низкие результаты", "SD", s, s.assign(fired=s["stable"]),
                          s["years_held"], s["years_assessed"], s["level"].map(LEVEL_TITLES))
    crit["criterion"] = "stable_low_" + s["level"].to_numpy()
    crit["title"] = "Стабильно в нижних " + f"{_pct(p.bottom_share.value)}" + ": " + s["level"].map(LEVEL_TITLES).to_numpy()
    per = s.groupby("school_id")
    held, levels = per["stable"].sum(), per.size()
    required = np.minimum(p.levels_required.value, levels)
    flagged = held >= required
    shnsu = _index_flags(ev, "social_index", p.deprivation_bottom_share.value, p.reference.value)
    # polarised intake: many «2» and many «5» at once (a distribution shape, not a mean), target year, all subjects
    cur = ev.results[(ev.results["assessment"] == "ВПР") & (ev.results["year"] == ev.year)]
    m = cur.groupby("school_id")[["n", "n2", "n5"]].sum()
    m = m[m["n"] >= unc.min_participants.value]
    low, high = m["n2"] / m["n"], m["n5"] / m["n"]
    polarised = (low >= p.polarised_low_share.value) & (high >= p.polarised_high_share.value)
    pol = pd.DataFrame({"school_id": m.index, "estimate": np.minimum(low, high).to_numpy(), "n": m["n"].to_numpy()})
    vp = pd.DataFrame({"threshold": min(p.polarised_low_share.value, p.polarised_high_share.value), "ci_low": np.nan,
                       "ci_high": np.nan, "probability": np.nan, "fired": polarised.to_numpy()})
    crit = pd.concat([crit, _criteria_rows(ev, name, "polarised", "Поляризованный контингент (много «2» и много «5»)",
                                           "доля", pol, vp, note=pd.Series(
                                               [f"«2»: {_pct(a)}, «5»: {_pct(b)}" for a, b in zip(low, high)]))],
                     ignore_index=True)

    def explain(sid, d):
        on = d[d["stable"]]
        lv = ", ".join(LEVEL_TITLES[x] for x in on["level"])
        worst = d.sort_values(["estimate", "level"]).iloc[0]
        tail = " Поляризованный контингент: много и слабых, и сильных обучающихся." if polarised.get(sid, False) else ""
        tail += " ШНСУ: низкий социальный индекс (ИСБШ)." if shnsu.get(sid, False) else ""
        sent = _evidence_sentence(worst, unc, "SD", f"{LEVEL_TITLES[worst.level]}: ")
        if flagged.get(sid, False):
            return f"Выделена: стабильно в нижних {_pct(p.bottom_share.value)} школ ({lv}); {sent}.{tail}"
        return (f"Не выделена: стабильно низкие результаты на {len(on)} из {int(required.get(sid, 0))} нужных уровней"
                f"{' (' + lv + ')' if lv else ''}; {sent}.{tail}")

    expl = pd.Series({sid: explain(sid, d) for sid, d in per})
    worst = s.sort_values(["estimate", "level"]).groupby("school_id").head(1)
    head = worst.assign(headline=worst["level"] + ", SD к региону", value=worst["estimate"], unit="SD")[HEAD_COLUMNS]
    flags = _flags(ev, name, flagged, held, pd.Series(required, index=held.index), head, expl, shnsu=shnsu)
    return Identification(name, "", crit, flags)


def social_clusters(ev: Evidence, clusters: int) -> pd.Series:
    """Clusters of similar social profile: quantile groups of the region-referenced ИСБШ (1 = least well-off).

    Quantile groups of one index are used rather than k-means on all components: equally sized, stable from
    year to year and explainable in one sentence («школы с похожим ИСБШ»)."""
    x = ev.context.set_index("school_id")["social_index_region"].dropna().sort_index()
    if x.empty:
        return pd.Series(dtype=float)
    ranks = x.rank(method="first")  # ties broken by school id (sorted above), not by row order
    return np.ceil(ranks * clusters / len(x)).astype(int).rename("cluster")


def rule_context_adjusted(ev: Evidence, p: ContextAdjustedRule, unc: Uncertainty, name: str) -> Identification:
    """Bottom ``bottom_share`` of ВПР results (subjects pooled, window pooled) within clusters of schools with a
    similar social profile (St Petersburg approach)."""
    years, subj = ev.window(p.years.value), p.subjects.value
    cl = social_clusters(ev, p.clusters.value)
    est = pool(_vpr(ev, subj)[lambda d: d["year"].isin(years)], ["school_id"], same_pupils=len(subj))
    est["cluster"] = est["school_id"].map(cl)
    est = est.dropna(subset=["cluster"]).reset_index(drop=True)
    v = judge(est, unc, share=p.bottom_share.value, groups=est["cluster"])
    crit = _criteria_rows(ev, name, "bottom_in_cluster", f"В нижних {_pct(p.bottom_share.value)} своего кластера по ВПР "
                          f"({_subjects(subj)}) за {p.years.value} года", "п.п.", est, v,
                          note="кластер " + est["cluster"].astype(int).astype(str) + " из " + str(p.clusters.value))
    j = pd.concat([est, v], axis=1)
    flagged = pd.Series(j["fired"].to_numpy(), index=j["school_id"])

    def explain(r):
        sent = _evidence_sentence(r, unc)
        where = f"среди школ со сходным социальным профилем (кластер {int(r.cluster)} из {p.clusters.value} по ИСБШ)"
        if r.fired:
            return f"Выделена: в нижних {_pct(p.bottom_share.value)} {where}; за {p.years.value} года {sent}."
        return f"Не выделена {where}: за {p.years.value} года {sent}."

    expl = pd.Series([explain(r) for r in j.itertuples()], index=j["school_id"])
    head = j.assign(headline="ВПР, п.п. к региону", value=j["estimate"], unit="п.п.")[HEAD_COLUMNS]
    flags = _flags(ev, name, flagged, flagged.astype(int), 1, head, expl)
    notes = [] if len(cl) else ["ИСБШ не рассчитан ни для одной школы: кластеры не построены."]
    return Identification(name, "", crit, flags, notes)


RULES: dict[str, Callable] = {
    "bottom_percentile": rule_bottom_percentile, "below_regional_mean": rule_below_regional_mean,
    "mark2_risk_group": rule_mark2_risk_group, "multi_criteria": rule_multi_criteria,
    "stable_low_deprivation": rule_stable_low_deprivation, "context_adjusted": rule_context_adjusted,
}


def decisions(params, unc: Uncertainty) -> tuple[Uncertainty, Uncertainty]:
    """The uncertainty settings of a rule's own decision and of the view beside it.

    The rule decides by ``params.decision`` (seed and official presets: "point", the rule as written), else by
    ``unc.decision``. The other view is the uncertainty-adjusted decision when the rule's own is the point rule
    (``unc.decision``, or "probability" when that too is "point"), else the point rule.

    >>> from workbench.config import load_defaults, load_presets
    >>> own, other = decisions(load_presets()["rosobrnadzor_2025"].params, load_defaults().uncertainty)
    >>> own.decision.value, other.decision.value
    ('point', 'probability')
    """
    own = params.decision or unc.decision
    if own.value == "point":
        other = unc.decision if unc.decision.value != "point" else Tagged(
            value="probability", tag="heuristic", source="DOMAIN §4.6: вид с учётом неопределённости")
    else:
        other = Tagged(value="point", tag=own.tag, source="правило по наблюдаемым значениям, без учёта неопределённости")
    return unc.model_copy(update={"decision": own}), unc.model_copy(update={"decision": other})


def _uncertainty_view(unc: Uncertainty) -> str:
    """«вероятность ≥ 80 %» / «95 % интервал целиком за порогом» (the adjusted decision in words)."""
    if unc.decision.value == "probability":
        return f"вероятность за порогом не менее {_pct(unc.min_probability.value)}"
    return f"{_pct(unc.level.value)} интервал целиком за порогом"


def _beside(flags: pd.DataFrame, own: Uncertainty, adjusted: Uncertainty) -> pd.Series:
    """The sentence shown beside each flag: what the other decision says, when it matters."""
    words = _uncertainty_view(adjusted)
    rule, unc_ = flags["flagged_rule"], flags["flagged_uncertainty"]
    if own.decision.value == "point":
        text = np.select(
            [rule & unc_, rule & ~unc_, ~rule & unc_],
            [f" Флаг по правилу; с учётом неопределённости ({words}) — тоже выделена.",
             f" Флаг по правилу; с учётом неопределённости ({words}) — не выделена: при таком числе участников "
             "превышение порога может быть случайным.",
             f" По правилу не выделена; с учётом неопределённости ({words}) — выделена: по модели, в которой "
             "результаты разных лет школы дополняют друг друга, истинный результат вероятно за порогом, хотя "
             "наблюдаемое значение его не перешло."], default="")
    else:
        text = np.select(
            [rule & ~unc_, ~rule & unc_],
            [f" Решение с учётом неопределённости ({words}); по наблюдаемым значениям правило выполняется.",
             f" Решение с учётом неопределённости ({words}); по наблюдаемым значениям правило не выполняется."],
            default="")
    return pd.Series(text, index=flags.index)


def run_methodology(ev: Evidence, name: str, params=None, unc: Uncertainty | None = None) -> Identification:
    """Run the named preset (or explicit ``params``, e.g. a municipality's resolved overrides) on the evidence.

    The rule is run under both decisions of :func:`decisions`: ``flagged`` follows the preset's own (``decision``);
    ``flagged_rule`` is the point rule, ``flagged_uncertainty`` the uncertainty-adjusted one, and the explanation
    says what the other decision gives. Criteria are those of the preset's own decision.

    >>> ev = load_evidence(Store("data/store"), 2026)                          # doctest: +SKIP
    >>> run_methodology(ev, "rosobrnadzor_2025").flags["flagged"].sum()        # doctest: +SKIP
    """
    preset = load_presets()[name]
    params = preset.params if params is None else params
    unc = load_defaults().uncertainty if unc is None else unc
    own, other = decisions(params, unc)
    res = RULES[params.rule](ev, params, own, name)
    alt = RULES[params.rule](ev, params, other, name).flags.set_index("school_id")
    f = res.flags.set_index("school_id")
    point, adjusted = (f, alt) if own.decision.value == "point" else (alt, f)
    f["decision"] = own.decision.value
    f["flagged_rule"] = point["flagged"].reindex(f.index).fillna(False).astype(bool)
    f["flagged_uncertainty"] = adjusted["flagged"].reindex(f.index).fillna(False).astype(bool)
    f["group_uncertainty"] = adjusted["group"].reindex(f.index).fillna("")
    f["explanation"] = f["explanation"] + _beside(f, own, own if own.decision.value != "point" else other)
    res.title = preset.title
    res.flags = f.reset_index()[RUN_FLAG_COLUMNS].sort_values(["municipality", "school_id"]).reset_index(drop=True)
    res.criteria = res.criteria.sort_values(["municipality", "school_id", "criterion"]).reset_index(drop=True)
    return res


def run_all(ev: Evidence, unc: Uncertainty | None = None) -> dict[str, Identification]:
    """Every preset of ``params/methodologies.yaml`` on the same evidence."""
    return {name: run_methodology(ev, name, unc=unc) for name in load_presets()}


# ---------------------------------------------------------------- comparison of methodologies

def compare(results: dict[str, Identification], municipality: str | None = None) -> dict[str, pd.DataFrame]:
    """Which schools each methodology flags, overlap (counts and Jaccard) and the schools where they disagree.

    Returns ``membership`` (school × methodology, True when flagged as ШНОР), ``overlap`` (pairs: both,
    only first, only second, Jaccard) and ``disagreements`` (schools flagged by some but not all, with each
    methodology's explanation).

    >>> compare(run_all(ev), municipality="004")["overlap"]                     # doctest: +SKIP
    """
    flags = pd.concat([r.flags for r in results.values()], ignore_index=True)
    if municipality is not None:
        flags = flags[flags["municipality"] == municipality]
    member = flags.pivot_table(index=["school_id", "name"], columns="methodology", values="flagged", aggfunc="any")
    member = member.reindex(columns=list(results)).fillna(False).astype(bool)
    pairs = []
    names = list(results)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = int((member[a] & member[b]).sum())
            either = int((member[a] | member[b]).sum())
            pairs.append({"first": a, "second": b, "first_count": int(member[a].sum()), "second_count": int(member[b].sum()),
                          "both": both, "only_first": int((member[a] & ~member[b]).sum()),
                          "only_second": int((~member[a] & member[b]).sum()),
                          "jaccard": both / either if either else np.nan})
    split = member[member.any(axis=1) & ~member.all(axis=1)]
    why = flags.set_index(["school_id", "methodology"])["explanation"]
    dis = []
    for (sid, nm), row in split.iterrows():
        dis.append({"school_id": sid, "name": nm, "flagged_by": ", ".join(m for m in names if row[m]),
                    "not_flagged_by": ", ".join(m for m in names if not row[m]),
                    **{m: why.get((sid, m), "") for m in names}})
    return {"membership": member.reset_index(), "overlap": pd.DataFrame(pairs), "disagreements": pd.DataFrame(dis)}


# ---------------------------------------------------------------- typology (DOMAIN §5)

TYPES = {"shnsu": "ШНСУ: низкие результаты в неблагоприятных условиях",
         "shnor": "ШНОР: низкие результаты при обычном контексте и отрицательной добавленной ценности",
         "resilient": "Резильентная: неблагоприятный контекст, высокая добавленная ценность",
         "low": "Низкие результаты без заметно отрицательной добавленной ценности",
         "underperforming": "Результаты ниже ожидаемых при таком контексте (отрицательная добавленная ценность)",
         "context": "Неблагоприятный контекст, результаты не низкие",
         "effective": "Результаты выше ожидаемых при таком контексте",
         "other": "Результаты соответствуют контексту"}


def typology(ev: Evidence, typ: Typology | None = None, unc: Uncertainty | None = None) -> pd.DataFrame:
    """Per school: results (ВПР, subjects and window pooled, п.п. to the region), context (region-referenced
    ИСБШ), value added = the school's residual from a school-level OLS of results on ИСБШ (robust errors),
    shrunk by empirical Bayes with its sampling error toward the line (0), with its interval, and the type of
    DOMAIN §5.

    low results = bottom ``low_results_share`` of the region (decided with the uncertainty rule);
    low context = bottom ``low_context_share`` by ИСБШ; value added is negative/positive when its interval
    lies wholly below/above zero and it is at least ``min_value_added`` п.п. in size. A school with results
    that are not low but a negative value added is «ниже ожидаемого» — the weak school in a well-off intake
    that results-based rules cannot see.
    """
    from workbench.effects import school_ols

    typ = load_defaults().typology if typ is None else typ
    unc = load_defaults().uncertainty if unc is None else unc
    years, subj = ev.window(typ.years.value), typ.subjects.value
    est = pool(_vpr(ev, subj)[lambda d: d["year"].isin(years)], ["school_id"], same_pupils=len(subj))
    v = judge(est, unc, share=typ.low_results_share.value)
    t = pd.concat([est, v[["eb", "ci_low", "ci_high", "probability", "fired", "assessed"]]], axis=1)
    t = t.rename(columns={"estimate": "result", "fired": "low_results", "probability": "p_low"})
    ctx = ev.context.set_index("school_id")["social_index_region"]
    t["social_index"] = t["school_id"].map(ctx)
    t["low_context"] = t["school_id"].map(bottom_share_flags(ctx, typ.low_context_share.value)).fillna(False).astype(bool)
    fit = t[t["assessed"] & t["social_index"].notna()].reset_index(drop=True)
    t["value_added"] = t["va_low"] = t["va_high"] = np.nan
    coef = pd.DataFrame()
    if len(fit) >= 5:
        # School-level OLS with robust errors gives the context line; a school's residual is its raw value
        # added, known within its sampling error; shrinking the residuals (empirical Bayes) gives the
        # estimate and interval a school-random-effect model would give.
        coef, fitted = school_ols(fit, "result", ["social_index"], level=unc.level.value)
        # toward the line itself (0), not toward the residuals' precision-weighted mean, which a few large
        # schools pull off zero: a school below its line must never show a positive value added
        va = U.shrink(fitted["residual"], fit["se"], mu=0.0, level=unc.level.value).set_index(fit["school_id"])
        t["value_added"] = t["school_id"].map(va["eb_estimate"])
        t["va_low"] = t["school_id"].map(va["ci_low"])
        t["va_high"] = t["school_id"].map(va["ci_high"])
    big = typ.min_value_added.value
    neg = (t["va_high"] < 0) & (t["value_added"] <= -big)
    pos = (t["va_low"] > 0) & (t["value_added"] >= big)
    t["type"] = np.select([t["low_results"] & t["low_context"], t["low_results"] & neg, t["low_context"] & pos,
                           t["low_results"], neg, t["low_context"], pos],
                          ["shnsu", "shnor", "resilient", "low", "underperforming", "context", "effective"],
                          default="other")
    t.loc[~t["assessed"], "type"] = "other"
    t["type_ru"] = t["type"].map(TYPES)
    s = ev.schools.set_index("school_id")
    t.insert(1, "municipality", t["school_id"].map(s["municipality"]))
    t.insert(2, "name", t["school_id"].map(s["name"]))
    # the context line (intercept, slope per unit of ИСБШ) travels with the table, e.g. to draw it
    t["line_intercept"] = coef["estimate"].iloc[0] if len(coef) else np.nan
    t["line_slope"] = coef["estimate"].iloc[1] if len(coef) else np.nan
    return t.drop(columns=["assessed"]).sort_values(["municipality", "school_id"]).reset_index(drop=True)


# ---------------------------------------------------------------- region-wide results for the runner's cache

def region_indices(store, year: int) -> pd.DataFrame:
    """Context indices of every school (municipal reference, as configured) plus ``social_index_region``."""
    from workbench.context import compute_index, context_indices, load_indices

    indices = context_indices(store, year)
    social = load_indices()["social"]
    region_spec = social.model_copy(update={"reference": social.reference.model_copy(update={"value": "region"})})
    indices["social_index_region"] = compute_index(indices, region_spec)["index"].to_numpy()
    return indices
