"""Value added: guarded multilevel school effects, school-level context regression, cohort value added.

Why: a low result can come from the intake (ШНСУ) or from the school (ШНОР). The school's departure from what
its context predicts — its residual or random effect, with an interval — is its **value added** (DOMAIN §5).

Three tools, from richest to poorest data:

* ``school_effects`` — student-level ``statsmodels`` ``MixedLM`` with school random intercepts (and optional
  random slopes). statsmodels can stop at a wrong optimum, sometimes still saying ``converged=True``, and can
  collapse the school variance to 0. So the fit is *guarded*: several optimisers × several starting values, every
  attempt checked against an independent evaluation of the likelihood (written here from sufficient statistics),
  the best log-likelihood kept, the near-zero-variance boundary detected and the fixed part cross-checked
  against OLS with school-clustered errors. Validated against published tables (tests/test_effects.py).
* ``school_ols`` — school-level (W)OLS of school results on context with robust errors; residual = value added.
* ``cohort_value_added`` — ВПР participant codes are not linked across years, so a cohort is followed at school
  level: grade g in year t predicts grade g+1 in year t+1.

Messages meant for users (exceptions, ``warnings``) are in Russian.
"""
from __future__ import annotations

import time
import warnings as _warnings
from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

STARTS: tuple[str, ...] = ("default", "moments", "near_zero")
#: (optimizer, start) pairs tried by ``school_effects``: the gradient optimisers from every start (statsmodels'
#: own "default" start is the one that most often stops at a wrong optimum — on R&B Table 4.4 lbfgs from it reports
#: converged=True 2.3 log-likelihood units below the optimum), the derivative-free ones from the moment start.
#: "cg" is supported but left out: on the HSB models it was the slowest and often did not converge.
DEFAULT_ATTEMPTS: tuple[tuple[str, str], ...] = (
    ("lbfgs", "default"), ("lbfgs", "moments"), ("lbfgs", "near_zero"),
    ("bfgs", "default"), ("bfgs", "moments"), ("bfgs", "near_zero"),
    ("powell", "moments"), ("nm", "moments"))
#: school (or slope) variance / residual variance below this counts as "on the boundary" (ICC below 0.1 %).
DEFAULT_BOUNDARY_RATIO = 1e-3
#: a converged fit whose log-likelihood is this much below the best one is reported as a false convergence.
LOGLIK_TOLERANCE = 1e-3
INTERCEPT = "Intercept"


def _z(level: float) -> float:
    return float(stats.norm.ppf((1 + level) / 2))


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"Уровень доверия level = {level!r}: ожидается число строго между 0 и 1, например 0.95")


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], numeric: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"В таблице нет столбцов: {', '.join(map(str, missing))}; есть: "
                         f"{', '.join(map(str, frame.columns))}")
    bad = [c for c in numeric
           if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]
    if bad:
        raise ValueError(f"Столбцы должны быть числовыми (категории закодируйте заранее, например 0/1): "
                         f"{', '.join(map(str, bad))}")


# ---------------------------------------------------------------------------------------------------------------
# Independent likelihood of the two-level model, from per-school sufficient statistics
# ---------------------------------------------------------------------------------------------------------------

