"""Gaps between the strongest and the weakest schools, their trends, and the dynamics of the listed schools
(DOMAIN §6). Did the support work: ``workbench.evaluation``; ordered models of mark counts: ``workbench.ordinal``.

A gap is a property of the *true* school results, but what we observe is each school's mean over its pupils of
one year: the spread of observed means is the spread of true means plus sampling noise, which in a small school
is large, so raw gaps between observed means are inflated (a school of 8 pupils lands in a tail by chance).
Every gap here is therefore reported twice:

* ``raw_*`` — between observed school means (what a spreadsheet shows; for comparison only);
* the corrected gap — a functional of the distribution of true school means under the normal random-effects
  model ``mean_j = μ + u_j + e_j``, ``u_j ~ N(0, τ²)``, ``e_j ~ N(0, s_j²)`` with ``s_j = sdw / √n_j`` (the
  region's pooled within-school SD of the work, as in identification). Then P90 − P10 = 2·z₀.₉·τ and the mean of
  the top quartile minus the mean of the bottom quartile = 2·τ·φ(z₀.₇₅)/0.25.

τ² is the Paule–Mandel estimate and its interval is the Q-profile interval (Viechtbauer 2007): the generalised
Q statistic Σ w_j(τ²)(y_j − ŷ_j)² with w_j = 1/(s_j² + τ²) is χ² with k − p degrees of freedom exactly when the
model holds, so the interval keeps its level with 10 or 20 schools (a percentile bootstrap over 20 schools covers
about 80 %). It rests on the normal shape of true school means; ``normality_p`` says when the data contradict it.
The same machinery with covariates gives the gap within clusters of similar social context (cluster dummies)
and the gap between ШНОР and the other schools (a 0/1 column, Hartung–Knapp–Sidik–Jonkman interval, t with
k − 2 degrees of freedom, the factor kept ≥ 1). Beside them: the ratio of the shares of «2» in the bottom and top
quartiles of schools, Ho's rank-based V gap (survives changes of the ВПР scale) and the gap from mark counts
alone (HETOP, ``hetop_gaps``).

Then the trend of each gap (``gap_trends``: OLS on the years, t interval), every school's trajectory
(``school_trajectories``: random-slope mixed model), the seed 004 indicator «доля ШНОР, показавших положительную
динамику» under each definition (``school_dynamics``, ``dynamics_summary``) next to the rise regression to the
mean predicts without support (``expected_change``), and when each school's support began (``support_start``).

Example
-------
>>> y = [40.0, 55.0, 60.0, 70.0, 48.0, 66.0]; se = [4.0, 3.0, 5.0, 2.0, 6.0, 3.0]
>>> s = spread(y, se)
>>> round(s.tau, 2), s.tau_low < s.tau < s.tau_high
(10.62, True)
>>> round(p90_p10(s.tau), 1), round(p90_p10(s.tau_low), 1), round(p90_p10(s.tau_high), 1)
(27.2, 15.4, 70.0)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import optimize, stats

from workbench import vocab
from workbench.config import Tagged, _Strict, load_yaml_model



# ---------------------------------------------------------------- parameters (params/gaps.yaml)

Pp = Annotated[float, Field(ge=0, le=100)]


class DynamicsParams(_Strict):
    two_drop: Tagged[Pp]
    mean_rise: Tagged[Pp]
    percentile_rise: Tagged[Pp]
    negative_two_rise: Tagged[Pp]
    rtm_lags: Tagged[Annotated[int, Field(ge=1, le=4)]]


class SupportParams(_Strict):
    partnership_kinds: Tagged[list[str]]
    from_measures: Tagged[bool]
    cutoff_month: Tagged[Annotated[int, Field(ge=1, le=12)]]


class EvaluationParams(_Strict):
    matches: Tagged[Annotated[int, Field(ge=1, le=50)]]


class GapParams(_Strict):
    """``params/gaps.yaml``: which subjects lead the report, the minimum sizes, the dynamics thresholds, what
    counts as support and how its effect is evaluated."""
    subjects: Tagged[Annotated[list[Literal[tuple(vocab.SUBJECTS)]], Field(min_length=1)]]  # type: ignore[valid-type]
    min_pupils: Tagged[Annotated[int, Field(ge=1, le=1000)]]
    min_schools: Tagged[Annotated[int, Field(ge=4, le=1000)]]
    quartile_min_schools: Tagged[Annotated[int, Field(ge=2, le=100)]]
    context_clusters: Tagged[Annotated[int, Field(ge=2, le=10)]]
    dynamics: DynamicsParams
    support: SupportParams
    evaluation: EvaluationParams


def load_gap_params(path: str | Path = "gaps.yaml") -> GapParams:
    """The gap parameters; a bad file raises ``ParamsError`` naming the key and what is allowed.

    >>> p = load_gap_params()
    >>> p.dynamics.two_drop.value, p.dynamics.negative_two_rise.tag
    (5.0, 'secondary')
    """
    return load_yaml_model(GapParams, path)


Z90 = float(stats.norm.ppf(0.9))
P90_P10_FACTOR = 2 * Z90                                          # P90 − P10 of N(μ, τ²) in units of τ
QUARTILE_FACTOR = float(2 * stats.norm.pdf(stats.norm.ppf(0.75)) / 0.25)   # mean(top 25 %) − mean(bottom 25 %)


def p90_p10(tau):
    """P90 − P10 of a normal distribution with SD ``tau``.

    >>> round(p90_p10(1.0), 4)
    2.5631
    """
    return P90_P10_FACTOR * np.asarray(tau, dtype=float) if np.ndim(tau) else P90_P10_FACTOR * float(tau)


def quartile_gap(tau):
    """Mean of the top quartile minus mean of the bottom quartile of a normal distribution with SD ``tau``.

    >>> round(quartile_gap(1.0), 4)
    2.5422
    """
    return QUARTILE_FACTOR * np.asarray(tau, dtype=float) if np.ndim(tau) else QUARTILE_FACTOR * float(tau)


# ---------------------------------------------------------------- the random-effects model

@dataclass(frozen=True)
class Spread:
    """Between-school spread of true results (normal random-effects model, optionally with covariates).

    ``tau2`` Paule–Mandel, ``tau2_low``/``tau2_high`` the Q-profile interval at ``level``; ``beta``/``beta_se``
    the fixed effects at ``tau2`` with Hartung–Knapp–Sidik–Jonkman standard errors (factor ≥ 1), ``df`` = k − p
    for their t intervals; ``reliability`` the mean of τ²/(τ² + s_j²) (how much of the observed spread is true);
    ``normality_p`` a Shapiro–Wilk p-value of the standardised residuals (NaN below 8 schools)."""
    k: int
    p: int
    tau2: float
    tau2_low: float
    tau2_high: float
    beta: np.ndarray
    beta_se: np.ndarray
    df: int
    reliability: float
    normality_p: float
    level: float

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.tau2))

    @property
    def tau_low(self) -> float:
        return float(np.sqrt(self.tau2_low))

    @property
    def tau_high(self) -> float:
        return float(np.sqrt(self.tau2_high))

    def beta_interval(self, j: int) -> tuple[float, float]:
        """t interval of fixed effect ``j`` at the spread's level."""
        if self.df <= 0 or not np.isfinite(self.beta_se[j]):
            return float("nan"), float("nan")
        t = float(stats.t.ppf(0.5 + self.level / 2, self.df))
        return float(self.beta[j] - t * self.beta_se[j]), float(self.beta[j] + t * self.beta_se[j])


