"""Signals of non-objective ВПР results (DOMAIN §7): six parameterised checks with false-discovery control.

Every check compares a school with the region (leave-one-out: the region without that school) in one
ВПР work — a cell school × subject × grade × year — and, pooled over all works of the school that year,
in the school as a whole (``level``: ``cell`` / ``school``; small schools rarely reach 10 participants in
one work). Each check is a one-sided test of an estimate ``est`` with sampling variance ``var``:

=========================== ======================================================= ===================
signal                      estimate (``effect`` column, unit)                       provenance
=========================== ======================================================= ===================
above_region_unconfirmed    d_ВПР − d_exam: the school's ВПР mean vs the region      official criterion,
                            minus its ОГЭ/ЕГЭ (same subject, last ``exam_years``)    thresholds heuristic
                            vs the region, both in pupil-SD units (pooled within-
                            school SD); fires only if also d_ВПР ≥ ``min_above``.
                            лицей/гимназия/УИОП and subjects without exams: skipped
task_profile                П/В tasks: school's share of max minus what region       official criterion,
                            pupils with the same basic-task score got, minus the     thresholds heuristic
                            part explained by the school's level (p.p.); candidates:
                            basic-task gap ≤ ``basic_gap_max``
boundary_heaping            among pupils within ``window`` points of a mark          secondary («possible
                            boundary, the share at/just above it minus the share     marker»)
                            expected from the region's score distribution tilted to
                            the school's mean (p.p.); (beta-)binomial test
uniform_high                how much narrower the school's score SD is than region   research → heuristic
                            cells with the same mean (%); candidates: mean ≥ region
                            + ``min_above`` SD
cohort_reversal             a cohort's result (grade g−1 in year t−1) above the      research → heuristic
                            mean of the same cohort a year before and after (SD)
journal_discrepancy         share «понизили» (ВПР < journal), «повысили» (ВПР >      official report,
                            journal) or |ВПР − journal| ≥ 2 above the region's share  ≥ 2 marks secondary
                            (p.p.; component lowered / raised / gap); (beta-)binomial
low_participation           share of listed pupils who did not write the work above   heuristic
                            the region's (p.p.): a school that keeps its weakest
                            pupils at home leaves the list of low results
=========================== ======================================================= ===================

Natural differences between schools are larger than sampling noise, so each test's variance gets an
additive between-school term τ² estimated from winsorised z-scores (with the winsorising consistency factor)
of the schools in the same slice, pulled toward the signal's τ² over all works of the year so that a small slice
never gets 0 (Spiegelhalter 2005, funnel plots with overdispersion; ``overdispersion`` in the params): a school is
flagged for being unusual among schools, not merely for being different from the mean. p-values are
one-sided (normal; beta-binomial for the shares). q-values are Benjamini–Hochberg over ALL tested rows of
the region and year (every signal, component, work and level together); a row ``fired`` when q ≤ ``fdr``
AND its effect reaches the signal's threshold (and the signal's other conditions hold). Rows below
``min_participants`` and rows that are not candidates are listed but not tested (``tested`` False, no q).

«Повысили» and the two-mark gap are compared with the raw regional share, as in the FIS OKO report; «понизили»
with the share expected of schools at the same ВПР level (``level_expected_share``; ``lowered_level_adjusted``):
weak schools show more «понизили» by nature because journals rarely hold «2». The wording stays «признак».
Results are signals («признак …»), never verdicts, and nothing here is computed per class or teacher
(DOMAIN §7: ВПР may not be used to evaluate teachers). ``load_inputs`` reads the ВПР rows of three years in
one DuckDB scan and aggregates there (cells, score histograms, per-pupil Б and П/В points); the cell-level
arithmetic is pandas.

Example
-------
>>> from workbench.data.store import Store                                  # doctest: +SKIP
>>> sig = signals(Store("data/store"), 2026)                           # doctest: +SKIP
>>> school_signals(sig.query("municipality == '004'"))                 # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import stats

from workbench import vocab
from workbench.config import Tagged, _Strict, load_defaults, load_yaml_model
from workbench.uncertainty import sample_size_category

SIGNALS: dict[str, str] = {
    "above_region_unconfirmed": "Результат ВПР выше региона, ОГЭ/ЕГЭ не подтверждают",
    "task_profile": "Нетипичный профиль выполнения заданий",
    "boundary_heaping": "Пики первичных баллов у границ отметок",
    "uniform_high": "Аномально однородные высокие результаты",
    "cohort_reversal": "Скачок результатов параллели с последующим откатом",
    "journal_discrepancy": "Расхождение отметок ВПР и журнала",
    "low_participation": "Высокая доля не писавших работу",
}
UNITS: dict[str, str] = {"above_region_unconfirmed": "SD", "task_profile": "п.п.", "boundary_heaping": "п.п.",
                         "uniform_high": "%", "cohort_reversal": "SD", "journal_discrepancy": "п.п.",
                         "low_participation": "п.п."}
LEVELS: dict[str, str] = {"cell": "работа (предмет × класс)", "school": "все работы школы"}
KEYS = ["year", "municipality", "school_id", "subject", "grade"]
COLUMNS = ["school_id", "municipality", "year", "subject", "grade", "level", "signal", "component", "title_ru", "n",
           "effect", "unit", "threshold", "statistic", "p_value", "q_value", "fired", "tested", "sample_size", "tag",
           "description_ru"]
_TEST_COLUMNS = ["level", "year", "municipality", "school_id", "subject", "grade", "signal", "component", "n", "est",
                 "var", "effect", "threshold", "cond", "dist", "k", "trials", "p0", "min_ok", "description_ru"]


# ---------------------------------------------------------------- parameters

Sd = Annotated[float, Field(ge=0, le=5)]
Pp = Annotated[float, Field(ge=0, le=100)]


class Overdispersion(_Strict):
    enabled: Tagged[bool]
    winsor_share: Tagged[Annotated[float, Field(ge=0, lt=0.5)]]
    pool_units: Tagged[Annotated[int, Field(ge=0, le=10000)]]


class AboveRegionParams(_Strict):
    enabled: Tagged[bool]
    exempt_types: Tagged[list[Literal[vocab.SCHOOL_TYPES]]]  # type: ignore[valid-type]
    also_exempt_types: Tagged[list[Literal[vocab.SCHOOL_TYPES]]]  # type: ignore[valid-type]
    exam_years: Tagged[Annotated[int, Field(ge=1, le=10)]]
    min_above: Tagged[Sd]
    min_effect: Tagged[Sd]


class TaskProfileParams(_Strict):
    enabled: Tagged[bool]
    basic_gap_max: Tagged[Annotated[float, Field(ge=-100, le=100)]]
    min_effect: Tagged[Pp]


class HeapingParams(_Strict):
    enabled: Tagged[bool]
    window: Tagged[Annotated[int, Field(ge=1, le=10)]]
    min_window: Tagged[Annotated[int, Field(ge=1, le=1000)]]
    min_effect: Tagged[Pp]


class UniformHighParams(_Strict):
    enabled: Tagged[bool]
    min_above: Tagged[Sd]
    min_effect: Tagged[Pp]


class CohortReversalParams(_Strict):
    enabled: Tagged[bool]
    min_jump: Tagged[Sd]
    min_effect: Tagged[Sd]


class JournalParams(_Strict):
    enabled: Tagged[bool]
    gap_marks: Tagged[Annotated[int, Field(ge=1, le=3)]]
    min_effect_lowered: Tagged[Pp]
    min_effect_raised: Tagged[Pp]
    min_effect_gap: Tagged[Pp]
    lowered_level_adjusted: Tagged[bool]
    level_min_schools: Tagged[Annotated[int, Field(ge=3, le=1000)]]


class ParticipationParams(_Strict):
    enabled: Tagged[bool]
    min_effect: Tagged[Pp]


class SignalParams(_Strict):
    above_region_unconfirmed: AboveRegionParams
    task_profile: TaskProfileParams
    boundary_heaping: HeapingParams
    uniform_high: UniformHighParams
    cohort_reversal: CohortReversalParams
    journal_discrepancy: JournalParams
    low_participation: ParticipationParams


class ObjectivityParams(_Strict):
    """``params/objectivity.yaml``: FDR level, minimum group, levels, overdispersion and one block per signal."""
    fdr: Tagged[Annotated[float, Field(gt=0, le=0.5)]]
    min_participants: Tagged[Annotated[int, Field(ge=2, le=1000)]]
    agreement_min_cases: Tagged[Annotated[int, Field(ge=2, le=1000)]]
    levels: Tagged[Annotated[list[Literal["cell", "school"]], Field(min_length=1)]]
    overdispersion: Overdispersion
    signals: SignalParams


def load_objectivity_params(path: str | Path = "objectivity.yaml") -> ObjectivityParams:
    """The objectivity parameters; a bad file raises ``ParamsError`` naming the key and what is allowed.

    >>> p = load_objectivity_params()
    >>> p.fdr.value, p.signals.task_profile.enabled.tag
    (0.05, 'official')
    """
    return load_yaml_model(ObjectivityParams, path)


# ---------------------------------------------------------------- Russian wording

def _num(x: float, digits: int = 2, sign: bool = False) -> str:
    s = f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"
    return s.replace(".", ",").replace("-", "−")


def _pct(share: float) -> str:
    """Share as Russian percent; below 10 % with one decimal (0,8 %, not 1 %)."""
    return f"{_num(100 * share, 1 if abs(share) < 0.1 and round(100 * share) != 100 * share else 0)} %"


def _scope(level: str, subject, grade) -> str:
    if level == "school":
        return "все работы школы"
    return f"{vocab.SUBJECTS.get(subject, subject).lower()}, {int(grade)} кл."


# ---------------------------------------------------------------- helpers

def _loo(df: pd.DataFrame, by: list[str], cols: list[str]) -> pd.DataFrame:
    """Totals of ``cols`` over the OTHER rows with the same ``by`` (the region without this school)."""
    tot = df.groupby(by, observed=True)[cols].transform("sum")
    return tot - df[cols].astype(float)


def _frame(level: str, base: pd.DataFrame, signal: str, component: str, **cols) -> pd.DataFrame:
    """A tests frame (``_TEST_COLUMNS``) from key columns of ``base`` and the given columns."""
    out = pd.DataFrame({"level": level, "year": base["year"].to_numpy(), "municipality": base["municipality"].to_numpy(),
                        "school_id": base["school_id"].to_numpy(),
                        "subject": base["subject"].to_numpy() if level == "cell" else None,
                        "grade": base["grade"].to_numpy() if level == "cell" else np.nan,
                        "signal": signal, "component": component}, index=base.index)
    for c in _TEST_COLUMNS:
        if c in cols:
            v = cols[c]
            out[c] = v.to_numpy() if isinstance(v, pd.Series) else v
        elif c not in out:
            out[c] = {"dist": "normal", "cond": True, "min_ok": True, "description_ru": ""}.get(c, np.nan)
    return out[_TEST_COLUMNS].reset_index(drop=True)


def _by_school(df: pd.DataFrame) -> pd.core.groupby.DataFrameGroupBy:
    return df.groupby(["year", "municipality", "school_id"], sort=True, observed=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=_TEST_COLUMNS)


def vpr_means(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells with their mean, SD and their difference from the region in pupil-SD units.

    ``region_mean``: mean percent of the region's other schools in the same year × subject × grade; ``sdw``:
    the region's pooled within-school SD; ``d`` = (mean − region_mean) / sdw with variance 1/n.

    >>> c = pd.DataFrame({"year": 2026, "municipality": "1", "school_id": ["a", "b"], "subject": "rus", "grade": 5,
    ...                   "n": [2, 2], "s1": [100.0, 60.0], "s2": [5200.0, 2000.0]})
    >>> vpr_means(c)[["mean", "region_mean", "sdw", "d"]].round(3).values.tolist()  # sdw = sqrt((200 + 200) / 2)
    [[50.0, 30.0, 14.142, 1.414], [30.0, 50.0, 14.142, -1.414]]
    """
    c = cells.copy()
    n = c["n"].astype(float)
    loo = _loo(c, ["year", "subject", "grade"], ["n", "s1"])
    c["mean"] = c["s1"] / n
    c["region_mean"] = loo["s1"] / loo["n"].where(loo["n"] > 0)
    ss = (c["s2"] - c["s1"] ** 2 / n).clip(lower=0)
    dof = (n - 1).clip(lower=0)
    g = [c["year"], c["subject"], c["grade"]]
    c["sdw"] = np.sqrt(ss.groupby(g).transform("sum") / dof.groupby(g).transform("sum").where(lambda x: x > 0))
    c["sd"] = np.sqrt(ss / dof.where(dof > 0))
    c["d"] = (c["mean"] - c["region_mean"]) / c["sdw"].where(c["sdw"] > 0)
    c["d_var"] = 1 / n
    return c