class _TwoLevel:
    """Gaussian two-level model y = X b + Z u + e, u ~ N(0, T) per school, e ~ N(0, s2 I).

    Everything is computed from per-school Z'Z, Z'X, Z'y and totals X'X, X'y, y'y with the push-through identity
    V^-1 = (I - Z T A^-1 Z') / s2, A = s2 I + Z'Z T, log|V| = (n - q) log s2 + log|A|, valid for singular T (the
    boundary). Used to re-evaluate every statsmodels attempt, for the gradient/Hessian checks, for the standard
    errors of the variance components and for the GLS covariance of the fixed effects.
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, Z: np.ndarray, codes: np.ndarray, n_groups: int):
        self.n, self.p = X.shape
        self.q = Z.shape[1]
        self.ZZ = np.zeros((n_groups, self.q, self.q))
        self.ZX = np.zeros((n_groups, self.q, self.p))
        self.Zy = np.zeros((n_groups, self.q))
        np.add.at(self.ZZ, codes, Z[:, :, None] * Z[:, None, :])
        np.add.at(self.ZX, codes, Z[:, :, None] * X[:, None, :])
        np.add.at(self.Zy, codes, Z * y[:, None])
        self.XX, self.Xy, self.yy = X.T @ X, X.T @ y, float(y @ y)

    def pieces(self, T: np.ndarray, s2: float):
        """(X'V^-1X, X'V^-1y, y'V^-1y, log|V|), or None when (T, s2) is not a valid covariance."""
        if not np.isfinite(s2) or s2 <= 0 or not np.all(np.isfinite(T)):
            return None
        if np.linalg.eigvalsh(T).min() < -1e-10 * max(1.0, np.abs(T).max()):
            return None
        A = s2 * np.eye(self.q) + self.ZZ @ T
        sign, logdet_a = np.linalg.slogdet(A)
        if np.any(sign <= 0):
            return None
        Ainv = np.linalg.inv(A)
        TA = np.einsum("qr,grs->gqs", T, Ainv)
        xvx = (self.XX - np.einsum("gqp,gqs,gsr->pr", self.ZX, TA, self.ZX)) / s2
        xvy = (self.Xy - np.einsum("gqp,gqs,gs->p", self.ZX, TA, self.Zy)) / s2
        yvy = (self.yy - np.einsum("gq,gqs,gs->", self.Zy, TA, self.Zy)) / s2
        logdet = (self.n - self.q * len(self.ZZ)) * np.log(s2) + float(np.sum(logdet_a))
        return xvx, xvy, yvy, logdet

    def loglik(self, T: np.ndarray, s2: float, reml: bool) -> float:
        """ML or REML log-likelihood (fixed effects profiled out), same constants as statsmodels MixedLM."""
        got = self.pieces(T, s2)
        if got is None:
            return -np.inf
        xvx, xvy, yvy, logdet = got
        try:
            beta = np.linalg.solve(xvx, xvy)
        except np.linalg.LinAlgError:
            return -np.inf
        quad = yvy - xvy @ beta
        if reml:
            sign, ld = np.linalg.slogdet(xvx)
            if sign <= 0:
                return -np.inf
            return float(-0.5 * ((self.n - self.p) * np.log(2 * np.pi) + logdet + ld + quad))
        return float(-0.5 * (self.n * np.log(2 * np.pi) + logdet + quad))

    def gls(self, T: np.ndarray, s2: float) -> tuple[np.ndarray, np.ndarray]:
        """GLS fixed effects and their covariance (X'V^-1X)^-1 at (T, s2)."""
        xvx, xvy, _, _ = self.pieces(T, s2)
        cov = np.linalg.inv(xvx)
        return cov @ xvy, cov


def _theta_names(q: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(q) for j in range(i + 1)]


def _unpack(theta: np.ndarray, q: int) -> tuple[np.ndarray, float]:
    T = np.zeros((q, q))
    for k, (i, j) in enumerate(_theta_names(q)):
        T[i, j] = T[j, i] = theta[k]
    return T, float(theta[-1])


def _derivatives(model: _TwoLevel, theta: np.ndarray, free: np.ndarray, reml: bool):
    """Central-difference gradient and Hessian of the log-likelihood in the natural parameters (vech T, s2).

    Only ``free`` parameters move (variances on the boundary and covariances touching them stay fixed).
    """
    q = model.q
    names = _theta_names(q)
    s2 = theta[-1]
    T, _ = _unpack(theta, q)
    steps = np.empty(len(theta))
    for k, (i, j) in enumerate(names):
        steps[k] = 1e-4 * (np.sqrt(max(T[i, i] * T[j, j], 0.0)) if i != j else max(T[i, i], 1e-6 * s2))
    steps[-1] = 1e-4 * s2
    idx = np.flatnonzero(free)

    def f(d):
        t = theta.copy()
        t[idx] += d
        return model.loglik(*_unpack(t, q), reml)

    h = steps[idx]
    f0 = f(np.zeros(len(idx)))
    grad = np.empty(len(idx))
    hess = np.empty((len(idx), len(idx)))
    e = np.eye(len(idx)) * h
    for a in range(len(idx)):
        fp, fm = f(e[a]), f(-e[a])
        grad[a] = (fp - fm) / (2 * h[a])
        hess[a, a] = (fp - 2 * f0 + fm) / h[a] ** 2
        for b in range(a):
            val = (f(e[a] + e[b]) - f(e[a] - e[b]) - f(-e[a] + e[b]) + f(-e[a] - e[b])) / (4 * h[a] * h[b])
            hess[a, b] = hess[b, a] = val
    return idx, grad, hess


# ---------------------------------------------------------------------------------------------------------------
# school_effects
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SchoolEffects:
    """Result of ``school_effects``: a guarded two-level fit and the schools' value added.

    fixed: term, estimate, se, z, p, ci_low, ci_high (GLS at the chosen variance components; normal intervals).
    variance: component ("school", "school × x", "cov(school, x)", "residual"), estimate, se (observed
        information in the natural parameters; NaN for a component on the boundary).
    effects: one row per school: school, n, effect (empirical-Bayes random intercept = conditional mode), se
        (square root of the conditional variance given the data, statsmodels ``random_effects_cov``; it ignores the
        uncertainty of the fixed effects), ci_low, ci_high; plus effect_<x>/se_<x> for each random slope.
    attempts: every optimiser × start tried: optimizer, start, loglik (statsmodels), loglik_check (recomputed
        here), converged (statsmodels' own flag), valid (finite, consistent, PSD covariance), max_scaled_grad
        (largest |d loglik / d theta| × se over free parameters: ~0 at a true interior optimum), school_var,
        residual_var, seconds, error.
    ols: the same fixed part by OLS with school-clustered errors next to the mixed estimates (difference, and the
        difference in OLS standard errors).
    boundary: a variance component is ≈ 0 relative to the residual variance (see ``warnings``).
    """

    fixed: pd.DataFrame
    variance: pd.DataFrame
    loglik: float
    method: str
    optimizer: str
    start: str
    converged: bool
    boundary: bool
    attempts: pd.DataFrame
    ols: pd.DataFrame
    effects: pd.DataFrame
    n_obs: int
    n_groups: int
    dropped_rows: int
    warnings: list[str] = field(default_factory=list)
    level: float = 0.95

    def var(self, component: str) -> float:
        """Estimate of one variance component by name, e.g. ``var("school")``, ``var("residual")``."""
        row = self.variance.loc[self.variance["component"] == component, "estimate"]
        if row.empty:
            raise KeyError(f"Нет компоненты дисперсии {component!r}; есть: {', '.join(self.variance['component'])}")
        return float(row.iloc[0])

    @property
    def icc(self) -> float:
        """Share of the (conditional) outcome variance between schools: school / (school + residual).

        With random slopes this is the ICC for a pupil whose slope covariates are 0.
        """
        school, resid = self.var("school"), self.var("residual")
        return school / (school + resid)

    @property
    def deviance(self) -> float:
        """-2 log-likelihood (for ML fits comparable with MLwiN's "-2*loglikelihood")."""
        return -2.0 * self.loglik


def _component_names(school: str, slopes: Sequence[str]) -> list[str]:
    labels = ["school"] + [f"school × {s}" for s in slopes]
    names = []
    for i, j in _theta_names(len(labels)):
        if i == j:
            names.append(labels[i])
        elif j == 0:
            names.append(f"cov(school, {slopes[i - 1]})")
        else:
            names.append(f"cov({labels[j]}, {labels[i]})")
    return names + ["residual"]


def _moment_start(y, X, Z, codes, n_groups) -> tuple[np.ndarray, np.ndarray, float]:
    """OLS fixed effects and ANOVA-type moment estimates of (T, s2) as a starting point."""
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    r = y - X @ beta
    counts = np.bincount(codes, minlength=n_groups).astype(float)
    means = np.bincount(codes, weights=r, minlength=n_groups) / np.maximum(counts, 1)
    within = r - means[codes]
    s2 = float(np.sum(within**2) / max(len(y) - n_groups, 1))
    if not np.isfinite(s2) or s2 <= 0:
        s2 = float(np.var(r)) or 1.0
    n0 = (len(y) - np.sum(counts**2) / len(y)) / max(n_groups - 1, 1)
    between = float(np.sum(counts * means**2) / max(n_groups - 1, 1))
    tau = max((between - s2) / max(n0, 1.0), 0.05 * s2)
    q = Z.shape[1]
    T = np.eye(q) * 0.05 * s2 / np.maximum(np.var(Z, axis=0), 1e-12)
    T[0, 0] = tau
    return beta, T, s2


def school_effects(data: pd.DataFrame, outcome: str, school: str, covariates: Sequence[str] = (),
                   school_covariates: Sequence[str] = (), random_slopes: Sequence[str] = (),
                   method: Literal["reml", "ml"] = "reml", level: float = 0.95, *,
                   boundary_ratio: float = DEFAULT_BOUNDARY_RATIO,
                   attempts: Sequence[tuple[str, str]] = DEFAULT_ATTEMPTS) -> SchoolEffects:
    """Two-level model of ``outcome`` with school random intercepts; the schools' EB effects are their value added.

    Model: outcome = Intercept + covariates + school_covariates + u_school (+ u_slope × slope) + e. ``covariates``
    are pupil-level numeric columns, ``school_covariates`` numeric columns constant within each school (checked),
    ``random_slopes`` a subset of ``covariates`` whose effect varies by school (correlated with the intercept).
    Categories must be coded beforehand (0/1 columns); interactions too (a product column).
    Rows with NA in a used column are dropped and counted (``dropped_rows``).

    Guarded fit: every (optimizer, start) pair in ``attempts`` is fitted (optimizer: a statsmodels/scipy name such
    as "lbfgs", "bfgs", "powell", "nm", "cg"; start: "default" — statsmodels' own, zero fixed effects and school
    variance = residual variance; "moments" — OLS fixed effects and ANOVA moment estimates of the variances;
    "near_zero" — school variance 1 % of the residual one). ``DEFAULT_ATTEMPTS`` has 8 pairs, 4 optimisers.
    Every attempt is re-evaluated with an independent implementation of the (RE)ML likelihood; an attempt is valid
    when its log-likelihood is finite and matches, and the random-effects covariance is positive semi-definite.
    The valid attempt with the highest log-likelihood is kept; statsmodels' ``converged`` flag alone is never
    trusted. A warning is added when a "converged" attempt stopped at a worse optimum, when the kept one has a
    non-zero gradient, or when a variance is on the boundary: school (or slope) variance / residual variance
    < ``boundary_ratio`` (default 1e-3, i.e. ICC < 0.1 %) — then school effects are ≈ 0 and the fixed effects
    equal OLS. The fixed part is also fitted by OLS with school-clustered errors and compared (``ols``).

    >>> rng = np.random.default_rng(1)
    >>> school = np.repeat(np.arange(30), 20)
    >>> x = rng.normal(size=600)
    >>> y = 1 + 0.5 * x + rng.normal(0, 0.5, 30)[school] + rng.normal(size=600)
    >>> fit = school_effects(pd.DataFrame({"y": y, "x": x, "school": school}), "y", "school", ["x"])
    >>> fit.fixed.set_index("term")["estimate"].round(1).tolist(), fit.boundary, len(fit.effects)
    ([1.1, 0.5], False, 30)
    >>> 0.1 < fit.icc < 0.4
    True
    """
    _check_level(level)
    if method not in ("reml", "ml"):
        raise ValueError(f"Метод method = {method!r}: ожидается \"reml\" или \"ml\"")
    covariates, school_covariates, random_slopes = list(covariates), list(school_covariates), list(random_slopes)
    extra = [s for s in random_slopes if s not in covariates]
    if extra:
        raise ValueError(f"Случайный наклон возможен только для ковариат ученического уровня (covariates): "
                         f"{', '.join(extra)}")
    overlap = set(covariates) & set(school_covariates)
    if overlap or len(set(covariates + school_covariates)) != len(covariates + school_covariates):
        raise ValueError(f"Столбец указан дважды среди ковариат: {', '.join(sorted(overlap)) or 'повтор'}")
    attempts = [(str(o), str(st)) for o, st in attempts]
    if not attempts:
        raise ValueError("Нужна хотя бы одна попытка подбора (оптимизатор, начальное приближение)")
    unknown = sorted({st for _, st in attempts if st not in STARTS})
    if unknown:
        raise ValueError(f"Неизвестные начальные приближения: {', '.join(unknown)}; есть: {', '.join(STARTS)}")
    terms = covariates + school_covariates
    _check_columns(data, [outcome, school] + terms, [outcome] + terms)

    used = data[[school, outcome] + terms]
    keep = used.notna().all(axis=1)
    frame = used.loc[keep]
    dropped = int((~keep).sum())
    groups, labels = pd.factorize(frame[school], sort=True)
    n_groups = len(labels)
    if n_groups < 2:
        raise ValueError(f"Для модели нужны хотя бы 2 школы с полными данными, найдено {n_groups}")
    for c in school_covariates:
        spread = frame.groupby(school)[c].agg(lambda s: s.max() - s.min())
        if (spread > 1e-9 * max(1.0, float(frame[c].abs().max()))).any():
            bad = ", ".join(map(str, spread[spread > 0].index[:5]))
            raise ValueError(f"Школьная ковариата «{c}» меняется внутри школы (например, школы {bad}); "
                             f"для ученических переменных используйте covariates")

    y = frame[outcome].to_numpy(float)
    X = np.column_stack([np.ones(len(frame))] + [frame[c].to_numpy(float) for c in terms])
    Z = np.column_stack([np.ones(len(frame))] + [frame[c].to_numpy(float) for c in random_slopes])
    names = [INTERCEPT] + terms
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("Ковариаты линейно зависимы (например, постоянный столбец или дублирующие переменные)")
    reml = method == "reml"
    q = Z.shape[1]
    lik = _TwoLevel(y, X, Z, groups, n_groups)
    model = MixedLM(y, X, groups=groups, exog_re=Z)

    beta0, T0, s20 = _moment_start(y, X, Z, groups, n_groups)
    start_params = {"default": None,
                    "moments": MixedLMParams.from_components(beta0, cov_re=T0 / s20),
                    "near_zero": MixedLMParams.from_components(
                        beta0, cov_re=np.diag(np.r_[0.01, np.diag(T0)[1:] / s20 * 0.2]))}

    rows, fits = [], []
    for opt, st in attempts:
        t0 = time.perf_counter()
        row = {"optimizer": opt, "start": st, "loglik": np.nan, "loglik_check": np.nan, "converged": False,
               "valid": False, "max_scaled_grad": np.nan, "school_var": np.nan, "residual_var": np.nan,
               "seconds": np.nan, "error": ""}
        res = None
        try:
            with _warnings.catch_warnings():
                _warnings.simplefilter("ignore")
                sp = start_params[st]
                res = model.fit(start_params=None if sp is None else sp.copy(), reml=reml, method=[opt])
            T, s2 = np.asarray(res.cov_re, float), float(res.scale)
            row.update(loglik=float(res.llf), converged=bool(res.converged), school_var=float(T[0, 0]),
                       residual_var=s2)
            check = lik.loglik(T, s2, reml)
            row["loglik_check"] = check
            consistent = np.isfinite(row["loglik"]) and np.isfinite(check) and \
                abs(row["loglik"] - check) <= 1e-6 * max(1.0, abs(check))
            if not consistent:
                row["error"] = "лог-правдоподобие не воспроизводится по параметрам"
            elif not np.all(np.isfinite(res.fe_params)):
                row["error"] = "нечисловые фиксированные эффекты"
            else:
                row["valid"] = True
        except Exception as exc:  # a failing optimiser is an outcome to record, not a crash
            row["error"] = f"{type(exc).__name__}: {exc}"[:200]
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
        fits.append(res)

    attempts = pd.DataFrame(rows)  # from here on: the record of every attempt
    valid = attempts.index[attempts["valid"]]
    if len(valid) == 0:
        raise RuntimeError("Смешанная модель не подобрана ни одним оптимизатором; попытки: "
                           + "; ".join(f"{r.optimizer}/{r.start}: {r.error or 'нет решения'}"
                                       for r in attempts.itertuples()))

    # Per-attempt gradient check in the natural parameters (cheap: a few dozen likelihood evaluations).
    comp = _component_names(school, random_slopes)
    for i in valid:
        res = fits[i]
        T, s2 = np.asarray(res.cov_re, float), float(res.scale)
        free = _free_mask(T, s2, Z, boundary_ratio)
        theta = np.r_[[T[a, b] for a, b in _theta_names(q)], s2]
        idx, grad, hess = _derivatives(lik, theta, free, reml)
        se = _se_from_hessian(hess)
        attempts.loc[i, "max_scaled_grad"] = _scaled_gradient(grad, se) if len(idx) else 0.0

    best_ll = attempts.loc[valid, "loglik_check"].max()
    near = attempts.loc[valid][attempts.loc[valid, "loglik_check"] >= best_ll - 1e-6]
    order = near.sort_values(["converged", "max_scaled_grad"], ascending=[False, True])
    chosen = int(order.index[0])
    res = fits[chosen]
    T, s2 = np.asarray(res.cov_re, float), float(res.scale)
    T = (T + T.T) / 2
    loglik = float(attempts.loc[chosen, "loglik_check"])
    notes: list[str] = []
    if dropped:
        notes.append(f"Исключено строк с пропусками в используемых столбцах: {dropped} из {len(data)}.")
    if n_groups < 10:
        notes.append(f"Мало школ ({n_groups}): оценки дисперсий и эффектов школ ненадёжны.")

    # Variance components with standard errors from the observed information.
    free = _free_mask(T, s2, Z, boundary_ratio)
    theta = np.r_[[T[a, b] for a, b in _theta_names(q)], s2]
    idx, grad, hess = _derivatives(lik, theta, free, reml)
    se_theta = np.full(len(theta), np.nan)
    se_free = _se_from_hessian(hess)
    se_theta[idx] = se_free
    variance = pd.DataFrame({"component": comp, "estimate": theta, "se": se_theta})

    boundary_parts = [comp[k] for k, (a, b) in enumerate(_theta_names(q)) if a == b and not free[k]]
    boundary = bool(boundary_parts)
    if "school" in boundary_parts:
        share = T[0, 0] / (T[0, 0] + s2)
        notes.append(f"Дисперсия между школами близка к нулю (доля в общей дисперсии {share:.2%}, порог "
                     f"{boundary_ratio:g} от остаточной): модель вырождается в обычную регрессию, эффекты школ ≈ 0, "
                     f"фиксированные эффекты совпадают с МНК.")
    for part in boundary_parts:
        if part != "school":
            notes.append(f"Дисперсия случайного наклона «{part}» близка к нулю: наклон можно считать общим "
                         f"для всех школ и убрать из случайной части.")
    scaled_grad = _scaled_gradient(grad, se_free) if len(idx) else 0.0
    if not np.all(np.isfinite(se_free)) or scaled_grad > 0.05:
        notes.append(f"Лучшее решение ({attempts.loc[chosen, 'optimizer']}/{attempts.loc[chosen, 'start']}) не "
                     f"прошло проверку оптимальности (градиент × ст. ошибка = {scaled_grad:.3g}); результаты "
                     f"приблизительны.")
    false_conv = attempts[attempts["valid"] & attempts["converged"]
                          & (attempts["loglik_check"] < loglik - LOGLIK_TOLERANCE)]
    invalid_conv = attempts[~attempts["valid"] & attempts["converged"]]
    if len(false_conv) or len(invalid_conv):
        bad = ", ".join(f"{r.optimizer}/{r.start}" for r in pd.concat([false_conv, invalid_conv]).itertuples())
        notes.append(f"Часть попыток сообщила о сходимости, но остановилась в худшей или некорректной точке "
                     f"({bad}); выбрано решение с наибольшим правдоподобием "
                     f"({attempts.loc[chosen, 'optimizer']}/{attempts.loc[chosen, 'start']}), сбой отдельных "
                     f"попыток на результат не влияет.")

    # Fixed effects: GLS at the chosen variance components.
    beta, cov_beta = lik.gls(T, s2)
    se_beta = np.sqrt(np.diag(cov_beta))
    zc = _z(level)
    zval = beta / se_beta
    fixed = pd.DataFrame({"term": names, "estimate": beta, "se": se_beta, "z": zval,
                          "p": 2 * stats.norm.sf(np.abs(zval)), "ci_low": beta - zc * se_beta,
                          "ci_high": beta + zc * se_beta})

    # OLS cross-check with school-clustered errors.
    ols_fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups})
    ols_se = np.asarray(ols_fit.bse, float)
    diff = beta - np.asarray(ols_fit.params, float)
    ols = pd.DataFrame({"term": names, "estimate": np.asarray(ols_fit.params, float), "se": ols_se,
                        "mixed_estimate": beta, "mixed_se": se_beta, "difference": diff,
                        "difference_in_se": diff / ols_se})
    far = ols.loc[ols["difference_in_se"].abs() > 3, "term"].tolist()
    if far:
        notes.append(f"Оценки смешанной модели и МНК расходятся более чем на 3 ст. ошибки для: {', '.join(far)} "
                     f"(эффект внутри школ может отличаться от эффекта между школами; проверьте спецификацию).")

    # Empirical-Bayes school effects (conditional modes) with conditional standard errors.
    re, re_cov = res.random_effects, res.random_effects_cov
    counts = np.bincount(groups, minlength=n_groups)
    eff = np.array([np.asarray(re[g], float) for g in range(n_groups)])
    eff_se = np.array([np.sqrt(np.clip(np.diag(np.asarray(re_cov[g], float)), 0, None)) for g in range(n_groups)])
    effects = pd.DataFrame({"school": labels, "n": counts, "effect": eff[:, 0], "se": eff_se[:, 0],
                            "ci_low": eff[:, 0] - zc * eff_se[:, 0], "ci_high": eff[:, 0] + zc * eff_se[:, 0]})
    for k, s in enumerate(random_slopes, start=1):
        effects[f"effect_{s}"] = eff[:, k]
        effects[f"se_{s}"] = eff_se[:, k]

    return SchoolEffects(fixed=fixed, variance=variance, loglik=loglik, method=method,
                         optimizer=str(attempts.loc[chosen, "optimizer"]), start=str(attempts.loc[chosen, "start"]),
                         converged=bool(attempts.loc[chosen, "converged"]), boundary=boundary, attempts=attempts,
                         ols=ols, effects=effects, n_obs=len(frame), n_groups=n_groups, dropped_rows=dropped,
                         warnings=notes, level=level)


