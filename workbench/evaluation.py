"""Did support work: supported schools against matched unsupported schools (DOMAIN §6).

Schools are picked for support because their results were low, and low results partly recover by themselves
(regression to the mean): a supported school's own rise proves nothing. Each supported school is therefore
compared with never-supported schools that looked the same before its support began.

Design (Callaway & Sant'Anna 2021, group-time average effects): a cohort g is the schools whose support first
reached the ВПР of year g (``gaps.support_start``). For each cohort and year t,

* t ≥ g: ATT(g, t) = mean over the cohort of (y_t − y_{g−1}) minus the same change of its matched controls;
* t < g (placebo, «varying base»): the change y_t − y_{t−1}, controls matched on what was known before t.

Controls are never-supported schools only, so a school supported earlier never serves as a control for a later
cohort — the fault of a plain two-way fixed-effects regression when support starts in different years
(Goodman-Bacon 2021). Matching: for each supported school its ``k`` nearest never-supported schools (with
replacement) in the standardised space of its results in every year up to the base year and of the context
covariates (ИСБШ); a school picked for a low result is compared with schools that had the same result, so both
regress to the mean alike. Within the matched sample the change is regression-adjusted on the same variables
(bias-corrected matching, Abadie & Imbens 2011; the outcome-regression DiD of Sant'Anna & Zhao 2020), with
controls weighted by how often they were matched.

Standard errors come from each school's contribution to the linearised estimator (treated: its own change,
controls: their residual times their weight), summed over every estimate a school enters before squaring —
that is, clustered by school, the convention stated in the report. Matching is treated as fixed
(pre-processing, Ho et al. 2007). Intervals are normal. Aggregates: by event time e = t − g (cohorts weighted by
size) and overall (mean of the post-support event times). The pre-support check is a joint Wald test of the
placebo event times.

Example
-------
>>> rng = np.random.default_rng(1)
>>> n, years = 300, [2022, 2023, 2024, 2025, 2026]
>>> level = rng.normal(0, 5, n); cohort = np.where(np.arange(n) < 40, 2024, np.nan)
>>> rows = [{"school_id": i, "year": y, "cohort": cohort[i],
...          "outcome": level[i] + rng.normal(0, 1) + (3.0 if cohort[i] <= y else 0.0)} for i in range(n) for y in years]
>>> ev = evaluate(pd.DataFrame(rows), k=3)
>>> round(ev.overall["att"], 0), ev.overall["ci_low"] < 3 < ev.overall["ci_high"]
(3.0, True)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass
class Evaluation:
    """Result of :func:`evaluate`.

    att_gt: cohort, year, event (t − g), att, se, ci_low, ci_high, treated, controls (distinct matched controls).
    event: event, att, se, ci_low, ci_high, cohorts, treated (cohort-size weighted over cohorts).
    overall: att, se, ci_low, ci_high, events (mean of the post-support event-time effects).
    pretrend: chi2, df, p_value of the placebo event times (NaN without any).
    balance: per cohort and matching variable the standardised mean difference before and after matching.
    matches: how many never-supported schools were matched to each supported one (``k``).
    """
    att_gt: pd.DataFrame
    event: pd.DataFrame
    overall: dict
    pretrend: dict
    balance: pd.DataFrame
    level: float = 0.95
    matches: int = 5


def _nearest(treated: np.ndarray, controls: np.ndarray, k: int) -> np.ndarray:
    """Indices (treated × k) of the k nearest controls of each treated row (Euclidean on standardised columns)."""
    d2 = ((treated[:, None, :] - controls[None, :, :]) ** 2).sum(axis=2)
    k = min(k, controls.shape[0])
    return np.argsort(d2, axis=1, kind="stable")[:, :k]


def _did_one(dy_t: np.ndarray, X_t: np.ndarray, dy_c: np.ndarray, X_c: np.ndarray, w_c: np.ndarray):
    """Regression-adjusted DiD of one (cohort, year): ATT and each unit's contribution to its linearisation."""
    Xc = np.column_stack([np.ones(len(dy_c)), X_c])
    Xt = np.column_stack([np.ones(len(dy_t)), X_t])
    A = Xc.T @ (Xc * w_c[:, None])
    Ainv = np.linalg.pinv(A)
    beta = Ainv @ (Xc.T @ (w_c * dy_c))
    resid_t = dy_t - Xt @ beta
    att = float(resid_t.mean())
    n_t = len(dy_t)
    contrib_t = (resid_t - att) / n_t
    e_c = dy_c - Xc @ beta
    contrib_c = -(Xt.mean(axis=0) @ Ainv @ (Xc * (w_c * e_c)[:, None]).T)
    return att, contrib_t, contrib_c