def _share_tests(d: pd.DataFrame, levels: tuple[str, ...], signal: str, component: str, threshold: float,
                 describe) -> list[pd.DataFrame]:
    """(Beta-)binomial tests of a share above the region's, per cell and per school (cells summed, the expected
    share weighted by trials). ``d``: key columns + ``p0`` (region share), ``k`` (cases), ``trials`` (the pupils
    the share is of: the n that gates and is shown); ``describe(level, row, share, p0, effect)`` gives the text."""
    parts = [("cell", d)] if "cell" in levels else []
    if "school" in levels:
        sch = _by_school(d.assign(e=d["p0"] * d["trials"])).agg(k=("k", "sum"), trials=("trials", "sum"),
                                                                 e=("e", "sum")).reset_index()
        parts.append(("school", sch.assign(p0=sch["e"] / sch["trials"])))
    out = []
    for level, x in parts:
        share = x["k"] / x["trials"]
        eff = 100 * (share - x["p0"])
        desc = [describe(level, r, sh, q, e) for r, sh, q, e in zip(x.to_dict("records"), share, x["p0"], eff)]
        out.append(_frame(level, x, signal, component, n=x["trials"], est=share - x["p0"],
                          var=x["p0"] * (1 - x["p0"]) / x["trials"], effect=eff, threshold=threshold,
                          cond=eff >= threshold, dist="binomial", k=x["k"], trials=x["trials"], p0=x["p0"],
                          description_ru=desc))
    return out


# ---------------------------------------------------------------- 6. journal discrepancy

JOURNAL_COMPONENTS = {"lowered": ("lowered", "min_effect_lowered"), "raised": ("raised", "min_effect_raised"),
                      "gap": ("gap", "min_effect_gap")}


def level_expected_share(c: pd.DataFrame, col: str, min_schools: int = 10, iters: int = 25) -> pd.Series:
    """The share of ``col`` (cases of ``nj``) expected of a school at its own ВПР level: per year × subject ×
    grade a binomial logistic fit on the other schools, logit p = a + b·d, d the school's mean against the region
    in pupil SDs (:func:`vpr_means`; weights nj; the school left out by the one-step approximation to the fit
    without it). NaN in slices with fewer than ``min_schools`` schools or without scores.

    Why: weak schools have more «понизили» by nature (journals rarely hold «2»), so against the raw regional
    share every weak school looks lenient and the spread that level causes hides a lenient journal elsewhere.

    >>> c = pd.DataFrame({"year": 2026, "subject": "rus", "grade": 5, "school_id": list("abcd"), "n": 10,
    ...                   "s1": [400.0, 500, 600, 700], "s2": [16900.0, 26000, 37000, 50000], "nj": 10,
    ...                   "lowered": [6, 4, 2, 1]})
    >>> level_expected_share(c, "lowered", min_schools=3).round(3).tolist()   # falls with the level
    [0.62, 0.383, 0.214, 0.096]
    """
    out = pd.Series(np.nan, index=c.index)
    if not {"n", "s1", "s2"} <= set(c.columns):
        return out
    m = vpr_means(c)
    for _key, g in m.groupby(["year", "subject", "grade"], sort=False):
        g = g[g["d"].notna() & (g["nj"] > 0)]
        if g["school_id"].nunique() < min_schools:
            continue
        x = g["d"].to_numpy(dtype=float)
        k, nj = g[col].to_numpy(dtype=float), g["nj"].to_numpy(dtype=float)
        X = np.column_stack([np.ones_like(x), x])
        share = (k.sum() + 0.5) / (nj.sum() + 1)
        beta = np.array([np.log(share / (1 - share)), 0.0])
        for _ in range(iters):          # Newton–Raphson (IRLS) on the binomial likelihood
            pr = 1 / (1 + np.exp(-(X @ beta)))
            wgt = nj * pr * (1 - pr)
            step = np.linalg.solve(X.T @ (X * wgt[:, None]) + 1e-9 * np.eye(2), X.T @ (k - nj * pr))
            beta = beta + step
            if np.abs(step).max() < 1e-10:
                break
        # leave the school out (one-step approximation, Pregibon 1981), as the raw comparison leaves it out of
        # the regional share: a lenient weak school must not raise its own expectation
        pr = 1 / (1 + np.exp(-(X @ beta)))
        wgt = nj * pr * (1 - pr)
        inv = np.linalg.inv(X.T @ (X * wgt[:, None]) + 1e-9 * np.eye(2))
        lev = wgt * np.einsum("ij,jk,ik->i", X, inv, X)
        shift = (X @ inv) * ((k - nj * pr) / np.clip(1 - lev, 1e-6, None))[:, None]
        eta = X @ beta - np.einsum("ij,ij->i", X, shift)
        out.loc[g.index] = 1 / (1 + np.exp(-eta))
    return out


