"""Ordered models fitted on mark counts: school means and SDs from the counts of «2»…«5» alone (DOMAIN §6).

FIS OKO summaries often give only how many pupils of a school got each mark. Two models read them:

* :func:`ordered_fit` — the ordered logit / probit of grouped data (one row per covariate pattern with its count
  of each category). The likelihood is weighted by the counts (statsmodels ``OrderedModel`` ignores
  ``weights=`` and ``freq_weights=``, so fitting it on cell counts silently treats every cell as one pupil).
  Thresholds are estimated as the first threshold and log increments (so they stay ordered); their standard errors
  are reported on the natural scale from the Hessian there (the delta method of the internal scale).
* :func:`hetop` — the heteroskedastic ordered probit of Reardon, Shear, Castellano & Ho (2017), as SEDA uses it:
  pupils of school j have latent scores N(μ_j, σ_j²), cut by thresholds common to the work into marks. Estimated
  by penalised maximum likelihood (weak priors μ ~ N(0, 3²), log σ ~ N(0, 0.7²) in the latent scale keep a school
  whose pupils all got one mark finite) and reported in the metric of the pupils of all schools together (mean 0,
  SD 1), with standard errors by the delta method.

Example
-------
>>> counts = np.array([[10, 30, 40, 20], [30, 40, 25, 5], [5, 20, 45, 30]])
>>> h = hetop(counts)
>>> h.schools["mean"].round(1).tolist()
[0.1, -0.6, 0.5]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats


def _cdf(z, link):
    return special.expit(z) if link == "logit" else special.ndtr(z)


def _pdf(z, link):
    if link == "logit":
        e = special.expit(z)
        return e * (1 - e)
    return np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)


def _thresholds(raw: np.ndarray) -> np.ndarray:
    return np.concatenate([[raw[0]], raw[0] + np.cumsum(np.exp(raw[1:]))])


@dataclass
class OrderedFit:
    """Ordered model on counts: ``beta`` and ``thresholds`` with standard errors, log-likelihood and deviance."""
    beta: np.ndarray
    beta_se: np.ndarray
    thresholds: np.ndarray
    thresholds_se: np.ndarray
    loglik: float
    link: str
    converged: bool

    @property
    def deviance(self) -> float:
        return -2.0 * self.loglik


def _ordered_loglik(beta, c, counts, X, link):
    eta = X @ beta if X.shape[1] else np.zeros(len(counts))
    z = c[None, :] - eta[:, None]
    F = np.column_stack([np.zeros(len(z)), _cdf(z, link), np.ones(len(z))])
    p = np.clip(np.diff(F, axis=1), 1e-300, None)
    return float(np.sum(counts * np.log(p)))


def ordered_fit(counts, X=None, link: str = "logit") -> OrderedFit:
    """Fit an ordered logit (or probit) to ``counts`` (patterns × categories, lowest category first) with
    covariates ``X`` (patterns × p, no intercept: the thresholds are the intercepts). P(Y ≤ k) = F(c_k − xβ),
    as R's ``MASS::polr``.

    >>> fit = ordered_fit(np.array([[30, 40, 30]]))          # no covariates: thresholds are logits of cumulative shares
    >>> np.round(fit.thresholds, 4).tolist()
    [-0.8473, 0.8473]
    """
    if link not in ("logit", "probit"):
        raise ValueError(f"link = {link!r}: допустимо \"logit\" или \"probit\"")
    counts = np.asarray(counts, dtype=float)
    X = np.zeros((len(counts), 0)) if X is None else np.asarray(X, dtype=float).reshape(len(counts), -1)
    p, K = X.shape[1], counts.shape[1]
    cum = np.cumsum(counts.sum(axis=0))[:-1] / counts.sum()
    c0 = np.log(np.clip(cum, 1e-6, 1 - 1e-6) / (1 - np.clip(cum, 1e-6, 1 - 1e-6)))
    c0 = np.maximum.accumulate(c0 + np.arange(K - 1) * 1e-3)
    raw0 = np.concatenate([[c0[0]], np.log(np.maximum(np.diff(c0), 1e-3))])

    def nll(theta):
        return -_ordered_loglik(theta[:p], _thresholds(theta[p:]), counts, X, link)

    res = optimize.minimize(nll, np.concatenate([np.zeros(p), raw0]), method="BFGS",
                            options={"gtol": 1e-8, "maxiter": 2000})
    beta, c = res.x[:p], _thresholds(res.x[p:])
    from statsmodels.tools.numdiff import approx_hess3

    natural = np.concatenate([beta, c])
    H = approx_hess3(natural, lambda th: -_ordered_loglik(th[:p], th[p:], counts, X, link))
    cov = np.linalg.pinv(H)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    return OrderedFit(beta, se[:p], c, se[p:], -float(res.fun), link, bool(res.success))


# ---------------------------------------------------------------- HETOP

PRIOR_MEAN_SD = 3.0      # weak priors in the latent scale: finite estimates for one-mark schools
PRIOR_LOGSD_SD = 0.7


@dataclass
class Hetop:
    """HETOP result: per school ``n``, ``mean``, ``mean_se``, ``sd``, ``sd_se`` in the metric of all pupils
    (mean 0, SD 1); ``thresholds`` (with ``thresholds_se``) in the same metric."""
    schools: pd.DataFrame
    thresholds: np.ndarray
    thresholds_se: np.ndarray
    loglik: float
    converged: bool


def _hetop_parts(mu, gam, c, counts):
    """Per school × category: log p and the pieces of its derivatives (probit)."""
    s = np.exp(gam)
    z = (c[None, :] - mu[:, None]) / s[:, None]
    J = len(mu)
    zf = np.column_stack([np.full(J, -np.inf), z, np.full(J, np.inf)])
    F = special.ndtr(zf)
    p = np.clip(np.diff(F, axis=1), 1e-300, None)
    phi = np.exp(-0.5 * np.where(np.isfinite(zf), zf, 0.0) ** 2) / np.sqrt(2 * np.pi)
    phi = np.where(np.isfinite(zf), phi, 0.0)
    zphi = np.where(np.isfinite(zf), zf, 0.0) * phi
    return s, p, phi, zphi


def _hetop_objective(theta, counts, free):
    """Penalised negative log-likelihood and its gradient. theta = [μ (J), log σ (J), raw thresholds]; ``free``
    says which of the K − 1 thresholds are estimated (the first two are fixed at −1 and 1 to set the scale)."""
    J, K = counts.shape
    mu, gam = theta[:J], theta[J:2 * J]
    c = _hetop_thresholds(theta[2 * J:], K)
    s, p, phi, zphi = _hetop_parts(mu, gam, c, counts)
    ll = np.sum(counts * np.log(p)) - 0.5 * np.sum(mu ** 2) / PRIOR_MEAN_SD ** 2 \
        - 0.5 * np.sum(gam ** 2) / PRIOR_LOGSD_SD ** 2
    w = counts / p                                           # n_k / p_k
    dphi = phi[:, 1:] - phi[:, :-1]                          # φ(z_k) − φ(z_{k−1})
    dzphi = zphi[:, 1:] - zphi[:, :-1]
    g_mu = -np.sum(w * dphi, axis=1) / s - mu / PRIOR_MEAN_SD ** 2
    g_gam = -np.sum(w * dzphi, axis=1) - gam / PRIOR_LOGSD_SD ** 2
    # threshold m (0-based) enters categories m (upper bound) and m + 1 (lower bound)
    g_c = np.array([np.sum((w[:, m] - w[:, m + 1]) * phi[:, m + 1] / s) for m in range(K - 1)])
    g_raw = _hetop_threshold_jacobian(theta[2 * J:], K).T @ g_c
    return -ll, -np.concatenate([g_mu, g_gam, g_raw])


def _hetop_thresholds(raw: np.ndarray, K: int) -> np.ndarray:
    """c_1 = −1, c_2 = 1 fix location and scale; further thresholds follow by positive increments."""
    return np.concatenate([[-1.0, 1.0], 1.0 + np.cumsum(np.exp(raw))]) if K > 3 else np.array([-1.0, 1.0])[:K - 1]


def _hetop_threshold_jacobian(raw: np.ndarray, K: int) -> np.ndarray:
    jac = np.zeros((K - 1, len(raw)))
    e = np.exp(raw)
    for i in range(len(raw)):
        jac[2 + i:, i] = e[i]
    return jac


def _arrowhead(theta: np.ndarray, counts: np.ndarray, h: float = 1e-5):
    """Hessian blocks of the HETOP objective by differencing its analytic gradient: a school's parameters touch
    only its own and the thresholds', so moving every school's μ (then every log σ) at once, and each threshold
    in turn, gives A (J × 2 × 2, per school), B (J × 2 × q, school × thresholds) and C (q × q) in 2 + q gradient
    evaluations instead of 2J + q."""
    J = counts.shape[0]
    q = len(theta) - 2 * J
    g0 = _hetop_objective(theta, counts, None)[1]

    def moved(sl):
        step = np.zeros_like(theta)
        step[sl] = h
        return (_hetop_objective(theta + step, counts, None)[1] - g0) / h

    A, B, C = np.zeros((J, 2, 2)), np.zeros((J, 2, q)), np.zeros((q, q))
    for col, sl in ((0, slice(0, J)), (1, slice(J, 2 * J))):
        d = moved(sl)
        A[:, 0, col], A[:, 1, col] = d[:J], d[J:2 * J]
    for i in range(q):
        d = moved(slice(2 * J + i, 2 * J + i + 1))
        B[:, 0, i], B[:, 1, i], C[:, i] = d[:J], d[J:2 * J], d[2 * J:]
    return 0.5 * (A + A.transpose(0, 2, 1)), B, 0.5 * (C + C.T)


def hetop(counts, ids=None) -> Hetop:
    """Heteroskedastic ordered probit of mark counts (schools × marks, lowest mark first; at least 3 marks).

    Returns each school's mean and SD of the latent pupil scores in the metric of all pupils together (their
    mean 0, SD 1, weighting schools by pupils as SEDA does), with delta-method standard errors from the penalised
    Hessian (thresholds fixed at −1, 1 during the fit, then moved to that metric). The Hessian is an arrowhead
    (schools touch only the thresholds), inverted by its Schur complement: a region of 650 schools takes well
    under a second.
    """
    counts = np.asarray(counts, dtype=float)
    J, K = counts.shape
    if K < 3:
        raise ValueError("HETOP нужно не меньше трёх категорий отметок")
    n = counts.sum(axis=1)
    # start: school means from the probit of each school's mean category, common SD
    share = (counts * np.arange(K)).sum(axis=1) / np.maximum(n, 1) / (K - 1)
    mu0 = stats.norm.ppf(np.clip(share, 0.02, 0.98)) * 1.5
    theta0 = np.concatenate([mu0, np.zeros(J), np.zeros(max(K - 3, 0))])
    res = optimize.minimize(_hetop_objective, theta0, args=(counts, None), jac=True, method="L-BFGS-B",
                            options={"maxiter": 5000, "gtol": 1e-9})
    theta = res.x
    A, B, C = _arrowhead(theta, counts)
    Ainv = np.linalg.inv(A)
    U = Ainv @ B                                               # A⁻¹B, per school
    Sinv = np.linalg.inv(C - np.einsum("jai,jab->ib", B, U))   # inverse Schur complement (thresholds)

    def solve(b: np.ndarray) -> np.ndarray:
        """H⁻¹ b through the arrowhead structure (b laid out as theta)."""
        Ab = np.einsum("jab,jb->ja", Ainv, np.stack([b[:J], b[J:2 * J]], axis=1))
        xr = Sinv @ (b[2 * J:] - np.einsum("jai,ja->i", B, Ab))
        xj = Ab - np.einsum("jai,i->ja", U, xr)
        return np.concatenate([xj[:, 0], xj[:, 1], xr])

    # the metric of all pupils: m = Σ w μ, v = Σ w (σ² + (μ − m)²); each output is a direct part plus its
    # dependence on m and v, so its delta-method variance needs H⁻¹ only against ∇m and ∇v
    mu, sd = theta[:J], np.exp(theta[J:2 * J])
    c = _hetop_thresholds(theta[2 * J:], K)
    w = n / n.sum()
    m = np.sum(w * mu)
    v = np.sum(w * (sd ** 2 + (mu - m) ** 2))
    rv, q = np.sqrt(v), C.shape[0]
    grad_m = np.concatenate([w, np.zeros(J + q)])
    grad_v = np.concatenate([2 * w * (mu - m), 2 * w * sd ** 2, np.zeros(q)])
    Sm, Sv = solve(grad_m), solve(grad_v)
    mSm, vSv, mSv = grad_m @ Sm, grad_v @ Sv, grad_m @ Sv
    block = Ainv + np.einsum("jai,ik,jbk->jab", U, Sinv, U)   # each school's own 2 × 2 block of H⁻¹
    a_m, b_m, d_m = -1 / rv, -(mu - m) / (2 * v ** 1.5), 1 / rv
    var_mean = (d_m ** 2 * block[:, 0, 0] + a_m ** 2 * mSm + b_m ** 2 * vSv + 2 * a_m * d_m * Sm[:J]
                + 2 * b_m * d_m * Sv[:J] + 2 * a_m * b_m * mSv)
    d_s, b_s = sd / rv, -sd / (2 * v ** 1.5)
    var_sd = d_s ** 2 * block[:, 1, 1] + b_s ** 2 * vSv + 2 * b_s * d_s * Sv[J:2 * J]
    jac = _hetop_threshold_jacobian(theta[2 * J:], K) / rv
    a_c, b_c = -1 / rv, -(c - m) / (2 * v ** 1.5)
    var_c = (np.einsum("ki,ij,kj->k", jac, Sinv, jac) + a_c ** 2 * mSm + b_c ** 2 * vSv + 2 * a_c * (jac @ Sm[2 * J:])
             + 2 * b_c * (jac @ Sv[2 * J:]) + 2 * a_c * b_c * mSv)
    schools = pd.DataFrame({"school": np.arange(J) if ids is None else list(ids), "n": n, "mean": (mu - m) / rv,
                            "mean_se": np.sqrt(np.clip(var_mean, 0, None)), "sd": sd / rv,
                            "sd_se": np.sqrt(np.clip(var_sd, 0, None))})
    return Hetop(schools, (c - m) / rv, np.sqrt(np.clip(var_c, 0, None)), -float(res.fun), bool(res.success))