def _scaled_gradient(grad: np.ndarray, se: np.ndarray) -> float:
    """Largest |gradient| × se over the parameters with a finite se; inf when the gradient itself is not finite
    (a NaN would pass every «> tolerance» check silently).

    >>> _scaled_gradient(np.array([0.1, 2.0]), np.array([0.5, np.nan])), _scaled_gradient(np.array([np.nan]), np.ones(1))
    (0.05, inf)
    """
    grad = np.asarray(grad, dtype=float)
    if not np.all(np.isfinite(grad)):
        return float("inf")
    return float(np.max(np.abs(grad) * np.where(np.isfinite(se), se, 0.0)))


def _free_mask(T: np.ndarray, s2: float, Z: np.ndarray, boundary_ratio: float) -> np.ndarray:
    """Which natural parameters (vech T, s2) are interior: variances above the boundary, covariances between them."""
    q = T.shape[0]
    spread = np.r_[1.0, np.var(Z[:, 1:], axis=0)] if q > 1 else np.array([1.0])
    interior = np.diag(T) * spread > boundary_ratio * s2
    mask = [bool(interior[i] and interior[j]) for i, j in _theta_names(q)]
    return np.array(mask + [True])


def _se_from_hessian(hess: np.ndarray) -> np.ndarray:
    if hess.size == 0:
        return np.zeros(0)
    try:
        cov = np.linalg.inv(-hess)
    except np.linalg.LinAlgError:
        return np.full(len(hess), np.nan)
    d = np.diag(cov)
    return np.where(d > 0, np.sqrt(np.where(d > 0, d, 1.0)), np.nan)