def signal_journal_discrepancy(cells: pd.DataFrame, p: ObjectivityParams, region: pd.DataFrame | None = None,
                               levels: tuple[str, ...] = ("cell", "school")) -> pd.DataFrame:
    """Shares «понизили» (ВПР < journal), «повысили» (ВПР > journal) and |ВПР − journal| ≥ gap_marks above the region.

    ``cells``: ``KEYS`` + ``nj`` (pupils with both marks), ``lowered``, ``raised``, ``gap`` (counts). ``region``:
    optional reference shares per year × subject × grade (columns ``lowered``, ``raised``, ``gap`` as fractions);
    by default the region's other schools. Effect = school share − region share (p.p.); binomial test.
    """
    jp = p.signals.journal_discrepancy
    c = cells[cells["nj"] > 0].reset_index(drop=True)
    if c.empty or not jp.enabled.value:
        return _empty()
    out = []
    what = {"lowered": ("Признак завышения отметок в журнале", "на ВПР отметку по журналу понизили"),
            "raised": ("Признак возможного завышения результатов ВПР", "на ВПР отметку по журналу повысили"),
            "gap": ("Признак необъективности оценивания",
                    f"отметки ВПР и журнала расходятся на {jp.gap_marks.value} балла и более у")}
    for comp, (col, thr_key) in JOURNAL_COMPONENTS.items():
        thr = getattr(jp, thr_key).value
        if region is None:   # the region's other schools; +½ / +1 keeps a share of 0 from making one pupil a signal
            loo = _loo(c, ["year", "subject", "grade"], ["nj", col])
            p0 = (loo[col] + 0.5) / (loo["nj"] + 1)
        else:
            p0 = c[["year", "subject", "grade"]].merge(region[["year", "subject", "grade", col]], how="left")[col]
        adjusted = pd.Series(False, index=c.index)
        if comp == "lowered" and jp.lowered_level_adjusted.value and region is None:
            # against schools of the same ВПР level where the work allows the fit, else the raw regional share
            expected = level_expected_share(c, col, jp.level_min_schools.value)
            adjusted = expected.notna()
            p0 = expected.fillna(p0)
        p0 = pd.Series(np.clip(p0.to_numpy(dtype=float), 1e-4, 1 - 1e-4), index=c.index)
        d = c.assign(p0=p0, k=c[col].astype(float), trials=c["nj"].astype(float), adjusted=adjusted)
        d = d[d["p0"].notna()]
        head, verb = what[comp]
        # a whole school's expectation mixes its works: it is named by the level when any of them used it
        any_adjusted = d.groupby(["year", "municipality", "school_id"])["adjusted"].any()

        def describe(level, r, sh, q, e, head=head, verb=verb, any_adjusted=any_adjusted):
            used = r["adjusted"] if "adjusted" in r else any_adjusted.get((r["year"], r["municipality"], r["school_id"]))
            against = "ожидаемых для школ с таким же уровнем результатов ВПР" if used else "по региону"
            return (f"{head} ({_scope(level, r.get('subject'), r.get('grade'))}): {verb} {_pct(sh)} участников"
                    f" против {_pct(q)} {against} ({_num(e, 1, True)} п.п.).")

        # the comparison rests on the pupils with both marks (trials = nj): they are the n that gates and is shown
        out += _share_tests(d, levels, "journal_discrepancy", comp, thr, describe)
    return pd.concat(out, ignore_index=True)


# ---------------------------------------------------------------- 7. participation

def signal_low_participation(attendance: pd.DataFrame, p: ObjectivityParams,
                             levels: tuple[str, ...] = ("cell", "school")) -> pd.DataFrame:
    """Share of the listed pupils who did not write the work above the region's other schools.

    ``attendance``: ``KEYS`` + ``listed`` (pupils in the file, absent ones included) and ``absent``. Absent pupils
    have no results, so a school that keeps its weakest pupils at home looks better than it is and leaves the list
    of low results; no identification rule sees it. Effect = school share − region share (p.p.); (beta-)binomial
    test, as for the journal shares; n = pupils listed.
    """
    lp = p.signals.low_participation
    c = attendance[attendance["listed"] > 0].reset_index(drop=True) if len(attendance) else attendance
    if c.empty or not lp.enabled.value:
        return _empty()
    loo = _loo(c, ["year", "subject", "grade"], ["listed", "absent"])
    p0 = np.clip(((loo["absent"] + 0.5) / (loo["listed"] + 1)).to_numpy(float), 1e-4, 1 - 1e-4)
    d = c.assign(p0=p0, k=c["absent"].astype(float), trials=c["listed"].astype(float))

    def describe(level, r, sh, q, e):
        return (f"Признак выборочного участия ({_scope(level, r.get('subject'), r.get('grade'))}): не писали работу "
                f"{_pct(sh)} учеников из списка против {_pct(q)} по региону ({_num(e, 1, True)} п.п.).")

    return pd.concat(_share_tests(d, levels, "low_participation", "", lp.min_effect.value, describe), ignore_index=True)


# ---------------------------------------------------------------- 1. above the region, exams do not confirm

def exam_effects(exams: pd.DataFrame, year: int, years: int, within: pd.DataFrame | None = None) -> pd.DataFrame:
    """ОГЭ/ЕГЭ of each school × subject over the last ``years`` years, pooled, relative to the region in
    pupil-SD units (``workbench.identify.exam_results``: within-school SD from the pupil-level protocols in
    ``within`` where there are any, else from the school means):
    ``d_exam`` = Σ(dsum / sdw) / Σn, ``n_exam`` = Σn (variance 1 / n_exam), ``exam_years`` as text."""
    from workbench.identify import exam_results

    cols = ["school_id", "subject", "d_exam", "n_exam", "exam_years"]
    if exams is None or exams.empty:
        return pd.DataFrame(columns=cols)
    e = exams[(exams["year"] >= year - years + 1) & (exams["year"] <= year)]
    r = exam_results(e, within)
    r = r[r["sdw"].notna() & (r["sdw"] > 0) & (r["n"] > 0)]
    if r.empty:
        return pd.DataFrame(columns=cols)
    r = r.assign(z=r["dsum"] / r["sdw"])
    g = r.groupby(["school_id", "subject"])
    out = g.agg(z=("z", "sum"), n_exam=("n", "sum"), y0=("year", "min"), y1=("year", "max")).reset_index()
    out["d_exam"] = out["z"] / out["n_exam"]
    out["exam_years"] = [f"{a}–{b}" if a != b else f"{a}" for a, b in zip(out["y0"], out["y1"])]
    return out[cols]


def signal_above_region(cells: pd.DataFrame, exam: pd.DataFrame, schools: pd.DataFrame, p: ObjectivityParams,
                        levels: tuple[str, ...] = ("cell", "school")) -> pd.DataFrame:
    """ВПР noticeably above the region while the school is not selective and its exams do not confirm it.

    ``cells``: one year's ВПР cells (``KEYS``, ``n``, ``s1``, ``s2`` = sums of percent and squared percent);
    ``exam``: ``exam_effects`` (school × subject: ``d_exam``, ``n_exam``); ``schools``: ``school_id``,
    ``school_type``. Estimate = d_ВПР − d_exam (SD units), variance 1/n + 1/n_exam; fires when also
    d_ВПР ≥ ``min_above``. Selective schools (``exempt_types``, ``also_exempt_types``) and subjects without exams
    are not checked.
    """
    ap = p.signals.above_region_unconfirmed
    if not ap.enabled.value or exam is None or exam.empty:
        return _empty()
    m = vpr_means(cells)
    exempt_types = ap.exempt_types.value + ap.also_exempt_types.value
    exempt = set(schools.loc[schools["school_type"].isin(exempt_types), "school_id"])
    m = m[~m["school_id"].isin(exempt) & m["d"].notna()]
    m = m.merge(exam, on=["school_id", "subject"], how="inner")
    m = m[m["n_exam"] > 0]
    if m.empty:
        return _empty()
    out = []
    if "cell" in levels:
        out.append(("cell", m.assign(dv=m["d"], de=m["d_exam"], var=1 / m["n"] + 1 / m["n_exam"])))
    if "school" in levels:
        w = m.assign(nd=m["n"] * m["d"])
        s = _by_school(w).agg(n=("n", "sum"), nd=("nd", "sum"), subjects=("subject", "nunique")).reset_index()
        ex = w.drop_duplicates(["school_id", "subject"]).assign(nde=lambda x: x["n_exam"] * x["d_exam"])
        ex = ex.groupby("school_id").agg(n_exam=("n_exam", "sum"), nde=("nde", "sum"),
                                         exam_years=("exam_years", "first")).reset_index()
        s = s.merge(ex, on="school_id")
        # the same pupils write every subject: count each pupil once (conservative, as identify.pool)
        s = s.assign(dv=s["nd"] / s["n"], de=s["nde"] / s["n_exam"],
                     var=s["subjects"] / s["n"] + s["subjects"] / s["n_exam"])
        out.append(("school", s))
    thr, above = ap.min_effect.value, ap.min_above.value
    frames = []
    for level, x in out:
        est = x["dv"] - x["de"]
        desc = [f"Признак возможной необъективности ({_scope(level, r.get('subject'), r.get('grade'))}): результат ВПР "
                f"выше региона на {_num(r['dv'])} SD, а ОГЭ/ЕГЭ по {'предмету' if level == 'cell' else 'тем же предметам'}"
                f" за {r['exam_years']} — {_num(r['de'], 2, True)} SD к региону и его не подтверждают."
                for r in x.to_dict("records")]
        frames.append(_frame(level, x, "above_region_unconfirmed", "", n=x["n"], est=est, var=x["var"], effect=est,
                             threshold=thr, cond=(est >= thr) & (x["dv"] >= above), description_ru=desc))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- 2. task profile

