"""Ordered models on counts (workbench.ordinal): a published grouped ordered logit and HETOP recovery."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench import gaps, ordinal

DATA = Path(__file__).parent / "data"


def test_ordered_logit_on_counts_matches_venables_ripley():
    d = pd.read_csv(DATA / "mass_housing.csv")
    w = d.pivot_table(index=["Infl", "Type", "Cont"], columns="Sat", values="Freq").reset_index()
    X = np.column_stack([w.Infl == "Medium", w.Infl == "High", w.Type == "Apartment", w.Type == "Atrium",
                         w.Type == "Terrace", w.Cont == "High"]).astype(float)
    fit = ordinal.ordered_fit(w[["Low", "Medium", "High"]].to_numpy(), X)
    assert fit.beta == pytest.approx([0.5664, 1.2888, -0.5724, -0.3662, -1.0910, 0.3603], abs=1e-4)
    assert fit.thresholds == pytest.approx([-0.4961, 0.6907], abs=1e-4)
    assert fit.deviance == pytest.approx(3479.149, abs=1e-3)
    # the thresholds' standard errors on the natural scale, not on the internal (first + log increments) one
    assert fit.beta_se == pytest.approx([0.1047, 0.1272, 0.1192, 0.1552, 0.1515, 0.0955], abs=2e-4)
    assert fit.thresholds_se == pytest.approx([0.1248, 0.1255], abs=2e-4)


def test_counts_are_frequency_weights_not_rows():
    """A cell of 40 pupils weighs 40 times a cell of one: the fit equals the fit of the expanded pupil rows."""
    counts = np.array([[12, 20, 8], [3, 10, 27]])
    X = np.array([[0.0], [1.0]])
    grouped = ordinal.ordered_fit(counts, X, link="probit")
    rows = np.repeat(np.eye(3)[None, :, :], 2, axis=0)
    pupils = np.concatenate([np.repeat(rows[j], counts[j], axis=0) for j in range(2)])
    xs = np.repeat(X, counts.sum(axis=1), axis=0)
    each = ordinal.ordered_fit(pupils, xs, link="probit")
    assert grouped.beta == pytest.approx(each.beta, abs=1e-5)
    assert grouped.thresholds_se == pytest.approx(each.thresholds_se, rel=1e-3)


def _coarsened(rng, J=300, cuts=(-0.8, 0.2, 1.1)):
    mu = rng.normal(0, 0.5, J)
    sd = np.exp(rng.normal(0, 0.2, J))
    n = rng.integers(10, 120, J)
    counts = np.stack([np.bincount(np.searchsorted(cuts, rng.normal(mu[j], sd[j], n[j])), minlength=4)
                       for j in range(J)]).astype(float)
    w = n / n.sum()
    m = np.sum(w * mu)
    v = np.sum(w * (sd ** 2 + (mu - m) ** 2))
    return counts, (mu - m) / np.sqrt(v), sd / np.sqrt(v), (np.array(cuts) - m) / np.sqrt(v)


def test_hetop_recovers_school_means_and_sds_from_mark_counts():
    counts, mean, sd, cuts = _coarsened(np.random.default_rng(1))
    h = ordinal.hetop(counts)
    s = h.schools
    assert h.converged
    assert np.corrcoef(mean, s["mean"])[0, 1] > 0.93
    assert np.corrcoef(sd, s["sd"])[0, 1] > 0.7
    assert h.thresholds == pytest.approx(cuts, abs=0.05)
    # the delta-method standard errors are honest: about 95 % of 95 % intervals cover the true value
    assert 0.92 <= np.mean(np.abs(s["mean"] - mean) < 1.96 * s["mean_se"]) <= 0.98
    assert 0.88 <= np.mean(np.abs(s["sd"] - sd) < 1.96 * s["sd_se"]) <= 0.98


def test_hetop_gap_from_counts_matches_the_gap_of_true_means():
    counts, mean, _, _ = _coarsened(np.random.default_rng(2), J=400)
    h = ordinal.hetop(counts)
    s = gaps.spread(h.schools["mean"], h.schools["mean_se"])
    true_gap = np.quantile(mean, 0.9) - np.quantile(mean, 0.1)
    assert gaps.p90_p10(s.tau_low) - 0.05 < true_gap < gaps.p90_p10(s.tau_high) + 0.05


def test_a_school_with_one_mark_stays_finite():
    h = ordinal.hetop(np.array([[0, 0, 25, 0], [5, 10, 8, 2], [1, 6, 10, 8], [2, 9, 9, 5]]))
    assert np.isfinite(h.schools[["mean", "sd", "mean_se", "sd_se"]].to_numpy()).all()


def test_hetop_standard_errors_equal_the_dense_delta_method():
    """The arrowhead inversion gives the same standard errors as inverting the whole Hessian (differenced
    gradient) and applying the delta method with a numerical Jacobian of the standardisation."""
    from scipy import optimize, stats

    counts, *_ = _coarsened(np.random.default_rng(4), J=60)
    h = ordinal.hetop(counts)
    J, K = counts.shape
    n = counts.sum(axis=1)
    share = (counts * np.arange(K)).sum(axis=1) / n / (K - 1)
    theta0 = np.concatenate([1.5 * stats.norm.ppf(np.clip(share, 0.02, 0.98)), np.zeros(J + K - 3)])
    theta = optimize.minimize(ordinal._hetop_objective, theta0, args=(counts, None), jac=True, method="L-BFGS-B",
                              options={"maxiter": 5000, "gtol": 1e-9}).x
    P, eps = len(theta), 1e-5
    g0 = ordinal._hetop_objective(theta, counts, None)[1]
    H = np.stack([(ordinal._hetop_objective(theta + eps * np.eye(P)[i], counts, None)[1] - g0) / eps
                  for i in range(P)], axis=1)
    cov = np.linalg.inv(0.5 * (H + H.T))

    def standardised(th):
        mu, sd = th[:J], np.exp(th[J:2 * J])
        w = n / n.sum()
        m = np.sum(w * mu)
        v = np.sum(w * (sd ** 2 + (mu - m) ** 2))
        return np.concatenate([(mu - m) / np.sqrt(v), sd / np.sqrt(v)])

    est = standardised(theta)
    G = np.stack([(standardised(theta + eps * np.eye(P)[i]) - est) / eps for i in range(P)], axis=1)
    se = np.sqrt(np.diag(G @ cov @ G.T))
    assert h.schools["mean_se"].to_numpy() == pytest.approx(se[:J], rel=1e-3)
    assert h.schools["sd_se"].to_numpy() == pytest.approx(se[J:], rel=1e-3)