def _generalised_q(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    w = 1.0 / (v + tau2)
    xtwx = X.T @ (X * w[:, None])
    cov = np.linalg.pinv(xtwx)
    beta = cov @ (X.T @ (w * y))
    r = y - X @ beta
    return float(np.sum(w * r * r)), beta, cov


def _solve_tau2(target: float, y, v, X) -> float:
    """τ² ≥ 0 at which the generalised Q equals ``target`` (Q decreases in τ²); 0 when Q(0) is already below."""
    q0 = _generalised_q(0.0, y, v, X)[0]
    if q0 <= target:
        return 0.0
    hi = max(float(np.var(y)), float(np.max(v)), 1e-9)
    while _generalised_q(hi, y, v, X)[0] > target:
        hi *= 4.0
        if hi > 1e12:
            return float("inf")
    return float(optimize.brentq(lambda t: _generalised_q(t, y, v, X)[0] - target, 0.0, hi, xtol=1e-10, rtol=1e-10))


def spread(estimate, se, X=None, level: float = 0.95) -> Spread:
    """Fit the normal random-effects model to school means ``estimate`` with sampling SEs ``se``.

    ``X`` is an optional design matrix (k × p, an intercept included by the caller); without it the model has a
    common mean. Rows with a missing estimate or a non-positive se are dropped. Needs k > p + 1 schools; fewer
    give NaN. Means closer together than their noise allows (Q(0) below the lower χ² quantile) give the
    interval [0, 0]: no spread beyond noise is detectable, as metafor reports.

    >>> s = spread([0.0, 2.0, 4.0], [1.0, 1.0, 1.0])    # Q(τ²) = 8/(1+τ²) = 2 → τ² = 3
    >>> round(s.tau2, 6), s.k, s.df
    (3.0, 3, 2)
    """
    y = np.asarray(estimate, dtype=float)
    s = np.asarray(se, dtype=float)
    X = np.ones((len(y), 1)) if X is None else np.asarray(X, dtype=float).reshape(len(y), -1)
    keep = np.isfinite(y) & np.isfinite(s) & (s > 0) & np.isfinite(X).all(axis=1)
    y, v, X = y[keep], s[keep] ** 2, X[keep]
    # drop design columns that are constant zero among the kept rows (an empty cluster)
    X = X[:, np.abs(X).sum(axis=0) > 0]
    k, p = len(y), int(np.linalg.matrix_rank(X)) if len(y) else X.shape[1]
    nan = float("nan")
    if k <= p + 1:
        return Spread(k, p, nan, nan, nan, np.full(X.shape[1], nan), np.full(X.shape[1], nan), k - p, nan, nan, level)
    df = k - p
    alpha = 1 - level
    tau2 = _solve_tau2(df, y, v, X)
    low = _solve_tau2(float(stats.chi2.ppf(1 - alpha / 2, df)), y, v, X)
    high = _solve_tau2(float(stats.chi2.ppf(alpha / 2, df)), y, v, X)
    q, beta, cov = _generalised_q(tau2, y, v, X)
    factor = max(1.0, q / df)                 # HKSJ, never narrower than the model-based SE
    beta_se = np.sqrt(np.diag(cov) * factor)
    w = 1.0 / (v + tau2)
    resid = (y - X @ beta) * np.sqrt(w)
    normality = float(stats.shapiro(resid).pvalue) if k >= 8 and np.ptp(resid) > 0 else nan
    return Spread(k, p, tau2, low, high, beta, beta_se, df, float(np.mean(tau2 / (tau2 + v))), normality, level)


def shrunk_means(estimate, se, tau2: float, mu: float | None = None) -> np.ndarray:
    """Posterior means of true school means under the normal model (used to rank schools into quartiles:
    a small school with an extreme observed mean is pulled toward the middle instead of filling a tail).

    >>> shrunk_means([0.0, 10.0], [1.0, 1.0], tau2=1.0).tolist()
    [2.5, 7.5]
    """
    y = np.asarray(estimate, dtype=float)
    v = np.asarray(se, dtype=float) ** 2
    if mu is None:
        w = 1 / (v + tau2)
        mu = float(np.sum(w * y) / np.sum(w))
    lam = np.where(v > 0, tau2 / (tau2 + v), 1.0) if tau2 > 0 else np.zeros_like(y)
    return mu + lam * (y - mu)


# ---------------------------------------------------------------- gaps of one work in one set of schools

def _ratio_share(a: np.ndarray, m: np.ndarray) -> tuple[float, float, int]:
    """Pooled share Σa/Σm over schools and the variance of its log by linearisation with schools as clusters."""
    c = len(a)
    total = float(np.sum(m))
    r = float(np.sum(a)) / total if total > 0 else float("nan")
    if c < 2 or not r > 0:
        return r, float("nan"), c
    d = a - r * m
    var_r = c / (c - 1) * float(np.sum(d * d)) / total ** 2
    return r, var_r / r ** 2, c


def two_share_ratio(n2, n, rank, level: float = 0.95, min_schools: int = 3) -> dict:
    """Share of «2» among pupils of the bottom quartile of schools (by ``rank``, low = weak) over the share in the
    top quartile, with a t interval of the log ratio (schools as clusters, Welch–Satterthwaite degrees of
    freedom; quartile membership taken as given). The ratio is NaN when the top quartile has no «2»; the interval
    is NaN when a quartile has fewer than ``min_schools`` schools (with two, t has about one degree of freedom
    and the interval spans orders of magnitude).

    >>> r = two_share_ratio([6, 5, 4, 3, 2, 1, 1, 0], [20] * 8, [1, 2, 3, 4, 5, 6, 7, 8])
    >>> round(r["two_ratio"], 2), round(r["two_bottom"], 3), round(r["two_top"], 3)
    (11.0, 0.275, 0.025)
    """
    n2, n, rank = (np.asarray(x, dtype=float) for x in (n2, n, rank))
    lo_cut, hi_cut = np.quantile(rank, [0.25, 0.75])
    bottom, top = rank <= lo_cut, rank >= hi_cut
    rb, vb, cb = _ratio_share(n2[bottom], n[bottom])
    rt, vt, ct = _ratio_share(n2[top], n[top])
    out = {"two_bottom": rb, "two_top": rt, "two_ratio": float("nan"), "two_ratio_low": float("nan"),
           "two_ratio_high": float("nan")}
    if not (rt > 0 and rb > 0):
        return out
    ratio = rb / rt
    out["two_ratio"] = ratio
    var = vb + vt
    if not np.isfinite(var) or min(cb, ct) < max(min_schools, 2):
        return out
    df = var ** 2 / ((vb ** 2 / (cb - 1) if vb > 0 else 0) + (vt ** 2 / (ct - 1) if vt > 0 else 0) or np.inf)
    t = float(stats.t.ppf(0.5 + level / 2, max(df, 1.0)))
    out["two_ratio_low"], out["two_ratio_high"] = ratio * np.exp(-t * np.sqrt(var)), ratio * np.exp(t * np.sqrt(var))
    return out


def _raw_gaps(y: np.ndarray) -> tuple[float, float]:
    p10, q25, q75, p90 = np.quantile(y, [0.1, 0.25, 0.75, 0.9])
    return float(p90 - p10), float(y[y >= q75].mean() - y[y <= q25].mean())


GAP_COLUMNS = ["schools", "pupils", "raw_p90_p10", "raw_quartile_gap", "tau", "reliability", "normality_p",
               "p90_p10", "p90_p10_low", "p90_p10_high", "quartile_gap", "quartile_gap_low", "quartile_gap_high",
               "two_bottom", "two_top", "two_ratio", "two_ratio_low", "two_ratio_high",
               "shnor_schools", "shnor_gap", "shnor_gap_low", "shnor_gap_high",
               "within_p90_p10", "within_p90_p10_low", "within_p90_p10_high", "context_share"]


def work_gaps(cells: pd.DataFrame, *, shnor=frozenset(), cluster: pd.Series | None = None,
              level: float = 0.95) -> dict:
    """Every gap of one work (subject × grade × year) among the schools of ``cells``.

    ``cells``: one row per school with ``school_id``, ``n``, ``mean`` (percent of max), ``sdw`` (pooled
    within-school SD of the work), ``n2`` (pupils with «2»). ``shnor``: ids of the schools on the list
    (``shnor_gap`` = mean of the other schools minus mean of ШНОР, in true means); ``cluster``: school id →
    context cluster (``within_p90_p10``: P90 − P10 of true means around their cluster's mean;
    ``context_share``: the share of τ² the clusters explain).

    >>> c = pd.DataFrame({"school_id": list("abcdefgh"), "n": 6, "mean": [30., 40, 45, 50, 52, 58, 62, 75],
    ...                   "sdw": 20.0, "n2": [3, 2, 2, 1, 1, 1, 0, 0]})
    >>> g = work_gaps(c)                  # 6 pupils a school: a third of the observed spread is noise
    >>> g["schools"], round(g["raw_quartile_gap"], 1), round(g["quartile_gap"], 1), round(g["reliability"], 2)
    (8, 33.5, 28.5, 0.65)
    >>> round(g["quartile_gap_low"], 1), round(g["quartile_gap_high"], 1)    # 8 schools: a wide interval
    (10.6, 68.6)
    """
    c = cells[cells["n"] > 0]
    y = c["mean"].to_numpy(float)
    se = (c["sdw"] / np.sqrt(c["n"])).to_numpy(float)
    out = dict.fromkeys(GAP_COLUMNS, float("nan"))
    out.update(schools=len(c), pupils=int(c["n"].sum()))
    if len(c) < 4:
        return out
    out["raw_p90_p10"], out["raw_quartile_gap"] = _raw_gaps(y)
    s = spread(y, se, level=level)
    if not np.isfinite(s.tau2):
        return out
    out.update(tau=s.tau, reliability=s.reliability, normality_p=s.normality_p,
               p90_p10=p90_p10(s.tau), p90_p10_low=p90_p10(s.tau_low), p90_p10_high=p90_p10(s.tau_high),
               quartile_gap=quartile_gap(s.tau), quartile_gap_low=quartile_gap(s.tau_low),
               quartile_gap_high=quartile_gap(s.tau_high))
    out.update(two_share_ratio(c["n2"], c["n"], shrunk_means(y, se, s.tau2), level))
    flag = c["school_id"].isin(set(shnor)).to_numpy(float)
    out["shnor_schools"] = int(flag.sum())
    if 0 < flag.sum() < len(c):
        g = spread(y, se, np.column_stack([np.ones(len(c)), flag]), level=level)
        lo, hi = g.beta_interval(1)
        out.update(shnor_gap=-float(g.beta[1]), shnor_gap_low=-hi, shnor_gap_high=-lo)
    if cluster is not None:
        cl = c["school_id"].map(cluster)
        ok = cl.notna().to_numpy()
        levels = sorted(cl[ok].unique())
        if len(levels) > 1:
            X = np.column_stack([(cl[ok] == v).to_numpy(float) for v in levels])
            w = spread(y[ok], se[ok], X, level=level)
            base = spread(y[ok], se[ok], level=level)
            if np.isfinite(w.tau2):
                out.update(within_p90_p10=p90_p10(w.tau), within_p90_p10_low=p90_p10(w.tau_low),
                           within_p90_p10_high=p90_p10(w.tau_high),
                           context_share=1 - w.tau2 / base.tau2 if base.tau2 > 0 else float("nan"))
    return out


# ---------------------------------------------------------------- gaps of every work, year and unit

WORK_KEYS = ["year", "subject", "grade"]


def vpr_school_means(results: pd.DataFrame, min_pupils: int = 1) -> pd.DataFrame:
    """ВПР school means of each work from ``identify.Evidence.results`` (one row per school × subject × grade ×
    year with ``n``, ``mean``, ``sdw``, ``n2``…``n5``, ``region_mean``), schools with at least ``min_pupils``."""
    v = results[(results["assessment"] == "ВПР") & (results["n"] >= min_pupils)]
    cols = ["year", "municipality", "school_id", "subject", "grade", "n", "mean", "sdw", "region_mean",
            "n2", "n3", "n4", "n5"]
    out = v[cols].copy()
    out["year"] = out["year"].astype(int)
    out["grade"] = out["grade"].astype(int)
    return out.reset_index(drop=True)


def gap_table(means: pd.DataFrame, *, unit: str = "region", shnor=frozenset(), cluster: pd.Series | None = None,
              pupil_sd: pd.Series | None = None, level: float = 0.95, min_schools: int = 4) -> pd.DataFrame:
    """Every gap (``GAP_COLUMNS``) of each work and year among the schools of ``means``, labelled ``unit``.

    ``pupil_sd`` is the SD of pupils' percent scores in the work (√(sdw² + variance of school means), weighted by
    pupils) among these schools, or taken from ``pupil_sd`` (indexed by year, subject, grade: pass the region's
    table so that a homogeneous municipality's gap is not inflated by its own small SD); ``*_sd`` columns give the
    corrected gaps in those units, comparable across years and subjects whose scales differ. Works with fewer than
    ``min_schools`` schools get counts only.

    >>> m = pd.DataFrame({"year": 2026, "subject": "math", "grade": 4, "school_id": list("abcdef"), "n": 20,
    ...                   "mean": [40.0, 45, 50, 55, 60, 70], "sdw": 15.0, "n2": [5, 4, 3, 2, 1, 1]})
    >>> t = gap_table(m)
    >>> t[["unit", "schools", "pupils"]].values.tolist()
    [['region', 6, 120]]
    """
    rows = []
    for key, g in means.groupby(WORK_KEYS, sort=True):
        row = dict(zip(WORK_KEYS, key), unit=unit)
        if len(g) >= min_schools:
            row.update(work_gaps(g, shnor=shnor, cluster=cluster, level=level))
        else:
            row.update(dict.fromkeys(GAP_COLUMNS, float("nan")), schools=len(g), pupils=int(g["n"].sum()))
        if pupil_sd is not None:
            row["pupil_sd"] = float(pupil_sd.get(key, np.nan))
        else:
            w = g["n"] / g["n"].sum()
            between = float(np.sum(w * (g["mean"] - np.sum(w * g["mean"])) ** 2))
            row["pupil_sd"] = float(np.sqrt(np.sum(w * g["sdw"] ** 2) + between))
        rows.append(row)
    t = pd.DataFrame(rows, columns=["unit", *WORK_KEYS, *GAP_COLUMNS, "pupil_sd"])
    for c in ("p90_p10", "p90_p10_low", "p90_p10_high", "quartile_gap", "shnor_gap", "shnor_gap_low",
              "shnor_gap_high", "within_p90_p10"):
        t[f"{c}_sd"] = t[c] / t["pupil_sd"]
    return t


# ---------------------------------------------------------------- trends of the gaps

TREND_COLUMNS = ["years", "first_year", "last_year", "slope", "slope_low", "slope_high", "p_value", "fitted_first",
                 "fitted_last"]


def linear_trend(years, values, level: float = 0.95) -> dict:
    """OLS trend of yearly values (statsmodels): the slope per year with its t interval (T − 2 degrees of
    freedom: the scatter of the years around the line is the uncertainty, sampling noise and year-specific
    shocks together), never a two-point difference. Needs three years.

    >>> r = linear_trend([2022, 2023, 2024, 2025, 2026], [30.0, 29.0, 28.5, 27.0, 26.5])
    >>> round(r["slope"], 2), r["slope_high"] < 0, round(r["fitted_last"], 2)
    (-0.9, True, 26.4)
    """
    import statsmodels.api as sm

    t = np.asarray(years, dtype=float)
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    out = dict.fromkeys(TREND_COLUMNS, float("nan"))
    out["years"] = int(len(t))
    if len(np.unique(t)) < 3:
        return out
    fit = sm.OLS(y, sm.add_constant(t - t.mean())).fit()
    lo, hi = fit.conf_int(alpha=1 - level)[1]
    out.update(first_year=int(t.min()), last_year=int(t.max()), slope=float(fit.params[1]), slope_low=float(lo),
               slope_high=float(hi), p_value=float(fit.pvalues[1]),
               fitted_first=float(fit.params[0] + fit.params[1] * (t.min() - t.mean())),
               fitted_last=float(fit.params[0] + fit.params[1] * (t.max() - t.mean())))
    return out


def gap_trends(table: pd.DataFrame, measure: str = "p90_p10", level: float = 0.95) -> pd.DataFrame:
    """Per unit × subject × grade: the linear trend of ``measure`` over the years of ``table`` (``gap_table``
    rows), plus a row per unit × subject with grade = 0 for the mean over the grades assessed in every year
    (averaging grades first keeps a year's shock, shared by its grades, from counting as independent evidence).

    >>> t = pd.DataFrame({"unit": "r", "subject": "rus", "grade": [4] * 3 + [5] * 3, "year": [2024, 2025, 2026] * 2,
    ...                   "p90_p10": [30.0, 29.0, 28.0, 32.0, 31.0, 30.0]})
    >>> gap_trends(t)[["grade", "slope", "fitted_last"]].round(6).values.tolist()
    [[0.0, -1.0, 29.0], [4.0, -1.0, 28.0], [5.0, -1.0, 30.0]]
    """
    rows = []
    for (unit, subject, grade), g in table.groupby(["unit", "subject", "grade"], sort=True):
        rows.append({"unit": unit, "subject": subject, "grade": int(grade), "measure": measure,
                     **linear_trend(g["year"], g[measure], level)})
    for (unit, subject), g in table.dropna(subset=[measure]).groupby(["unit", "subject"], sort=True):
        every = g.groupby("grade")["year"].nunique()
        grades = every[every == g["year"].nunique()].index
        mean = g[g["grade"].isin(grades)].groupby("year")[measure].mean()
        rows.append({"unit": unit, "subject": subject, "grade": 0, "measure": measure,
                     "grades": ", ".join(str(int(x)) for x in grades), **linear_trend(mean.index, mean.values, level)})
    out = pd.DataFrame(rows)
    if "grades" not in out:
        out["grades"] = ""
    return out.sort_values(["unit", "subject", "grade"]).reset_index(drop=True)


# ---------------------------------------------------------------- dynamics of the listed schools

def expected_change(trend: pd.DataFrame, base_year: int, year: int, *, lags: int = 3,
                    exclude=frozenset()) -> pd.DataFrame:
    """Regression to the mean: the change from ``base_year`` to ``year`` each school is expected to show with no
    support at all, learnt from the region's own schools.

    ``trend``: one row per school × year with ``estimate`` (result relative to the region) and ``se``. A school
    picked for low results is expected to rise anyway, because part of its low result was noise and its true
    result drifts: how much depends on how it was picked. Lists are built from several years, so the expectation
    is the best linear prediction of the ``year`` result from the results of ``base_year`` and the ``lags`` − 1
    years before it, fitted by OLS over the region's schools that are not in ``exclude`` (the supported ones);
    each lag also enters multiplied by the school's standardised squared se, so a small school's past results
    count less (its reliability is lower). Schools without every lag use fewer lags. Returns school_id,
    estimate_base, expected (the predicted ``year`` result), expected_change = expected − estimate_base.

    With one lag and equal se this is (ρ·τ_year/τ_base·λ − 1)·y_base of the normal model (λ the reliability):

    >>> rng = np.random.default_rng(0); theta = rng.normal(0, 10, 4000)
    >>> tr = pd.concat([pd.DataFrame({"school_id": range(4000), "year": y, "se": 10.0,
    ...                               "estimate": theta + rng.normal(0, 10, 4000)}) for y in (2025, 2026)])
    >>> e = expected_change(tr, 2025, 2026, lags=1)
    >>> low = e.estimate_base < -20
    >>> round(float(e.loc[low, "expected_change"].mean() / -e.loc[low, "estimate_base"].mean()), 1)   # λ = 0.5
    0.5
    """
    wide = trend.pivot_table(index="school_id", columns="year", values="estimate")
    se2 = trend[trend["year"] == base_year].set_index("school_id")["se"] ** 2
    r = (se2 / se2.mean()).reindex(wide.index)
    out = pd.DataFrame({"estimate_base": wide.get(base_year)}).reindex(wide.index)
    out["expected"] = np.nan
    train = ~wide.index.isin(set(exclude))
    for k in range(lags, 0, -1):
        cols = [base_year - i for i in range(k)]
        if any(c not in wide.columns for c in cols) or year not in wide.columns:
            continue
        X = np.column_stack([wide[cols].to_numpy(float), wide[cols].to_numpy(float) * r.to_numpy(float)[:, None]])
        X = np.column_stack([np.ones(len(X)), X])
        have = np.isfinite(X).all(axis=1)
        fit_rows = have & train & np.isfinite(wide[year].to_numpy(float))
        todo = have & out["expected"].isna().to_numpy()
        if fit_rows.sum() <= X.shape[1] + 2 or not todo.any():
            continue
        beta = np.linalg.lstsq(X[fit_rows], wide[year].to_numpy(float)[fit_rows], rcond=None)[0]
        out.loc[todo, "expected"] = X[todo] @ beta
    out["expected_change"] = out["expected"] - out["estimate_base"]
    return out.reset_index()


@dataclass(frozen=True)
class DynamicsRule:
    """Thresholds of «положительная динамика» (DOMAIN §6; heuristic X = 5, Y = 3, percentile 10; FIOKO 2026 treats
    a rise of the share of «2» by 10 p.p. as negative dynamics)."""
    two_drop: float = 5.0
    mean_rise: float = 3.0
    percentile_rise: float = 10.0
    negative_two_rise: float = 10.0
    level: float = 0.95
    rtm_lags: int = 3

    @classmethod
    def of(cls, params: "GapParams", level: float = 0.95) -> "DynamicsRule":
        d = params.dynamics
        return cls(d.two_drop.value, d.mean_rise.value, d.percentile_rise.value, d.negative_two_rise.value, level,
                   d.rtm_lags.value)


DEFINITIONS = {
    "exit": "вышла из списка: в списке в {base} году, не в списке в {year} году (та же методика)",
    "beyond_interval": "доля «2» снизилась на {two_drop:g} п.п. и больше или средний результат вырос на "
                       "{mean_rise:g} п.п. и больше, сверх погрешности ({level:.0%}-интервал без 0)",
    "percentile": "место среди школ региона поднялось на {percentile_rise:g} процентилей и больше",
    "residual": "результат относительно школ с похожим ИСБШ улучшился сверх погрешности",
}
NEGATIVE = "доля «2» выросла на {negative_two_rise:g} п.п. и больше (ФИОКО 2026: отрицательная динамика)"


def _context_residual(t: pd.DataFrame, context: pd.Series) -> pd.Series:
    """Result minus what the region's schools of the same social index get (OLS within the year)."""
    x = t["school_id"].map(context)
    ok = x.notna() & t["estimate"].notna()
    if ok.sum() < 3:
        return pd.Series(np.nan, index=t.index)
    b, a = np.polyfit(x[ok].astype(float), t.loc[ok, "estimate"], 1)
    return t["estimate"] - (a + b * x.astype(float))


def school_dynamics(trend: pd.DataFrame, twos: pd.DataFrame, base_flags: pd.DataFrame, flags: pd.DataFrame,
                    base_year: int, year: int, *, context: pd.Series | None = None, excluded=frozenset(),
                    supported=frozenset(), rule: DynamicsRule = DynamicsRule()) -> pd.DataFrame:
    """Per school listed in ``base_year`` (``base_flags.flagged``): its change to ``year`` and whether it shows
    positive dynamics under each definition of ``DEFINITIONS`` (NaN when the data do not allow the judgement),
    the negative dynamics of FIOKO, the change expected from regression to the mean (``expected_change``) and
    ``net_change`` = observed − expected.

    ``trend``: school × year ``estimate``/``se`` relative to the region (all region schools: percentiles and the
    regression to the mean are regional); ``twos``: school × year ``n2``/``n`` (the same works); ``excluded``:
    schools with signs of non-objective results in ``year`` (kept in the table, ``excluded`` True, not judged);
    ``supported``: schools in the support programme (partnership or measures) by ``year`` (their expected change is
    NaN: their past results already carry the support).
    """
    z = float(stats.norm.ppf(0.5 + rule.level / 2))
    listed = base_flags.loc[base_flags["flagged"].astype(bool), ["school_id", "municipality"]]
    now = set(flags.loc[flags["flagged"].astype(bool), "school_id"])
    t = trend[trend["year"].isin([base_year, year])].copy()
    t["percentile"] = t.groupby("year")["estimate"].rank(pct=True) * 100
    if context is not None:
        t["residual"] = t.groupby("year", group_keys=False)[["school_id", "estimate"]].apply(
            lambda g: _context_residual(g, context))
    else:
        t["residual"] = np.nan
    wide = t.pivot(index="school_id", columns="year", values=["estimate", "se", "percentile", "residual"])
    tw = twos[twos["year"].isin([base_year, year])].pivot(index="school_id", columns="year", values=["n2", "n"])
    rtm = expected_change(trend, base_year, year, lags=rule.rtm_lags, exclude=supported).set_index("school_id")
    out = listed.copy().reset_index(drop=True)
    sid = out["school_id"]

    def col(frame, name, y):
        key = (name, y)
        return (sid.map(frame[key]) if key in frame.columns else pd.Series(np.nan, index=sid.index)).astype(float)

    out["on_list_now"] = sid.isin(now)
    out["excluded"] = sid.isin(set(excluded))
    out["supported"] = sid.isin(set(supported))
    out["estimate_base"], out["estimate"] = col(wide, "estimate", base_year), col(wide, "estimate", year)
    out["change"] = out["estimate"] - out["estimate_base"]
    change_se = np.sqrt(col(wide, "se", base_year) ** 2 + col(wide, "se", year) ** 2)
    out["change_low"], out["change_high"] = out["change"] - z * change_se, out["change"] + z * change_se
    n0, n1 = col(tw, "n", base_year), col(tw, "n", year)
    p0, p1 = col(tw, "n2", base_year) / n0, col(tw, "n2", year) / n1
    out["two_base"], out["two"] = 100 * p0, 100 * p1
    out["two_change"] = out["two"] - out["two_base"]
    two_se = 100 * np.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    out["percentile_base"], out["percentile"] = col(wide, "percentile", base_year), col(wide, "percentile", year)
    out["residual_change"] = col(wide, "residual", year) - col(wide, "residual", base_year)
    # a supported school's own past already carries the support: no «expected without support» from it
    out["expected_change"] = sid.map(rtm["expected_change"]).astype(float).where(~out["supported"])
    out["net_change"] = out["change"] - out["expected_change"]

    has_both = out["change"].notna()
    judged = has_both & ~out["excluded"]

    def verdict(cond: pd.Series, ok: pd.Series) -> pd.Series:
        return cond.where(ok & judged).astype("boolean")

    out["exit"] = verdict(~out["on_list_now"], ~out["excluded"])
    two_ok = out["two_change"].notna() & (two_se > 0)
    better_two = (out["two_change"] <= -rule.two_drop) & (out["two_change"] + z * two_se < 0)
    better_mean = (out["change"] >= rule.mean_rise) & (out["change_low"] > 0)
    out["beyond_interval"] = verdict(better_mean | (better_two & two_ok), has_both)
    out["percentile_rise"] = out["percentile"] - out["percentile_base"]
    out["percentile"] = verdict(out["percentile_rise"] >= rule.percentile_rise, out["percentile_rise"].notna())
    out["residual"] = verdict(out["residual_change"] - z * change_se > 0, out["residual_change"].notna())
    out["negative"] = verdict(out["two_change"] >= rule.negative_two_rise, two_ok)
    return out.drop(columns=["percentile_base"])


def dynamics_summary(dyn: pd.DataFrame, base_year: int, year: int, rule: DynamicsRule = DynamicsRule(),
                     level: float = 0.95) -> pd.DataFrame:
    """«Доля ШНОР, показавших положительную динамику» under each definition, with its definition in words, the
    schools listed, excluded for signs of non-objectivity, judged and positive, the share with its Wilson
    interval, and the mean observed change next to the change expected from regression to the mean.

    >>> d = pd.DataFrame({"excluded": [False, False, True], "exit": pd.array([True, False, pd.NA], "boolean"),
    ...                   "beyond_interval": pd.array([True, pd.NA, pd.NA], "boolean"),
    ...                   "percentile": pd.array([False, False, pd.NA], "boolean"),
    ...                   "residual": pd.array([True, True, pd.NA], "boolean"), "change": [4.0, 1.0, 9.0],
    ...                   "expected_change": [2.0, 2.0, 2.5], "negative": pd.array([False, False, pd.NA], "boolean")})
    >>> dynamics_summary(d, 2025, 2026)[["definition", "judged", "positive", "share"]].values.tolist()[:2]
    [['exit', 2, 1, 0.5], ['beyond_interval', 1, 1, 1.0]]
    """
    from workbench.uncertainty import wilson_interval

    params = dict(base=base_year, year=year, **vars(rule))
    rows = []
    judged_rows = ~dyn["excluded"] & dyn["change"].notna()
    for name, text in [*DEFINITIONS.items(), ("negative", NEGATIVE)]:
        v = dyn[name]
        k, n = int(v.fillna(False).sum()), int(v.notna().sum())
        w = wilson_interval(k, n, level)
        rows.append({"definition": name, "text_ru": text.format(**params), "listed": len(dyn),
                     "excluded": int(dyn["excluded"].sum()), "judged": n, "positive": k,
                     "share": k / n if n else float("nan"),
                     "share_low": float(w["ci_low"].iloc[0]), "share_high": float(w["ci_high"].iloc[0]),
                     "mean_change": float(dyn.loc[judged_rows, "change"].mean()),
                     "mean_expected": float(dyn.loc[judged_rows, "expected_change"].mean())})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- a rank-based gap index

SCORE_HISTOGRAM_SQL = """
    SELECT year, subject, grade, school_id, primary_score AS score, count(*) AS pupils
    FROM vpr WHERE NOT absent AND primary_score IS NOT NULL AND year BETWEEN ? AND ? {where}
    GROUP BY ALL"""


def score_histograms(store, first_year: int, year: int, municipality: str | None = None,
                     subjects=None) -> pd.DataFrame:
    """Pupils per primary score of each school and work (the input of ``rank_gaps``)."""
    where, args = "", [first_year, year]
    if municipality is not None:
        where += " AND municipality = ?"
        args.append(municipality)
    if subjects:
        where += f" AND subject IN ({', '.join('?' * len(subjects))})"
        args.extend(subjects)
    return store.query(SCORE_HISTOGRAM_SQL.format(where=where), args)


def _auc_parts(top: np.ndarray, bottom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per school of each group its contribution to Σ pairs (top pupil above bottom pupil, ties ½).

    ``top``/``bottom``: schools × scores histograms on a common ascending score grid."""
    b_tot = bottom.sum(axis=0)
    below_b = np.cumsum(b_tot) - b_tot                         # bottom pupils strictly below each score
    t_tot = top.sum(axis=0)
    above_t = t_tot[::-1].cumsum()[::-1] - t_tot               # top pupils strictly above each score
    return top @ (below_b + 0.5 * b_tot), bottom @ (above_t + 0.5 * t_tot)


def v_statistic(top: np.ndarray, bottom: np.ndarray, level: float = 0.95) -> dict:
    """Ho's (2009) V gap between pupils of two groups of schools: √2·Φ⁻¹(P(a top pupil outscores a bottom pupil),
    ties counted ½). It depends only on the order of scores, so it survives any monotone change of the score
    scale (ВПР scales change every year); for two normal groups of equal SD it equals Cohen's d. The interval is
    a two-group jackknife over schools (pupils of one school are not independent), t with min(schools) − 1
    degrees of freedom.

    >>> top = np.array([[0, 1, 2, 3], [0, 0, 2, 4]]); bottom = np.array([[3, 2, 1, 0], [2, 2, 1, 1]])
    >>> r = v_statistic(top, bottom)     # (1·7 + 4·10 + 7·11.5) / (12·12) pairs won
    >>> round(r["auc"], 3), round(r["v"], 2)
    (0.885, 1.7)
    """
    top, bottom = np.asarray(top, dtype=float), np.asarray(bottom, dtype=float)
    nt, nb = top.sum(axis=1), bottom.sum(axis=1)
    out = {"auc": float("nan"), "v": float("nan"), "v_low": float("nan"), "v_high": float("nan")}
    if nt.sum() == 0 or nb.sum() == 0:
        return out
    ct, cb = _auc_parts(top, bottom)
    num = ct.sum()
    auc = num / (nt.sum() * nb.sum())

    def v_of(a):
        return np.sqrt(2) * stats.norm.ppf(np.clip(a, 1e-9, 1 - 1e-9))

    out.update(auc=float(auc), v=float(v_of(auc)))
    mt, mb = len(nt), len(nb)
    if min(mt, mb) < 2:
        return out
    # leaving a top school out removes its pairs; leaving a bottom school out removes its pairs with every top pupil
    v_t = v_of((num - ct) / ((nt.sum() - nt) * nb.sum()))
    v_b = v_of((num - cb) / (nt.sum() * (nb.sum() - nb)))
    var = (mt - 1) / mt * np.sum((v_t - v_t.mean()) ** 2) + (mb - 1) / mb * np.sum((v_b - v_b.mean()) ** 2)
    t = float(stats.t.ppf(0.5 + level / 2, min(mt, mb) - 1))
    out.update(v_low=float(out["v"] - t * np.sqrt(var)), v_high=float(out["v"] + t * np.sqrt(var)))
    return out


def rank_gaps(means: pd.DataFrame, hist: pd.DataFrame, *, unit: str = "region", level: float = 0.95,
              min_schools: int = 6) -> pd.DataFrame:
    """Per work and year: the V gap between the pupils of the top and the bottom quartile of schools (schools
    ranked by their shrunk means, as for the share of «2»). ``means``: ``vpr_school_means`` rows; ``hist``:
    ``score_histograms`` rows of the same schools."""
    rows = []
    hist = hist.set_index(WORK_KEYS)
    for key, g in means.groupby(WORK_KEYS, sort=True):
        row = dict(zip(WORK_KEYS, key), unit=unit, v=float("nan"), v_low=float("nan"), v_high=float("nan"),
                   auc=float("nan"))
        if len(g) >= min_schools and key in hist.index:
            se = (g["sdw"] / np.sqrt(g["n"])).to_numpy(float)
            s = spread(g["mean"], se, level=level)
            if np.isfinite(s.tau2):
                rank = pd.Series(shrunk_means(g["mean"].to_numpy(float), se, s.tau2), index=g["school_id"].to_numpy())
                lo, hi = rank.quantile([0.25, 0.75])
                h = hist.loc[[key]].pivot_table(index="school_id", columns="score", values="pupils",
                                                aggfunc="sum", fill_value=0)
                top = h.reindex(rank.index[rank >= hi]).dropna()
                bottom = h.reindex(rank.index[rank <= lo]).dropna()
                row.update(v_statistic(top.to_numpy(), bottom.to_numpy(), level))
        rows.append(row)
    return pd.DataFrame(rows, columns=["unit", *WORK_KEYS, "auc", "v", "v_low", "v_high"])


# ---------------------------------------------------------------- support, trajectories, the whole region

def support_start(store, kinds=("сетевая пара",), from_measures: bool = False, cutoff_month: int = 5) -> pd.Series:
    """First ВПР year each school was supported in: the earliest start of a partnership of one of ``kinds``
    (``partnerships``; seed 004's network pairs with a leader school) and, with ``from_measures``, of a roadmap
    measure addressed to the school. Support that starts before ``cutoff_month`` of a year reaches that spring's
    assessment, later starts the next year's."""
    tables = set(store.tables())
    parts = []
    if "partnerships" in tables and kinds:
        parts.append(store.query(f"SELECT school_id, min(start) AS start FROM partnerships WHERE start IS NOT NULL "
                                 f"AND kind IN ({', '.join('?' * len(kinds))}) GROUP BY 1", list(kinds)))
    if from_measures and "measures" in tables:
        parts.append(store.query("SELECT school_id, min(start) AS start FROM measures WHERE school_id IS NOT NULL "
                                 "AND start IS NOT NULL GROUP BY 1"))
    if not parts:
        return pd.Series(dtype="Int64", name="support_year")
    s = pd.to_datetime(pd.concat(parts).groupby("school_id")["start"].min())
    return (s.dt.year + (s.dt.month >= cutoff_month).astype(int)).astype("Int64").rename("support_year")


def support_of(store, params: "GapParams") -> pd.Series:
    """``support_start`` with the rule of ``params/gaps.yaml``."""
    p = params.support
    return support_start(store, tuple(p.partnership_kinds.value), p.from_measures.value, p.cutoff_month.value)


TRAJECTORY_COLUMNS = ["school_id", "years", "level", "slope", "slope_se", "slope_low", "slope_high",
                      "region_slope", "diverging"]


def school_trajectories(trend: pd.DataFrame, level: float = 0.95, min_slope_ratio: float = 1e-3) -> pd.DataFrame:
    """Each school's trajectory relative to the region: a mixed model of the yearly results (``trend``:
    school × year ``estimate``) with a random intercept and a random slope per school (``effects.school_effects``,
    guarded: several optimisers, the best likelihood kept). ``slope`` = the model's common slope + the school's
    (shrunk) deviation, p.p. a year, its se combining both; ``diverging`` = «отстаёт» / «догоняет» when the
    deviation's interval excludes 0. When the slope variance is on the boundary (below ``min_slope_ratio`` of the
    residual variance: schools' slopes do not differ beyond noise) every school follows the common slope and none
    is said to diverge (``attrs["note"]``). The residual variance is common to all schools (sampling noise of small
    schools is not modelled separately: their slopes are shrunk like the others'). Needs three years."""
    from workbench import effects

    t = trend.dropna(subset=["estimate"]).copy()
    if t["year"].nunique() < 3 or t["school_id"].nunique() < 10:
        return pd.DataFrame(columns=TRAJECTORY_COLUMNS + ["note"])
    t["t"] = t["year"] - float(t["year"].mean())
    fit = effects.school_effects(t, "estimate", "school_id", ["t"], random_slopes=["t"], level=level)
    fixed = fit.fixed.set_index("term")
    z = float(stats.norm.ppf(0.5 + level / 2))
    e = fit.effects.rename(columns={"school": "school_id"})
    common, common_se = fixed.loc["t", "estimate"], fixed.loc["t", "se"]
    out = pd.DataFrame({"school_id": e["school_id"], "years": e["n"],
                        "level": fixed.loc["Intercept", "estimate"] + e["effect"],
                        "slope": common + e["effect_t"], "slope_se": np.sqrt(common_se ** 2 + e["se_t"] ** 2)})
    out["slope_low"], out["slope_high"] = out["slope"] - z * out["slope_se"], out["slope"] + z * out["slope_se"]
    out["region_slope"] = common
    slope_var, school_var = fit.var("school × t"), fit.var("school")
    corr = fit.var("cov(school, t)") / np.sqrt(slope_var * school_var) if slope_var > 0 and school_var > 0 else 0.0
    chosen = fit.attempts[(fit.attempts["optimizer"] == fit.optimizer) & (fit.attempts["start"] == fit.start)]
    grad = float(chosen["max_scaled_grad"].iloc[0]) if len(chosen) else float("nan")
    # no school is said to diverge when slopes do not differ beyond noise, or when the fit is degenerate (slope
    # and level perfectly correlated, or the optimum not confirmed): its conditional SEs are then far too small
    flat = slope_var < min_slope_ratio * fit.var("residual")
    degenerate = abs(corr) > 0.98 or not (np.isfinite(grad) and grad <= 0.05)
    dev_low, dev_high = e["effect_t"] - z * e["se_t"], e["effect_t"] + z * e["se_t"]
    out["diverging"] = "" if flat or degenerate else np.select([dev_high < 0, dev_low > 0], ["отстаёт", "догоняет"], "")
    out["note"] = ("наклоны школ не различаются больше случайных колебаний" if flat else
                   "модель наклонов вырождена (мало школ или лет): расхождения не оцениваются" if degenerate else "")
    return out[TRAJECTORY_COLUMNS + ["note"]]


def region_gaps(means: pd.DataFrame, hist: pd.DataFrame, *, cluster: pd.Series | None, shnor=frozenset(),
                unit: str = "region", pupil_sd: pd.Series | None = None, level: float = 0.95,
                min_schools: int = 6, rank_subjects=None) -> pd.DataFrame:
    """``gap_table`` with the rank-based V gap of ``rank_gaps`` beside it (for ``rank_subjects`` only)."""
    table = gap_table(means, unit=unit, shnor=shnor, cluster=cluster, pupil_sd=pupil_sd, level=level,
                      min_schools=min_schools)
    ranked = means if rank_subjects is None else means[means["subject"].isin(list(rank_subjects))]
    v = rank_gaps(ranked, hist, unit=unit, level=level, min_schools=min_schools)
    return table.merge(v.drop(columns="unit"), on=WORK_KEYS, how="left")


# ---------------------------------------------------------------- gaps from mark counts alone (HETOP)

HETOP_COLUMNS = ["hetop_p90_p10", "hetop_p90_p10_low", "hetop_p90_p10_high"]


def hetop_schools(means: pd.DataFrame, min_pupils: int = 5) -> pd.DataFrame:
    """Per work (subject × grade × year) a heteroskedastic ordered probit of the schools' counts of «2»…«5»
    (``ordinal.hetop``): each school's latent mean and SD in SD units of all the work's pupils, with standard
    errors — what FIS OKO summaries of mark counts allow without any score."""
    from workbench import ordinal

    parts = []
    for key, g in means[means["n"] >= min_pupils].groupby(WORK_KEYS, sort=True):
        counts = g[["n2", "n3", "n4", "n5"]].to_numpy(float)
        used = counts.sum(axis=0) > 0
        if used.sum() < 3 or len(g) < 4:
            continue
        h = ordinal.hetop(counts[:, used], ids=g["school_id"].to_numpy())
        parts.append(h.schools.rename(columns={"school": "school_id", "mean": "hetop_mean", "mean_se": "hetop_se",
                                               "sd": "hetop_sd", "sd_se": "hetop_sd_se"})
                     .assign(**dict(zip(WORK_KEYS, key))))
    cols = [*WORK_KEYS, "school_id", "n", "hetop_mean", "hetop_se", "hetop_sd", "hetop_sd_se"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def hetop_gaps(schools: pd.DataFrame, level: float = 0.95, min_schools: int = 6) -> pd.DataFrame:
    """P90 − P10 of true school means from the HETOP school means of ``hetop_schools`` (rows of one set of schools:
    the region or a municipality's), in SD units of the work's pupils of the region, with the Q-profile interval."""
    rows = []
    for key, g in schools.groupby(WORK_KEYS, sort=True):
        row = dict(zip(WORK_KEYS, key), **dict.fromkeys(HETOP_COLUMNS, float("nan")))
        if len(g) >= min_schools:
            s = spread(g["hetop_mean"], g["hetop_se"], level=level)
            if np.isfinite(s.tau2):
                row.update(hetop_p90_p10=p90_p10(s.tau), hetop_p90_p10_low=p90_p10(s.tau_low),
                           hetop_p90_p10_high=p90_p10(s.tau_high))
        rows.append(row)
    return pd.DataFrame(rows, columns=[*WORK_KEYS, *HETOP_COLUMNS])