def task_cells_from_pupils(pupils: pd.DataFrame) -> pd.DataFrame:
    """Task-profile cells from pupil rows (``KEYS``, ``bp``, ``bm``, ``hp``, ``hm``: points and maxima on
    Б and on П/В tasks): the pandas twin of the SQL in ``load_inputs``.

    ``b`` = bp/bm, ``h`` = hp/hm; ``r`` = h − (mean h of the region's pupils of the same work with the same
    basic points bp); per cell ``n``, ``sb`` = Σb, ``sh`` = Σh, ``sr`` = Σr, ``sr2`` = Σr².

    >>> pp = pd.DataFrame({"year": 2026, "municipality": "1", "school_id": ["a", "a", "b", "b"], "subject": "rus",
    ...                    "grade": 5, "bp": [5, 5, 5, 2], "bm": 10, "hp": [4, 2, 0, 0], "hm": 4})
    >>> task_cells_from_pupils(pp)[["school_id", "n", "sb", "sh", "sr"]].values.tolist()  # E[h|bp=5] = 0.5
    [['a', 2, 1.0, 1.5, 0.5], ['b', 2, 0.7, 0.0, -0.5]]
    """
    d = pupils[(pupils["bm"] > 0) & (pupils["hm"] > 0)]
    d = d.assign(b=d["bp"] / d["bm"], h=d["hp"] / d["hm"])
    d = d.assign(r=d["h"] - d.groupby(["year", "subject", "grade", "bp"])["h"].transform("mean"))
    d = d.assign(r2=d["r"] ** 2)
    out = d.groupby(KEYS, as_index=False).agg(n=("b", "size"), sb=("b", "sum"), sh=("h", "sum"), sr=("r", "sum"),
                                              sr2=("r2", "sum"))
    return out.sort_values(KEYS).reset_index(drop=True)


def _robust_polyfit(x: pd.Series, y: pd.Series, w: pd.Series, deg: int) -> np.ndarray:
    """Weighted polynomial fit (``np.polyfit`` with weights √w), refitted once without the points more than
    3 robust SDs (1.4826 · MAD) from the first fit, so a few anomalous schools do not bend the reference."""
    coef = np.polyfit(x, y, deg, w=np.sqrt(w))
    z = (y - np.polyval(coef, x)) * np.sqrt(w)
    dev = (z - z.median()).abs()
    keep = dev <= 3 * max(1.4826 * dev.median(), 1e-9)
    if keep.sum() > deg + 2 and x[keep].nunique() > deg:
        coef = np.polyfit(x[keep], y[keep], deg, w=np.sqrt(w[keep]))
    return coef


def _level_trend(c: pd.DataFrame, min_cells: int = 5) -> pd.Series:
    """The part of each cell's hard-task residual explained by the school's level on basic tasks.

    Pupils of a strong school do better on П/В tasks than region pupils with the same basic score (their
    basic score understates their ability: regression to the mean), so the residual grows with the basic
    gap even when nothing is wrong. Per work, a weighted line est ~ gb over the cells (n ≥ 5, at least
    ``min_cells``; ``_robust_polyfit``) gives that part; with fewer cells nothing is removed.
    """
    trend = pd.Series(0.0, index=c.index)
    for _, d in c.groupby(["year", "subject", "grade"]):
        fit = d[d["n"] >= 5]
        if len(fit) < min_cells or fit["gb"].nunique() < 2:
            continue
        coef = _robust_polyfit(fit["gb"], fit["est"], 1 / fit["var"], 1)
        trend[d.index] = np.polyval(coef, d["gb"])
    return trend


def signal_task_profile(task_cells: pd.DataFrame, p: ObjectivityParams,
                        levels: tuple[str, ...] = ("cell", "school")) -> pd.DataFrame:
    """Better than expected on П/В tasks given the basic-task score, while not above the region on Б tasks.

    ``task_cells``: ``task_cells_from_pupils`` (or the SQL). Estimate = 100 · (school mean residual r − region
    mean r) in p.p., minus the part explained by the school's basic-task level (``_level_trend``), variance =
    pooled within-school variance of r / n. Only schools not above the region on basic tasks are candidates:
    rows with basic gap = 100 · (school mean b − region mean b) > ``basic_gap_max`` are listed, not tested.
    """
    tp = p.signals.task_profile
    c = task_cells[task_cells["n"] > 0].reset_index(drop=True)
    if c.empty or not tp.enabled.value:
        return _empty()
    n = c["n"].astype(float)
    loo = _loo(c, ["year", "subject", "grade"], ["n", "sb", "sh", "sr"])
    ln = loo["n"].where(loo["n"] > 0)
    g = [c["year"], c["subject"], c["grade"]]
    ss = (c["sr2"] - c["sr"] ** 2 / n).clip(lower=0)
    vr = ss.groupby(g).transform("sum") / (n - 1).clip(lower=0).groupby(g).transform("sum").where(lambda x: x > 0)
    c = c.assign(gb=100 * (c["sb"] / n - loo["sb"] / ln), gh=100 * (c["sh"] / n - loo["sh"] / ln),
                 est=100 * (c["sr"] / n - loo["sr"] / ln), var=1e4 * vr / n)
    c = c[c["est"].notna() & (c["var"] > 0)].copy()
    c["est"] = c["est"] - _level_trend(c)
    out = []
    if "cell" in levels:
        out.append(("cell", c))
    if "school" in levels:
        w = c.assign(w=1 / c["var"])
        w = w.assign(we=w["w"] * w["est"], wb=w["w"] * w["gb"], wh=w["w"] * w["gh"])
        s = _by_school(w).agg(n=("n", "sum"), w=("w", "sum"), we=("we", "sum"), wb=("wb", "sum"),
                              wh=("wh", "sum")).reset_index()
        out.append(("school", s.assign(est=s["we"] / s["w"], var=1 / s["w"], gb=s["wb"] / s["w"], gh=s["wh"] / s["w"])))
    thr, bmax = tp.min_effect.value, tp.basic_gap_max.value
    frames = []
    for level, x in out:
        desc = [f"Признак нетипичного профиля заданий ({_scope(level, r.get('subject'), r.get('grade'))}): задания "
                f"повышенного и высокого уровня выполнены на {_num(r['est'], 1)} п.п. лучше, чем у участников региона "
                f"с тем же баллом за базовые задания, а базовые — {_num(r['gb'], 1, True)} п.п. к региону."
                for r in x.to_dict("records")]
        frames.append(_frame(level, x, "task_profile", "", n=x["n"], est=x["est"], var=x["var"], effect=x["est"],
                             threshold=thr, cond=(x["est"] >= thr) & (x["gb"] <= bmax), min_ok=x["gb"] <= bmax,
                             description_ru=desc))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- 3. heaping at mark boundaries

def _tilt(ref: np.ndarray, target_mean: np.ndarray, iters: int = 60) -> np.ndarray:
    """Rows of ``ref`` (cells × scores, non-negative weights) exponentially tilted, f(s) ∝ ref(s)·exp(λs), so
    that each row's mean equals ``target_mean`` (the maximum-entropy change of the region's shape that moves
    its mean to the school's). Newton on λ in units of the maximum score, bisection-safe."""
    m = ref.shape[1] - 1
    x = np.arange(m + 1) / max(m, 1)
    t = np.clip(target_mean / max(m, 1), 1e-6, 1 - 1e-6)
    lo, hi = np.full(len(ref), -80.0), np.full(len(ref), 80.0)
    lam = np.zeros(len(ref))
    for _ in range(iters):
        z = lam[:, None] * x[None, :]
        wts = ref * np.exp(z - z.max(axis=1, keepdims=True))
        tot = wts.sum(axis=1)
        f = wts / np.where(tot > 0, tot, 1)[:, None]
        mu = f @ x
        var = f @ x**2 - mu**2
        g = mu - t
        lo = np.where(g < 0, lam, lo)
        hi = np.where(g > 0, lam, hi)
        step = np.where(var > 1e-12, lam - g / np.maximum(var, 1e-12), (lo + hi) / 2)
        lam = np.where((step > lo) & (step < hi), step, (lo + hi) / 2)
    z = lam[:, None] * x[None, :]
    wts = ref * np.exp(z - z.max(axis=1, keepdims=True))
    tot = wts.sum(axis=1)
    return wts / np.where(tot > 0, tot, 1)[:, None]