def evaluate(panel: pd.DataFrame, *, unit: str = "school_id", time: str = "year", outcome: str = "outcome",
             cohort: str = "cohort", covariates: list[str] | tuple = (), k: int = 5, level: float = 0.95,
             min_treated: int = 1, base: str = "last", adjust: bool = True) -> Evaluation:
    """Group-time effects of support, matched never-supported controls, clustered by school.

    ``panel``: one row per school × year with ``outcome`` (e.g. the ВПР result relative to the region, п.п.),
    ``cohort`` (the first supported year; NaN for never-supported schools) and time-invariant ``covariates``
    (taken from the school's first row). Schools missing the outcome in a year a comparison needs are left out
    of that comparison. ``base``: "last" compares with the year before support (the design above); "pre_mean"
    with the mean of every year before it (the classic 2 × 2 comparison of periods; placebo years still use the
    varying base). ``adjust`` False skips the regression adjustment (matching alone); with ``k`` at least the
    number of controls every control is used once, which is the plain difference-in-differences of means.
    """
    if base not in ("last", "pre_mean"):
        raise ValueError(f"base = {base!r}: допустимо \"last\" или \"pre_mean\"")
    if k < 1:
        raise ValueError("k — число подбираемых контрольных школ — должно быть не меньше 1")
    p = panel.copy()
    wide = p.pivot_table(index=unit, columns=time, values=outcome)
    info = p.groupby(unit).first()
    coh = info[cohort].reindex(wide.index)
    cov = info[list(covariates)].reindex(wide.index).astype(float) if covariates else pd.DataFrame(index=wide.index)
    years = sorted(int(y) for y in wide.columns)
    never = coh.isna()
    z = float(stats.norm.ppf(0.5 + level / 2))
    units = list(wide.index)
    pos = {u: i for i, u in enumerate(units)}
    rows, contribs, balance = [], [], []
    for g in sorted(int(c) for c in coh.dropna().unique()):
        for t in years:
            ref = g - 1 if t >= g else t - 1
            if ref not in years:
                continue
            history = [y for y in years if y <= ref]
            cols = history + [t]
            treated = (coh == g) & wide[cols].notna().all(axis=1) & cov.notna().all(axis=1)
            pool = never & wide[cols].notna().all(axis=1) & cov.notna().all(axis=1)
            if treated.sum() < min_treated or pool.sum() < 2:
                continue
            M = pd.concat([wide[history], cov], axis=1)
            M.columns = [f"y{c}" if isinstance(c, (int, np.integer)) else str(c) for c in M.columns]
            centre, scale = M[treated | pool].mean(), M[treated | pool].std(ddof=0).replace(0, 1.0)
            S = ((M - centre) / scale).to_numpy(float)
            ti, ci = np.where(treated.to_numpy())[0], np.where(pool.to_numpy())[0]
            nn = ci[_nearest(S[ti], S[ci], k)]
            counts = pd.Series(nn.ravel()).value_counts()
            matched, weights = counts.index.to_numpy(), counts.to_numpy(float) / nn.shape[1]
            start = wide[history].mean(axis=1) if base == "pre_mean" and t >= g else wide[ref]
            dy = (wide[t] - start).to_numpy(float)
            X = S if adjust else np.zeros((len(S), 0))
            att, c_t, c_c = _did_one(dy[ti], X[ti], dy[matched], X[matched], weights)
            vec = np.zeros(len(units))
            vec[ti] += c_t
            np.add.at(vec, matched, c_c)
            se = float(np.sqrt(np.sum(vec ** 2)))
            rows.append({"cohort": g, "year": t, "event": t - g, "att": att, "se": se, "ci_low": att - z * se,
                         "ci_high": att + z * se, "treated": len(ti), "controls": len(matched)})
            contribs.append(vec)
            if t == g:
                for j, name in enumerate(M.columns):
                    sd = float(M.loc[treated | pool, name].std(ddof=1)) or 1.0
                    before = (M.loc[treated, name].mean() - M.loc[pool, name].mean()) / sd
                    after = (M.loc[treated, name].mean() - np.average(M.iloc[matched][name], weights=weights)) / sd
                    balance.append({"cohort": g, "variable": name, "smd_before": float(before),
                                    "smd_after": float(after)})
    att_gt = pd.DataFrame(rows, columns=["cohort", "year", "event", "att", "se", "ci_low", "ci_high", "treated",
                                         "controls"])
    C = np.array(contribs) if contribs else np.zeros((0, len(units)))

    def combine(weights: np.ndarray) -> tuple[float, float]:
        est = float(weights @ att_gt["att"].to_numpy())
        return est, float(np.sqrt(np.sum((weights @ C) ** 2)))

    ev_rows, ev_weights = [], {}
    for e, g in att_gt.groupby("event"):
        wgt = np.zeros(len(att_gt))
        wgt[g.index] = g["treated"] / g["treated"].sum()
        est, se = combine(wgt)
        ev_weights[e] = wgt
        ev_rows.append({"event": int(e), "att": est, "se": se, "ci_low": est - z * se, "ci_high": est + z * se,
                        "cohorts": len(g), "treated": int(g["treated"].sum())})
    event = pd.DataFrame(ev_rows, columns=["event", "att", "se", "ci_low", "ci_high", "cohorts", "treated"])
    post = [e for e in ev_weights if e >= 0]
    overall = dict.fromkeys(["att", "se", "ci_low", "ci_high"], float("nan"))
    overall["events"] = len(post)
    if post:
        est, se = combine(np.mean([ev_weights[e] for e in post], axis=0))
        overall.update(att=est, se=se, ci_low=est - z * se, ci_high=est + z * se)
    pre = [e for e in ev_weights if e < 0]
    pretrend = {"chi2": float("nan"), "df": len(pre), "p_value": float("nan")}
    if pre:
        W = np.array([ev_weights[e] for e in pre])
        theta = W @ att_gt["att"].to_numpy()
        L = W @ C
        V = L @ L.T
        chi2 = float(theta @ np.linalg.pinv(V) @ theta)
        pretrend.update(chi2=chi2, p_value=float(stats.chi2.sf(chi2, len(pre))))
    return Evaluation(att_gt, event, overall, pretrend, pd.DataFrame(balance), level, k)