# ---------------------------------------------------------------------------------------------------------------
# school_ols
# ---------------------------------------------------------------------------------------------------------------

def _prediction_se(X: np.ndarray, cov_b: np.ndarray, scale: float, w: np.ndarray) -> np.ndarray:
    return np.sqrt(scale / w + np.einsum("ip,pq,iq->i", X, cov_b, X))


def school_ols(frame: pd.DataFrame, outcome: str, covariates: Sequence[str], weights: str | None = None,
               cov_type: str = "HC3", level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """School-level regression of results on context; the residual is the school's value added.

    OLS, or WLS with ``weights`` (e.g. participants: Var(result) ∝ 1 / participants), with ``cov_type`` robust
    errors (statsmodels name; "HC3" by default). Rows with NA in a used column or non-positive weight are left
    out of the fit.

    Returns (coefficients, rows). coefficients: term, estimate, se, p, ci_low, ci_high (statsmodels' robust
    inference). rows: a copy of ``frame`` (same index, all rows) with ``predicted`` (where the covariates are
    known), ``residual`` = outcome - predicted (value added), ``residual_se`` and ``ci_low``/``ci_high`` =
    residual ± z · residual_se, where residual_se = sqrt(s² / w_i + x_i' V x_i) is the prediction-error SD (s² the
    residual variance per unit weight, V the robust covariance of the coefficients, w_i = 1 without weights).
    So the interval excludes 0 exactly when the school lies outside the ``level`` prediction band of the context
    model — its result is not explained by its context; small schools (small w_i) get wider intervals.

    >>> f = pd.DataFrame({"x": [0, 1, 2, 3, 4, 5.0], "y": [1, 3, 5, 7, 9, 11.0]})
    >>> coef, rows = school_ols(f, "y", ["x"])
    >>> coef["estimate"].round(6).tolist(), bool(rows["residual"].abs().max() < 1e-9)
    ([1.0, 2.0], True)
    """
    _check_level(level)
    covariates = list(covariates)
    cols = [outcome] + covariates + ([weights] if weights else [])
    _check_columns(frame, cols, cols)
    Xall = np.column_stack([np.ones(len(frame))] + [frame[c].to_numpy(float) for c in covariates])
    yall = frame[outcome].to_numpy(float)
    wall = frame[weights].to_numpy(float) if weights else np.ones(len(frame))
    has_x = np.all(np.isfinite(Xall), axis=1)
    fit_rows = has_x & np.isfinite(yall) & np.isfinite(wall) & (wall > 0)
    k = Xall.shape[1]
    if fit_rows.sum() <= k:
        raise ValueError(f"Недостаточно школ с полными данными для регрессии: {int(fit_rows.sum())} при {k} "
                         f"оцениваемых коэффициентах")
    X, y, w = Xall[fit_rows], yall[fit_rows], wall[fit_rows]
    if np.linalg.matrix_rank(X) < k:
        raise ValueError("Ковариаты линейно зависимы (например, постоянный столбец или дублирующие переменные)")
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        res = (sm.WLS(y, X, weights=w) if weights else sm.OLS(y, X)).fit(cov_type=cov_type)
    params = np.asarray(res.params, float)
    ci = np.asarray(res.conf_int(alpha=1 - level), float)
    coefficients = pd.DataFrame({"term": [INTERCEPT] + covariates, "estimate": params,
                                 "se": np.asarray(res.bse, float), "p": np.asarray(res.pvalues, float),
                                 "ci_low": ci[:, 0], "ci_high": ci[:, 1]})
    cov_b = np.asarray(res.cov_params(), float)
    rows = frame.copy()
    pred = np.full(len(frame), np.nan)
    pred[has_x] = Xall[has_x] @ params
    resid = yall - pred
    pe = np.full(len(frame), np.nan)
    ok = has_x & np.isfinite(wall) & (wall > 0)
    pe[ok] = _prediction_se(Xall[ok], cov_b, float(res.scale), wall[ok])
    zc = _z(level)
    rows["predicted"] = pred
    rows["residual"] = resid
    rows["residual_se"] = np.where(np.isfinite(resid), pe, np.nan)
    rows["ci_low"] = resid - zc * rows["residual_se"]
    rows["ci_high"] = resid + zc * rows["residual_se"]
    return coefficients, rows


# ---------------------------------------------------------------------------------------------------------------
# cohort_value_added
# ---------------------------------------------------------------------------------------------------------------

def cohort_pairs(results: pd.DataFrame, school: str = "school_id", year: str = "year", grade: str = "grade",
                 subject: str = "subject", value: str = "mean_pct", n: str = "participants",
                 covariates: Sequence[str] = (), sd: str | None = None) -> pd.DataFrame:
    """Pairs (school, subject, grade g year t) → (grade g+1, year t+1): one row per followed cohort.

    Columns: school, subject, year_from, year_to, grade_from, grade_to, value_from, value_to, n_from, n_to,
    [sd_from, sd_to (the within-school SDs, with ``sd``)] and the covariates of the later year. Rows with NA in
    a used column are not paired.
    """
    covariates = list(covariates)
    cols = [school, year, grade, subject, value, n] + ([sd] if sd else []) + covariates
    _check_columns(results, cols, [year, grade, value, n] + ([sd] if sd else []) + covariates)
    df = results[cols].dropna()
    dup = df.duplicated([school, year, grade, subject])
    if dup.any():
        ex = df.loc[dup, [school, year, grade, subject]].iloc[0].tolist()
        raise ValueError(f"Несколько строк на одну школу, год, класс и предмет (например, {ex}); "
                         f"сначала сведите результаты к одной строке")
    early = df[[school, subject, year, grade, value, n] + ([sd] if sd else [])].rename(
        columns={year: "year_from", grade: "grade_from", value: "value_from", n: "n_from", **({sd: "sd_from"} if sd else {})})
    late = df.rename(columns={year: "year_to", grade: "grade_to", value: "value_to", n: "n_to",
                              **({sd: "sd_to"} if sd else {})})
    early = early.assign(year_to=early["year_from"] + 1, grade_to=early["grade_from"] + 1)
    pairs = early.merge(late, on=[school, subject, "year_to", "grade_to"], how="inner")
    pairs = pairs.rename(columns={school: "school", subject: "subject"})
    order = ["school", "subject", "year_from", "year_to", "grade_from", "grade_to", "value_from", "value_to",
             "n_from", "n_to"] + (["sd_from", "sd_to"] if sd else []) + covariates
    return pairs[order].sort_values(["subject", "school", "year_from", "grade_from"]).reset_index(drop=True)


def _start_reliability(part: pd.DataFrame, w: np.ndarray, noise: np.ndarray) -> float:
    """Share of the start's weighted spread within (grade pair, year pair) cells that is not sampling noise."""
    x = part["value_from"].to_numpy(float)
    mean = pd.Series(w * x).groupby(part["cell"].to_numpy()).transform("sum") / \
        pd.Series(w).groupby(part["cell"].to_numpy()).transform("sum")
    spread = float(np.sum(w * (x - mean.to_numpy()) ** 2))
    return 1 - float(np.sum(w * noise)) / spread if spread > 0 else 0.0


def _fit_cohorts(X: np.ndarray, y: np.ndarray, w: np.ndarray, noise: np.ndarray | None, col: int,
                 groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(β, covariance) of the weighted fit, corrected for the sampling noise (variance ``noise``) of column
    ``col`` when given; the covariance is the sandwich of the estimating equation, clustered by school (a
    school's pairs share its value added)."""
    M = X.T @ (X * w[:, None])
    if noise is not None:
        M[col, col] -= float(np.sum(w * noise))
    beta = np.linalg.solve(M, X.T @ (w * y))
    e = y - X @ beta
    psi = X * (w * e)[:, None]
    if noise is not None:
        psi[:, col] += w * noise * beta[col]      # the estimating function Σ w x (y − x'β) + w σ² β_b = 0
    psi = pd.DataFrame(psi).groupby(groups).sum().to_numpy()
    inv = np.linalg.inv(M)
    g, n, k = len(psi), len(y), X.shape[1]
    factor = g / max(g - 1, 1) * (n - 1) / max(n - k, 1)   # the usual small-sample factor of clustered errors
    return beta, factor * inv @ (psi.T @ psi) @ inv


def _sampling_variance(part: pd.DataFrame, e2: np.ndarray, slope: float, known: bool) -> np.ndarray:
    """Each pair's sampling variance: from the pupils' SDs when known (sd_to²/n_to + b²·sd_from²/n_from: the
    outcome's noise and the start's, carried by the slope), else σ²/n_to with σ² by moments (least squares of
    the squared residuals ``e2`` on (1, 1/n), whose slope is σ²)."""
    n = part["n_to"].to_numpy(float)
    if known:
        return (part["sd_to"].to_numpy(float) ** 2 / n
                + slope**2 * part["sd_from"].to_numpy(float) ** 2 / part["n_from"].to_numpy(float))
    (_tau2, sigma2), *_ = np.linalg.lstsq(np.column_stack([np.ones_like(n), 1 / n]), e2, rcond=None)
    if sigma2 <= 0:                     # no size gradient to read: all residual variance taken as sampling noise
        sigma2 = float(np.mean(e2 * n))
    return sigma2 / n


def cohort_value_added(results: pd.DataFrame, school: str = "school_id", year: str = "year", grade: str = "grade",
                       subject: str = "subject", value: str = "mean_pct", n: str = "participants",
                       covariates: Sequence[str] = (), level: float = 0.95, *, per_year_pair: bool = False,
                       min_cell: int = 3, sd: str | None = None, min_reliability: float = 0.2) -> pd.DataFrame:
    """School-level cohort value added: does a school's cohort do better next year than its start predicts?

    ВПР participant codes are not linked across years, so each cohort is followed at school level: the school's
    result in grade g, year t (``value``, e.g. mean percent) predicts its result in grade g+1, year t+1, same
    subject (``cohort_pairs``). Per subject, pooled over all pairs:

        value_to = a_cell + b · value_from + c · covariates + e,   var(e) = τ² + v_i,

    with a fixed effect a_cell for every (grade pair, year pair) cell, because ВПР forms and their difficulty
    change by grade and year; cells with fewer than ``min_cell`` pairs are dropped (their residuals carry no
    information). ``covariates`` are school-level context columns taken from the later year.

    ``sd`` names the column of the within-school SD of ``value`` (pupil-level, as in the ВПР cells): a small
    school's start is its pupils' mean, with sampling variance σ²_i = sd²/n_from, and that noise flattens the
    slope b (errors in variables), so schools that truly start high would get positive value added and those
    that start low negative ones. With ``sd`` the coefficients solve the corrected moment equations (Fuller
    1987, §3.1): (X'WX − Σ w_i σ²_i e_b e_b') β = X'Wy, e_b the start's column; their covariance is the sandwich
    of that estimating equation. When the start's reliability within cells, 1 − Σ w σ² / Σ w (x − x̄_cell)², is
    below ``min_reliability`` the subject is fitted as without ``sd`` (the correction would divide by almost
    nothing).

    The residual has two parts: the school's own (its value added, spread τ² between schools, not falling with
    size) and the sampling noise v_i of the pair's two means (sd_to²/n_to + b²·sd_from²/n_from with ``sd``,
    else σ²/n_to with σ² read from how the residuals shrink with n). The coefficients are fitted with weights
    1/(τ² + v_i) (τ² by moments after a first fit weighted by n_to), their covariance clustered by school.

    A school's value added is the mean of its residuals over its pairs, each weighted by 1/v_i, with
    se² = Σ a_i² v_i + (X'a)' V (X'a) (a the averaging weights, V the coefficients' covariance): the error of
    that mean as an estimate of the school's own part, so the interval covers the school's true value added at
    ``level`` (simulated: 93–95 % for schools of 8–20 and of 100–200 pupils alike; weighting by n alone and
    scaling by the pooled residual variance gave intervals so wide that they covered 100 %).

    Output: one row per school × subject (× year pair with ``per_year_pair``): school, subject, [year_from,
    year_to,] pairs, participants (sum of n_to), value_added, se, ci_low, ci_high. If a subject has too few pairs
    for the fit, its schools get NaN; a school whose pairs all fall in dropped cells is absent.

    Two schools with the same start, one +3 and one -3 off the line 10 + 0.8 x, leave the line itself intact:

    >>> start = {"A": 40, "B": 50, "C": 50, "D": 60, "E": 70}
    >>> shift = {"B": 3, "C": -3}
    >>> rows = [{"school_id": s, "year": 2023, "grade": 4, "subject": "math", "mean_pct": x, "participants": 20}
    ...         for s, x in start.items()]
    >>> rows += [{"school_id": s, "year": 2024, "grade": 5, "subject": "math", "participants": 20,
    ...           "mean_pct": 10 + 0.8 * x + shift.get(s, 0)} for s, x in start.items()]
    >>> (cohort_value_added(pd.DataFrame(rows)).set_index("school")["value_added"].round(6) + 0.0).tolist()
    [0.0, 3.0, -3.0, 0.0, 0.0]
    """
    _check_level(level)
    covariates = list(covariates)
    pairs = cohort_pairs(results, school, year, grade, subject, value, n, covariates, sd)
    pairs = pairs[pairs["n_to"] > 0]
    txt = {c: pairs[c].astype(int).astype(str) for c in ["grade_from", "grade_to", "year_from", "year_to"]}
    pairs = pairs.assign(cell=txt["grade_from"] + "→" + txt["grade_to"] + " "
                         + txt["year_from"] + "→" + txt["year_to"])
    keys = ["school", "subject"] + (["year_from", "year_to"] if per_year_pair else [])
    zc = _z(level)
    out = []
    for _, part in pairs.groupby("subject", sort=True):
        size = part.groupby("cell")["cell"].transform("size")
        part = part[size >= min_cell].copy()
        if part.empty:
            continue
        cells = sorted(part["cell"].unique())
        D = (part["cell"].to_numpy()[:, None] == np.array(cells)[None, :]).astype(float)
        X = np.column_stack([D, part["value_from"].to_numpy(float)] + [part[c].to_numpy(float) for c in covariates])
        y = part["value_to"].to_numpy(float)
        w = part["n_to"].to_numpy(float)
        fitted = len(part) > X.shape[1] and np.linalg.matrix_rank(X) == X.shape[1]
        noise = (part["sd_from"].to_numpy(float) ** 2 / part["n_from"].to_numpy(float)) if sd else None
        if noise is not None and not (fitted and _start_reliability(part, w, noise) >= min_reliability):
            noise = None                           # too unreliable a start to correct: the plain fit
        n_to = w
        if fitted:
            groups = pd.factorize(part["school"])[0]
            beta, _ = _fit_cohorts(X, y, n_to, noise, len(cells), groups)
            # squared residuals scaled for the fitted parameters
            e2 = (y - X @ beta) ** 2 * len(y) / max(len(y) - X.shape[1], 1)
            sampling = _sampling_variance(part, e2, beta[len(cells)], noise is not None)
            tau2 = max(0.0, float(np.mean(e2 - sampling)))   # the schools' own spread around the line
            w = 1 / (tau2 + sampling)               # a school's own part does not fall with its size
            beta, cov_b = _fit_cohorts(X, y, w, noise, len(cells), groups)
            part["resid"] = y - X @ beta
        for key, idx in part.groupby(keys, sort=True).indices.items():
            row = dict(zip(keys, key))
            row.update(pairs=len(idx), participants=float(n_to[idx].sum()))
            if fitted:
                a = (1 / sampling[idx]) / (1 / sampling[idx]).sum()   # each pair by its sampling precision
                xa = X[idx].T @ a
                va = float(a @ part["resid"].to_numpy()[idx])
                se = float(np.sqrt(np.sum(a**2 * sampling[idx]) + xa @ cov_b @ xa))
            else:
                va = se = np.nan
            row.update(value_added=va, se=se, ci_low=va - zc * se, ci_high=va + zc * se)
            out.append(row)
    columns = keys + ["pairs", "participants", "value_added", "se", "ci_low", "ci_high"]
    return pd.DataFrame(out, columns=columns)