def heaping_windows(hist: pd.DataFrame, scales: pd.DataFrame, window: int) -> pd.DataFrame:
    """Per cell: pupils in the windows around the mark boundaries and how many are expected at/above them.

    ``hist``: ``KEYS`` + ``score`` + ``count`` (pupils with that primary score); ``scales``: year, subject,
    grade, max_score, min3, min4, min5. For each boundary b the window is [b − w, b + w), cut at the midpoint
    between neighbouring boundaries so that no pupil is counted twice: ``above`` counts scores at b and above
    in it, ``trials`` all scores in the window; ``expected`` = Σ_b trials_b · p_b, where p_b is
    the share of [b, b + w) within the window under the region's distribution (without this school) tilted
    to the school's mean; ``pvar`` = Σ_b trials_b · p_b(1 − p_b). Also ``n`` and ``mean`` of the cell.
    """
    cols = KEYS + ["n", "mean", "above", "trials", "expected", "pvar"]
    if hist.empty:
        return pd.DataFrame(columns=cols)
    h = hist.merge(scales[["year", "subject", "grade", "max_score", "min3", "min4", "min5"]],
                   on=["year", "subject", "grade"], how="inner")
    parts = []
    for (year, subject, grade), d in h.groupby(["year", "subject", "grade"], sort=True):
        mx = int(max(d["max_score"].iloc[0], d["score"].max()))
        cells = d[["municipality", "school_id"]].drop_duplicates().sort_values("school_id").reset_index(drop=True)
        idx = pd.Series(np.arange(len(cells)), index=cells["school_id"])
        mat = np.zeros((len(cells), mx + 1))
        np.add.at(mat, (idx[d["school_id"]].to_numpy(), d["score"].astype(int).to_numpy()), d["count"].to_numpy(float))
        n = mat.sum(axis=1)
        s = np.arange(mx + 1)
        mean = mat @ s / np.where(n > 0, n, 1)
        ref = np.clip(mat.sum(axis=0)[None, :] - mat, 0, None)
        f = _tilt(ref, mean)
        above = trials = expected = pvar = np.zeros(len(cells))
        bounds = sorted({int(d[c].iloc[0]) for c in ("min3", "min4", "min5")})
        for i, b in enumerate(bounds):
            # scores between two boundaries are split at the midpoint, so no pupil is in two windows
            below = window if i == 0 else min(window, (b - bounds[i - 1]) // 2)
            above_w = window if i == len(bounds) - 1 else min(window, -(-(bounds[i + 1] - b) // 2))
            up = (s >= b) & (s < b + above_w)
            down = (s >= b - below) & (s < b)
            fa, fb = f[:, up].sum(axis=1), f[:, down].sum(axis=1)
            ka, kb = mat[:, up].sum(axis=1), mat[:, down].sum(axis=1)
            ok = (fa + fb) > 0
            pb = np.where(ok, fa / np.where(ok, fa + fb, 1), 0.0)
            tb = np.where(ok, ka + kb, 0.0)
            above = above + np.where(ok, ka, 0.0)
            trials = trials + tb
            expected = expected + tb * pb
            pvar = pvar + tb * pb * (1 - pb)
        parts.append(pd.DataFrame({"year": year, "municipality": cells["municipality"], "school_id": cells["school_id"],
                                   "subject": subject, "grade": grade, "n": n, "mean": mean, "above": above,
                                   "trials": trials, "expected": expected, "pvar": pvar}))
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def signal_boundary_heaping(windows: pd.DataFrame, p: ObjectivityParams,
                            levels: tuple[str, ...] = ("cell", "school")) -> pd.DataFrame:
    """More pupils at/just above the mark boundaries than the smooth expectation (``heaping_windows``).

    Estimate = (above − expected) / trials (share of the window pupils, effect in p.p.), binomial variance
    pvar / trials²; the (beta-)binomial test uses p0 = expected / trials (conservative when p_b differ).
    """
    hp = p.signals.boundary_heaping
    c = windows[windows["trials"] > 0].reset_index(drop=True)
    if c.empty or not hp.enabled.value:
        return _empty()
    out = []
    if "cell" in levels:
        out.append(("cell", c))
    if "school" in levels:
        out.append(("school", _by_school(c).agg(n=("n", "sum"), above=("above", "sum"), trials=("trials", "sum"),
                                                expected=("expected", "sum"), pvar=("pvar", "sum")).reset_index()))
    thr = hp.min_effect.value
    frames = []
    for level, x in out:
        p0 = (x["expected"] / x["trials"]).clip(1e-4, 1 - 1e-4)
        est = x["above"] / x["trials"] - p0
        w = hp.window.value
        desc = [f"Признак «пиков» у границ отметок ({_scope(level, r.get('subject'), r.get('grade'))}): из "
                f"{int(r['trials'])} участников, набравших от {w} баллов ниже границы отметки до {w - 1} выше неё, "
                f"на границе или выше оказались {_pct(r['above'] / r['trials'])} при ожидаемых {_pct(q)} "
                f"({_num(100 * e, 1, True)} п.п.)." for r, q, e in zip(x.to_dict("records"), p0, est)]
        frames.append(_frame(level, x, "boundary_heaping", "", n=x["n"], est=est,
                             var=(x["pvar"] / x["trials"] ** 2).where(x["pvar"] > 0, p0 * (1 - p0) / x["trials"]),
                             effect=100 * est, threshold=thr, cond=100 * est >= thr, dist="binomial", k=x["above"],
                             trials=x["trials"], p0=p0, min_ok=x["trials"] >= hp.min_window.value,
                             description_ru=desc))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- 4. uniform high scores

def work_kurtosis(hist: pd.DataFrame) -> pd.DataFrame:
    """Pooled within-school kurtosis κ = Σ n·m4 / Σ n·m2² of each work (year × subject × grade) from the score
    histograms (``KEYS`` + ``score`` + ``count``); m2, m4 are each school's central moments.

    >>> h = pd.DataFrame({"year": 2026, "municipality": "1", "school_id": "a", "subject": "rus", "grade": 5,
    ...                   "score": [0, 2], "count": [5, 5]})
    >>> work_kurtosis(h)["kurtosis"].tolist()   # a two-point distribution: m4 = m2² → κ = 1
    [1.0]
    """
    cols = ["year", "subject", "grade", "kurtosis"]
    if hist.empty:
        return pd.DataFrame(columns=cols)
    h = hist[hist["count"] > 0].assign(sc=hist["score"].astype(float), c=hist["count"].astype(float))
    g = h.groupby(KEYS, observed=True)
    n = g["c"].transform("sum")
    dev = h["sc"] - (h["sc"] * h["c"]).groupby([h[k] for k in KEYS], observed=True).transform("sum") / n
    m = h.assign(w2=h["c"] * dev**2, w4=h["c"] * dev**4).groupby(KEYS, observed=True).agg(
        n=("c", "sum"), s2=("w2", "sum"), s4=("w4", "sum")).reset_index()
    m = m.assign(nm4=m["s4"], nm22=m["s2"] ** 2 / m["n"])        # n·m4 and n·m2²
    k = m.groupby(["year", "subject", "grade"], observed=True)[["nm4", "nm22"]].sum().reset_index()
    return k.assign(kurtosis=k["nm4"] / k["nm22"].where(k["nm22"] > 0))[cols]


def log_sd_variance(n, kurtosis=3.0):
    """Var(log s) ≈ (κ/n − (n − 3)/(n(n − 1)))/4 (delta method on Var(s²)); 1/(2(n − 1)) for normal scores.

    >>> round(float(log_sd_variance(30)) * 58, 6)   # n = 30, normal: 1/58
    1.0
    """
    n = np.asarray(n, float)
    return (np.asarray(kurtosis, float) / n - (n - 3) / (n * (n - 1))) / 4


def signal_uniform_high(cells: pd.DataFrame, p: ObjectivityParams,
                        levels: tuple[str, ...] = ("cell", "school"), kurtosis: pd.DataFrame | None = None) -> pd.DataFrame:
    """A high mean with a score SD much narrower than region cells with the same mean.

    Expected log SD at the school's mean: weighted quadratic fit of log SD on the mean over the work's cells
    (n ≥ 5; linear below 8 cells; none below 4; ``_robust_polyfit``), log SDs corrected for small-sample bias
    (+ Var(log s)). Estimate = expected − observed log SD with variance ``log_sd_variance`` at the work's
    pooled within-school kurtosis (``kurtosis``: year, subject, grade, kurtosis from ``work_kurtosis``; normal
    theory, κ = 3, where it is not given: heavy-tailed scores would make that anti-conservative); effect =
    100 · (1 − SD/expected). Only high results are candidates: rows with d (mean vs region, SD units) below
    ``min_above`` are listed, not tested.
    """
    up = p.signals.uniform_high
    if not up.enabled.value or cells.empty:
        return _empty()
    m = vpr_means(cells)
    m = m[(m["n"] >= 3) & (m["sd"] > 0) & m["d"].notna()].copy()
    kappa = 3.0
    if kurtosis is not None and not kurtosis.empty:
        kappa = m[["year", "subject", "grade"]].merge(kurtosis, how="left")["kurtosis"].fillna(3.0).to_numpy()
    m["lv"] = log_sd_variance(m["n"], kappa)
    m["ly"] = np.log(m["sd"]) + m["lv"]
    m["expected"] = np.nan
    for _, d in m.groupby(["year", "subject", "grade"]):
        fit = d[d["n"] >= 5]
        if len(fit) < 4:
            continue
        deg = 2 if len(fit) >= 8 else 1
        coef = _robust_polyfit(fit["mean"], fit["ly"], fit["n"] - 1, deg)
        m.loc[d.index, "expected"] = np.polyval(coef, d["mean"])
    m = m[m["expected"].notna()]
    if m.empty:
        return _empty()
    m = m.assign(est=m["expected"] - m["ly"], var=m["lv"])
    out = []
    if "cell" in levels:
        out.append(("cell", m.assign(dv=m["d"])))
    if "school" in levels:
        w = m.assign(w=1 / m["var"], nd=m["n"] * m["d"])
        w = w.assign(we=w["w"] * w["est"])
        s = _by_school(w).agg(n=("n", "sum"), w=("w", "sum"), we=("we", "sum"), nd=("nd", "sum")).reset_index()
        out.append(("school", s.assign(est=s["we"] / s["w"], var=1 / s["w"], dv=s["nd"] / s["n"])))
    thr, above = up.min_effect.value, up.min_above.value
    frames = []
    for level, x in out:
        eff = 100 * (1 - np.exp(-x["est"]))
        desc = [f"Признак аномально однородных высоких результатов ({_scope(level, r.get('subject'), r.get('grade'))}): "
                f"средний результат выше региона на {_num(r['dv'])} SD, а разброс баллов на {_num(e, 0)} % меньше "
                f"ожидаемого при таком среднем." for r, e in zip(x.to_dict("records"), eff)]
        frames.append(_frame(level, x, "uniform_high", "", n=x["n"], est=x["est"], var=x["var"], effect=eff,
                             threshold=thr, cond=(eff >= thr) & (x["dv"] >= above), min_ok=x["dv"] >= above,
                             description_ru=desc))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- 5. cohort jump that reverses

def signal_cohort_reversal(cells: pd.DataFrame, year: int, p: ObjectivityParams,
                           levels: tuple[str, ...] = ("cell", "school")) -> pd.DataFrame:
    """A cohort's jump between years that reverses the next year (school level: participants are not linked).

    For the cell (year t, grade g, subject): d0 = grade g−2 in t−2, d1 = grade g−1 in t−1, d2 = grade g in t
    (each vs the region in SD units, ``vpr_means``). Estimate = d1 − (d0 + d2)/2 (the spike), variance
    1/n1 + (1/n0 + 1/n2)/4; fires when also d1 − d0 ≥ ``min_jump`` and d1 − d2 ≥ ``min_jump``. All three
    cells need ``min_participants`` to be tested; at school level each of the three years, summed over cohorts.
    """
    cp = p.signals.cohort_reversal
    if not cp.enabled.value or cells.empty:
        return _empty()
    m = vpr_means(cells)
    m = m[m["d"].notna()]
    keep = ["school_id", "subject", "grade", "d", "n"]
    cur = m[m["year"] == year]
    prev = m[m["year"] == year - 1][keep].assign(grade=lambda x: x["grade"] + 1)
    prev2 = m[m["year"] == year - 2][keep].assign(grade=lambda x: x["grade"] + 2)
    x = cur.merge(prev, on=["school_id", "subject", "grade"], suffixes=("", "1")) \
           .merge(prev2, on=["school_id", "subject", "grade"], suffixes=("", "0"))
    if x.empty:
        return _empty()
    x = x.assign(d2=x["d"], n2=x["n"], est=x["d1"] - (x["d0"] + x["d"]) / 2,
                 var=1 / x["n1"] + (1 / x["n0"] + 1 / x["n"]) / 4, nmin=x[["n0", "n1", "n"]].min(axis=1))
    x = x.assign(jump=x["d1"] - x["d0"], drop=x["d1"] - x["d2"])
    out = []
    if "cell" in levels:
        out.append(("cell", x))
    if "school" in levels:
        w = x.assign(w=1 / x["var"])
        w = w.assign(we=w["w"] * w["est"], wj=w["w"] * w["jump"], wd=w["w"] * w["drop"])
        s = _by_school(w).agg(n=("n", "sum"), n0=("n0", "sum"), n1=("n1", "sum"), w=("w", "sum"), we=("we", "sum"),
                              wj=("wj", "sum"), wd=("wd", "sum"), subjects=("subject", "nunique")).reset_index()
        # every one of the three years needs the minimum, summed over the school's cohorts
        out.append(("school", s.assign(est=s["we"] / s["w"], var=s["subjects"] / s["w"], jump=s["wj"] / s["w"],
                                       drop=s["wd"] / s["w"], nmin=s[["n0", "n1", "n"]].min(axis=1))))
    thr, jmin = cp.min_effect.value, cp.min_jump.value
    frames = []
    for level, r in out:
        if level == "cell":
            desc = [f"Признак скачка с откатом ({_scope(level, q['subject'], q['grade'])}): результат параллели "
                    f"{int(q['grade']) - 2} кл. ({year - 2}) → {int(q['grade']) - 1} кл. ({year - 1}) → {int(q['grade'])} кл. "
                    f"({year}): {_num(q['d0'], 2, True)} → {_num(q['d1'], 2, True)} → {_num(q['d2'], 2, True)} SD к региону."
                    for q in r.to_dict("records")]
        else:
            desc = [f"Признак скачка с откатом ({_scope(level, None, None)}): результаты параллелей в {year - 1} году "
                    f"выше, чем у тех же параллелей годом раньше и годом позже, в среднем на {_num(q['est'])} SD к региону."
                    for q in r.to_dict("records")]
        frames.append(_frame(level, r, "cohort_reversal", "", n=r["n"], est=r["est"], var=r["var"], effect=r["est"],
                             threshold=thr, cond=(r["est"] >= thr) & (r["jump"] >= jmin) & (r["drop"] >= jmin),
                             min_ok=r["nmin"] >= p.min_participants.value,
                             description_ru=desc))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- testing, overdispersion, FDR

def winsor_consistency(share: float) -> float:
    """E[clip(Z, −c, c)²] for Z ~ N(0, 1) winsorised at the ``share`` and 1 − share quantiles (c = Φ⁻¹(1 − share)):
    (1 − 2a) − 2cφ(c) + 2ac². Dividing the winsorised mean of z² by it makes φ consistent for normal z.

    >>> round(winsor_consistency(0.1), 4)
    0.6787
    """
    if share <= 0:
        return 1.0
    c = float(stats.norm.ppf(1 - share))
    return float((1 - 2 * share) - 2 * c * stats.norm.pdf(c) + 2 * share * c * c)


def overdispersion_tau2(est, var, winsor_share: float = 0.1) -> float:
    """Additive between-unit variance τ² from winsorised z-scores (Spiegelhalter 2005, §2.2).

    z = est/√var (est relative to the reference); z winsorised at the ``winsor_share`` and 1 − share
    quantiles; φ = mean(z²) / ``winsor_consistency(winsor_share)`` (so that φ is unbiased for normal z; without
    the factor 10 % winsorising deflates φ by a third and τ² by more); τ² = max(0, (Nφ − (N − 1)) / (Σw − Σw²/Σw))
    with w = 1/var.

    >>> round(overdispersion_tau2([0.0, 2.0, -2.0, 0.0], [1.0] * 4, 0.0), 4)  # φ = 2: τ² = (8 − 3) / (4 − 1)
    1.6667
    """
    y, v = np.asarray(est, float), np.asarray(var, float)
    ok = np.isfinite(y) & np.isfinite(v) & (v > 0)
    y, v = y[ok], v[ok]
    if len(y) < 2:
        return 0.0
    z = y / np.sqrt(v)
    if winsor_share > 0:
        lo, hi = np.quantile(z, [winsor_share, 1 - winsor_share])
        z = np.clip(z, lo, hi)
    phi = float(np.mean(z**2)) / winsor_consistency(winsor_share)
    w = 1 / v
    denom = w.sum() - (w**2).sum() / w.sum()
    if phi <= 1 or denom <= 0:
        return 0.0
    return float(max(0.0, (len(y) * phi - (len(y) - 1)) / denom))


def slice_tau2(t: pd.DataFrame, winsor_share: float, pool_units: int) -> np.ndarray:
    """τ² of each tested row: its slice's own estimate pulled toward the estimate of the whole signal × component ×
    year (all works together), with weights N_slice and ``pool_units``; a slice too small for its own estimate takes
    the signal-wide one, never 0 by default.

    Shares are pooled on the intra-class scale (est/√(p0(1 − p0)), var·… = 1/trials), so works with different
    reference shares pool what is comparable: ρ, which the beta-binomial p-value uses.
    """
    scale = np.ones(len(t))
    b = (t["dist"] == "binomial").to_numpy()
    p0 = np.clip(t["p0"].to_numpy(float), 1e-4, 1 - 1e-4)
    scale[b] = p0[b] * (1 - p0[b])
    e = t["est"].to_numpy(float) / np.sqrt(scale)
    v = t["var"].to_numpy(float) / scale
    rel = np.zeros(len(t))
    tested = t["tested"].to_numpy()
    d = t[["level", "signal", "component", "year", "subject", "grade"]].assign(e=e, v=v)[tested]
    for _, g in d.groupby(["level", "signal", "component", "year"], dropna=False, sort=False):
        pooled = overdispersion_tau2(g["e"], g["v"], winsor_share)
        for _, c in g.groupby(["subject", "grade"], dropna=False, sort=False):
            k = len(c) if len(c) >= 2 else 0   # one school has no spread of its own to measure
            own = overdispersion_tau2(c["e"], c["v"], winsor_share) if k else 0.0
            rel[c.index] = (k * own + pool_units * pooled) / (k + pool_units) if k + pool_units else 0.0
    return np.where(tested, rel * scale, 0.0)


def _pvalues(t: pd.DataFrame, tau2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(z, one-sided p) of each test row: normal, or beta-binomial upper tail P(X ≥ k) for shares."""
    est, var = t["est"].to_numpy(float), t["var"].to_numpy(float)
    z = est / np.sqrt(var + tau2)
    p = stats.norm.sf(z)
    b = (t["dist"] == "binomial").to_numpy()
    if b.any():
        k = np.round(t["k"].to_numpy(float)[b])
        n = np.round(t["trials"].to_numpy(float)[b])
        p0 = np.clip(t["p0"].to_numpy(float)[b], 1e-4, 1 - 1e-4)
        rho = np.clip(tau2[b] / (p0 * (1 - p0)), 0, 0.5)
        pb = stats.binom.sf(k - 1, n, p0)
        od = rho > 1e-9
        if od.any():
            s = 1 / rho[od] - 1
            pb[od] = stats.betabinom.sf(k[od] - 1, n[od], p0[od] * s, (1 - p0[od]) * s)
        p[b] = pb
    return z, np.clip(p, 0, 1)


def finalize(tests: pd.DataFrame, p: ObjectivityParams, informative: int = 50, rough_minimum: int = 20) -> pd.DataFrame:
    """Tests → signal rows: overdispersion per slice, p-values, BH q-values over all tested rows, decision.

    A slice is (level, signal, component, year, subject, grade) for cells and (level, signal, component, year)
    for schools; its τ² is ``slice_tau2``: its own estimate pulled toward the signal-wide one.
    """
    from statsmodels.stats.multitest import multipletests

    if tests.empty:
        return pd.DataFrame(columns=COLUMNS)
    t = tests.reset_index(drop=True).copy()
    t["tested"] = (t["n"].astype(float) >= p.min_participants.value) & t["min_ok"].astype(bool) \
        & np.isfinite(t["est"].astype(float)) & (t["var"].astype(float) > 0)
    od = p.overdispersion
    tau2 = slice_tau2(t, od.winsor_share.value, od.pool_units.value) if od.enabled.value else np.zeros(len(t))
    z, pv = _pvalues(t, tau2)
    tested = t["tested"].to_numpy()
    t["statistic"] = np.where(tested, z, np.nan)
    t["p_value"] = np.where(tested, pv, np.nan)
    t["q_value"] = np.nan
    if tested.any():
        t.loc[tested, "q_value"] = multipletests(pv[tested], method="fdr_bh")[1]
    t["fired"] = tested & (t["q_value"] <= p.fdr.value) & t["cond"].astype(bool)
    t["title_ru"] = t["signal"].map(SIGNALS)
    t["unit"] = t["signal"].map(UNITS)
    gap_tag = p.signals.journal_discrepancy.gap_marks.tag   # the ≥ 2 marks rule has its own provenance
    t["tag"] = [gap_tag if c == "gap" else getattr(p.signals, s).enabled.tag for s, c in zip(t["signal"], t["component"])]
    t["sample_size"] = sample_size_category(t["n"].astype(float), informative, rough_minimum).to_numpy()
    t["grade"] = pd.array(t["grade"].astype(float).round(), dtype="Int64")
    t["n"] = t["n"].astype(float).round().astype(int)
    return t[COLUMNS]


# ---------------------------------------------------------------- reading the store

@dataclass(frozen=True)
class Inputs:
    """What the checks read for one year, aggregated in DuckDB (region-wide)."""
    year: int
    cells: pd.DataFrame        # years t−2..t: KEYS, n, s1, s2, nj, lowered, raised, gap
    task_cells: pd.DataFrame   # year t: KEYS, n, sb, sh, sr, sr2
    hist: pd.DataFrame         # year t: KEYS, score, count
    scales: pd.DataFrame       # year t: subject, grade, max_score, min3, min4, min5
    exams: pd.DataFrame        # exams of the last exam_years years
    schools: pd.DataFrame      # school_id, municipality, school_type
    attendance: pd.DataFrame = field(default_factory=pd.DataFrame)  # year t: KEYS, listed, absent
    exam_within: pd.DataFrame | None = None  # pupils' within-school exam variance from protocols


def _task_masks(con, year: int, slots: list[str]) -> pd.DataFrame:
    """Per work of the year: 0/1 masks over ``slots`` for Б and for П/В tasks, and their maximum points."""
    tasks = con.execute("SELECT year, subject, grade, position, max_score, level FROM vpr_tasks WHERE year = ?",
                        [year]).df()
    at = {c: i for i, c in enumerate(slots)}   # slot column → its place in the scores list
    tasks["slot"] = tasks["position"].map(lambda x: at.get(f"task_{int(x):02d}"))
    rows = []
    for (y, subj, g), d in tasks[tasks["slot"].notna()].groupby(["year", "subject", "grade"]):
        bmask, hmask = np.zeros(len(slots)), np.zeros(len(slots))
        bmask[d.loc[d["level"] == "Б", "slot"].to_numpy(int)] = 1.0
        hmask[d.loc[d["level"].isin(["П", "В"]), "slot"].to_numpy(int)] = 1.0
        bm = float(d.loc[d["level"] == "Б", "max_score"].sum())
        hm = float(d.loc[d["level"].isin(["П", "В"]), "max_score"].sum())
        if bm > 0 and hm > 0:
            rows.append({"year": int(y), "subject": subj, "grade": int(g), "bmask": bmask.tolist(),
                         "hmask": hmask.tolist(), "bm": bm, "hm": hm})
    return pd.DataFrame(rows, columns=["year", "subject", "grade", "bmask", "hmask", "bm", "hm"])


def load_inputs(store, year: int, p: ObjectivityParams) -> Inputs:
    """One scan of the ВПР rows of years t−2..t into a temporary DuckDB table, then every aggregate from it."""
    gap = p.signals.journal_discrepancy.gap_marks.value
    with store.connect() as con:
        tables = set(con.execute("SHOW TABLES").df()["name"])
        present = set(con.execute("DESCRIBE vpr").df()["column_name"])
        slots = [c for c in vocab.TASK_COLUMNS if c in present]
        masks = _task_masks(con, year, slots) if "vpr_tasks" in tables and slots else pd.DataFrame(
            columns=["year", "subject", "grade", "bmask", "hmask", "bm", "hm"])
        con.register("task_masks", masks)
        scores = "[" + ", ".join(f"coalesce(v.{c}, 0)" for c in slots) + "]::DOUBLE[]" if slots else "NULL"
        dot = "list_dot_product({s}, m.{k}::DOUBLE[])"
        con.execute(f"""
            CREATE TEMP TABLE w AS
            SELECT v.year, v.municipality, v.school_id, v.subject, v.grade, v.primary_score AS score, v.mark,
                   v.journal_mark, 100.0 * v.primary_score / s.max_score AS pct,
                   {dot.format(s=scores, k='bmask') if slots else 'NULL'} / m.bm AS b,
                   {dot.format(s=scores, k='hmask') if slots else 'NULL'} / m.hm AS h,
                   {dot.format(s=scores, k='bmask') if slots else 'NULL'} AS bp
            FROM vpr v JOIN mark_scales s USING (year, subject, grade)
            LEFT JOIN task_masks m ON m.year = v.year AND m.subject = v.subject AND m.grade = v.grade
            WHERE NOT v.absent AND v.primary_score IS NOT NULL AND v.year BETWEEN ? AND ?""", [year - 2, year])
        cells = con.execute("""
            SELECT year, municipality, school_id, subject, grade, count(*) AS n, sum(pct) AS s1, sum(pct * pct) AS s2,
                   count(*) FILTER (WHERE mark IS NOT NULL AND journal_mark IS NOT NULL) AS nj,
                   count(*) FILTER (WHERE mark < journal_mark) AS lowered,
                   count(*) FILTER (WHERE mark > journal_mark) AS raised,
                   count(*) FILTER (WHERE abs(mark - journal_mark) >= ?) AS gap
            FROM w GROUP BY ALL ORDER BY ALL""", [gap]).df()
        task_cells = con.execute("""
            WITH t AS (SELECT * FROM w WHERE year = ? AND b IS NOT NULL),
                 e AS (SELECT year, subject, grade, bp, avg(h) AS eh FROM t GROUP BY ALL),
                 r AS (SELECT t.*, t.h - e.eh AS r FROM t JOIN e USING (year, subject, grade, bp))
            SELECT year, municipality, school_id, subject, grade, count(*) AS n, sum(b) AS sb, sum(h) AS sh,
                   sum(r) AS sr, sum(r * r) AS sr2
            FROM r GROUP BY ALL ORDER BY ALL""", [year]).df()
        hist = con.execute("""SELECT year, municipality, school_id, subject, grade, score, count(*) AS count
                              FROM w WHERE year = ? GROUP BY ALL ORDER BY ALL""", [year]).df()
        scales = con.execute("SELECT year, subject, grade, max_score, min3, min4, min5 FROM mark_scales WHERE year = ?",
                             [year]).df()
        attendance = con.execute("""SELECT year, municipality, school_id, subject, grade, count(*) AS listed,
                                           count(*) FILTER (WHERE absent) AS absent
                                    FROM vpr WHERE year = ? GROUP BY ALL ORDER BY ALL""", [year]).df()
        k = p.signals.above_region_unconfirmed.exam_years.value
        exams = con.execute("SELECT * FROM exams WHERE year BETWEEN ? AND ?", [year - k + 1, year]).df() \
            if "exams" in tables else pd.DataFrame()
        within = None
        if "exam_results" in tables:
            from workbench.identify import EXAM_PUPIL_CELLS_SQL, exam_within_variance
            within = exam_within_variance(con.execute(EXAM_PUPIL_CELLS_SQL, [year - k + 1, year]).df())
        schools = con.execute("SELECT school_id, municipality, school_type FROM schools").df() \
            if "schools" in tables else pd.DataFrame(columns=["school_id", "municipality", "school_type"])
    for df in (cells, task_cells, hist, attendance):
        for c in ("year", "grade"):
            if c in df:
                df[c] = df[c].astype(int)
    return Inputs(year, cells, task_cells, hist, scales, exams, schools, attendance, within)


def checks_from_inputs(inp: Inputs, p: ObjectivityParams) -> pd.DataFrame:
    """Every signal's test rows (before overdispersion and FDR) from ``Inputs``."""
    lv = tuple(p.levels.value)
    cur = inp.cells[inp.cells["year"] == inp.year]
    parts = [
        signal_above_region(cur, exam_effects(inp.exams, inp.year, p.signals.above_region_unconfirmed.exam_years.value,
                                              inp.exam_within),
                            inp.schools, p, lv),
        signal_task_profile(inp.task_cells, p, lv),
        signal_boundary_heaping(heaping_windows(inp.hist, inp.scales, p.signals.boundary_heaping.window.value), p, lv),
        signal_uniform_high(cur, p, lv, kurtosis=work_kurtosis(inp.hist)),
        signal_cohort_reversal(inp.cells, inp.year, p, lv),
        signal_journal_discrepancy(cur, p, levels=lv),
        signal_low_participation(inp.attendance, p, lv),
    ]
    parts = [x for x in parts if not x.empty]
    return pd.concat(parts, ignore_index=True) if parts else _empty()


def signals(store, year: int, params: ObjectivityParams | None = None) -> pd.DataFrame:
    """All objectivity signals of the region in ``year`` (filter by ``municipality`` afterwards).

    One row per school × (subject × grade | whole school) × signal × component, with the columns of
    ``COLUMNS``: ``n`` participants (works, for the whole school), ``effect`` in ``unit``, ``threshold``,
    ``statistic`` (z), one-sided ``p_value``, Benjamini–Hochberg ``q_value``, ``fired``, ``tested``,
    ``sample_size`` (FIOKO category), ``tag`` (provenance of the criterion) and ``description_ru``.
    """
    p = params or load_objectivity_params()
    ss = load_defaults().sample_size
    inp = load_inputs(store, year, p)
    out = finalize(checks_from_inputs(inp, p), p, ss.informative.value, ss.rough_minimum.value)
    return out.sort_values(["municipality", "school_id", "level", "signal", "component", "subject", "grade"],
                           na_position="first", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- for identification

# «понизили» (ВПР below the journal) fires on weak schools themselves: journals rarely hold «2»; the two-way gap
# says nothing of the direction. Every other signal, and «повысили», points at ВПР results above what they should be.
NOT_INFLATION = {("journal_discrepancy", "lowered"), ("journal_discrepancy", "gap")}


def inflated_schools(sig: pd.DataFrame) -> frozenset:
    """Schools with a fired signal of possibly inflated ВПР results: what identification excludes when a preset's
    ``exclude_objectivity_flags`` is on (``identify.Evidence.excluded``).

    >>> sig = pd.DataFrame({"school_id": ["a", "b"], "signal": ["journal_discrepancy"] * 2,
    ...                     "component": ["lowered", "raised"], "fired": [True, True]})
    >>> sorted(inflated_schools(sig))
    ['b']
    """
    fired = sig[sig["fired"].astype(bool)]
    keep = [(s, c) not in NOT_INFLATION for s, c in zip(fired["signal"], fired["component"].fillna(""))]
    return frozenset(fired.loc[keep, "school_id"])


# ---------------------------------------------------------------- per school

SCHOOL_COLUMNS = ["school_id", "municipality", "year", "signals_fired", "rows_fired", "rows_tested", "strongest_signal",
                  "strongest_effect", "strongest_unit", "strongest_ratio", "min_q", *SIGNALS, "summary_ru"]


def _works_ru(n: int) -> str:
    """«1 работа», «3 работы», «5 работ».

    >>> [_works_ru(k) for k in (1, 3, 5, 12, 22)]
    ['1 работа', '3 работы', '5 работ', '12 работ', '22 работы']
    """
    tail = "работа" if n % 10 == 1 and n % 100 != 11 else \
        "работы" if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14) else "работ"
    return f"{n} {tail}"


def _where_ru(g: pd.DataFrame, shown: int = 3) -> str:
    """Where a signal fired: «школа в целом», up to ``shown`` works by name, then how many more."""
    parts = ["школа в целом"] if (g["level"] == "school").any() else []
    cells = g[g["level"] == "cell"].drop_duplicates(["subject", "grade"]).sort_values(["subject", "grade"])
    names = [f"{vocab.SUBJECTS.get(r.subject, r.subject).lower()}, {int(r.grade)} кл." for r in cells.itertuples()]
    if len(names) > shown:
        names = names[:shown] + [f"ещё {_works_ru(len(names) - shown)}"]
    return "; ".join(parts + names)


def _q_ru(q: float) -> str:
    return "< 0,001" if q < 0.001 else f"= {_num(q, 3)}"


def school_signals(sig: pd.DataFrame) -> pd.DataFrame:
    """Per school and year: which checks fired and how strongly.

    ``signals_fired`` distinct signals fired, ``rows_fired`` fired rows; the strongest fired row is the one
    whose effect exceeds its threshold the most (``strongest_ratio`` = effect / threshold, so effects in
    different units compare); ``min_q`` the smallest q-value of the school's fired rows; one column per signal
    with its count of fired rows; and a Russian summary sentence (signals, never a verdict). Schools without
    fired rows are listed with zeros (``rows_tested`` = 0: too few participants to check anything). Sorted by
    signals, then fired rows, then q.
    """
    if sig.empty:
        return pd.DataFrame(columns=SCHOOL_COLUMNS)
    keys = ["school_id", "municipality", "year"]
    out = sig[keys].drop_duplicates().set_index(keys).sort_index()
    f = sig[sig["fired"].astype(bool)].copy()
    f["ratio"] = f["effect"] / f["threshold"].where(f["threshold"] > 0)
    g = f.groupby(keys)
    out["signals_fired"] = g["signal"].nunique()
    out["rows_fired"] = g.size()
    out["rows_tested"] = sig[sig["tested"].astype(bool)].groupby(keys).size()
    top = f.sort_values("ratio", ascending=False, na_position="first", kind="stable").groupby(keys).head(1)
    top = top.set_index(keys)
    out["strongest_signal"] = top["signal"]
    out["strongest_effect"] = top["effect"].astype(float)
    out["strongest_unit"] = top["unit"]
    out["strongest_ratio"] = g["ratio"].max()
    out["min_q"] = g["q_value"].min()
    counts = f.groupby(keys + ["signal"]).size().unstack("signal")
    for s_ in SIGNALS:
        out[s_] = counts[s_] if s_ in counts else 0
    ints = ["signals_fired", "rows_fired", "rows_tested", *SIGNALS]
    out[ints] = out[ints].fillna(0).astype(int)
    summary = pd.Series(np.where(out["rows_tested"] > 0, "Признаков необъективности результатов ВПР не выявлено.",
                                 "Признаки не проверялись: в работах школы слишком мало участников."),
                        index=out.index, dtype=object)
    for key, d in g:
        parts = [f"{SIGNALS[s_][:1].lower()}{SIGNALS[s_][1:]} ({_where_ru(d[d['signal'] == s_])})"
                 for s_ in SIGNALS if (d["signal"] == s_).any()]
        summary[key] = f"Признаки необъективности результатов ВПР: {', '.join(parts)}; наименьшее q {_q_ru(d['q_value'].min())}."
    out["summary_ru"] = summary
    out = out.reset_index()
    out["year"] = out["year"].astype(int)
    return out.sort_values(["signals_fired", "rows_fired", "min_q"], ascending=[False, False, True],
                           kind="stable").reset_index(drop=True)[SCHOOL_COLUMNS]
