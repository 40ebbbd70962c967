"""Pupils and their ВПР works, one municipality and year at a time (bounded memory at any scale).

``MunicipalityModel`` holds the per-school latent effects of one municipality across years (year wobble,
cohort deviations); ``generate_year`` draws that year's pupils, their classes and subjects, task scores by
the IRT-like model of ``knobs``, primary scores, marks by the scale and journal marks, and returns the
canonical ``vpr`` rows per (subject, grade) plus the school-year truth.

Example
-------
>>> from workbench.demo.region import build_plan
>>> from workbench.demo.catalogue import work_catalogue
>>> plan = build_plan(0.05, 7)
>>> model = MunicipalityModel(plan.schools[plan.schools.municipality == "004"], plan.seed, plan.years)
>>> year = generate_year(model, work_catalogue((2024,)), 2024, missing=pd.DataFrame(columns=MISSING_COLUMNS))
>>> sorted(year.works)[:2], bool(year.works[("rus", 5)]["participant"].str.len().eq(5).all())
([('bio', 5), ('bio', 6)], True)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench import vocab
from workbench.demo import knobs as K
from workbench.demo.catalogue import Work, step_offsets, subject_plan, works_of_year
from workbench.demo.region import MISSING_KINDS, rng_for, school_grades

VPR_GRADES = vocab.VPR_GRADES
FIRST_ENTRY = 2008             # earliest cohort (year of entering grade 1) we keep a deviation for
LETTERS = "АБВГДЕЖЗИКЛМН"
MISSING_COLUMNS = ["school_id", "municipality", "table", "year", "subject", "detail"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function.

    >>> float(sigmoid(np.array(0.0)))
    0.5
    """
    return 1.0 / (1.0 + np.exp(-x))


class MunicipalityModel:
    """Latent school-by-year and cohort effects of one municipality (drawn once, reused by every table)."""

    def __init__(self, schools: pd.DataFrame, seed: int, years: tuple[int, ...]):
        self.schools = schools.reset_index(drop=True)
        self.seed, self.years = int(seed), tuple(years)
        self.code = str(self.schools["municipality"].iat[0])
        n = len(self.schools)
        rng = rng_for(seed, self.code, "latent")
        self.year_eff = rng.normal(0, K.YEAR_NOISE_SD, (n, len(years)))
        self.cohort_eff = rng.normal(0, K.COHORT_SD, (n, max(years) - FIRST_ENTRY + 1))
        self.ses = self.schools["ses"].to_numpy(float)
        self.effect = self.schools["effect"].to_numpy(float)
        self.small = self.schools["small_class"].to_numpy(bool)
        self.rural = (self.schools["settlement"] == "село").to_numpy()
        self.base = self._grade_bases()

    def _grade_bases(self) -> np.ndarray:
        """Expected pupils per grade (columns 0..11, column 0 unused) from enrolment and school type."""
        base = np.zeros((len(self.schools), 12))
        for i, (t, e) in enumerate(zip(self.schools["school_type"], self.schools["enrolment"])):
            grades = list(school_grades(t))
            w = np.array([K.SENIOR_GRADE_FACTOR if g >= 10 else 1.0 for g in grades])
            base[i, grades] = e * w / w.sum()
        return base

    def grade_sizes(self, year: int) -> np.ndarray:
        """Pupils per school and grade in a year (small-class schools: 3–10 per grade)."""
        rng = rng_for(self.seed, self.code, year, "sizes")
        wobble = np.exp(rng.normal(0, 0.07, self.base.shape))
        n = np.where(self.base > 0, np.maximum(1, np.round(self.base * wobble)), 0)
        lo, hi = K.SMALL_CLASS_RANGE
        small_n = rng.integers(lo, hi + 1, self.base.shape)
        n = np.where(self.small[:, None] & (self.base > 0), small_n, n)
        return n.astype(int)

    def support(self, year: int) -> np.ndarray:
        """Support-programme effect on each school's ability in a year."""
        start = self.schools["support_from"].to_numpy(int)
        since = year - start
        effect = np.array([K.SUPPORT_EFFECT.get(int(e), K.SUPPORT_EFFECT[max(K.SUPPORT_EFFECT)] if e > 0 else 0.0)
                           for e in since])
        return np.where(self.schools["supported"].to_numpy(bool) & (start > 0) & (since >= 0), effect, 0.0)

    def mean_ability(self, year: int, grade: int) -> np.ndarray:
        """True mean ability of each school's grade in a year (context + school + year + cohort + support)."""
        yi = self.years.index(year)
        entry = year - grade + 1
        cohort = self.cohort_eff[:, max(0, entry - FIRST_ENTRY)]
        return (K.SES_SLOPE * self.ses + self.effect + self.year_eff[:, yi] + cohort
                + K.REGION_TREND * (year - self.years[0]) + self.support(year))

    def inflated(self, year: int) -> np.ndarray:
        """Schools whose ВПР results are inflated in this year."""
        f = self.schools["inflated_from"].to_numpy(int)
        return self.schools["inflated_vpr"].to_numpy(bool) & (f > 0) & (year >= f)


@dataclass
class YearWorks:
    """One municipality-year: canonical vpr rows per (subject, grade) and the school-year truth."""

    works: dict[tuple[str, int], pd.DataFrame]
    truth: pd.DataFrame


def _pupils(model: MunicipalityModel, year: int, sizes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Every pupil of the ВПР grades: school, grade, class, code, sex, general ability."""
    parts = []
    polarised = model.schools["polarised"].to_numpy(bool)
    for g in VPR_GRADES:
        n = sizes[:, g]
        if n.sum() == 0:
            continue
        school = np.repeat(np.arange(len(n)), n)
        mu = model.mean_ability(year, g)[school]
        z = rng.normal(0, K.PUPIL_SD, len(school))
        pl, sl, ph, sh = K.POLARISED_SPLIT
        u = rng.random(len(school))
        pol = polarised[school]
        z = z + np.where(pol & (u < pl), sl, 0) + np.where(pol & (u > 1 - ph), sh, 0)
        caps = np.where(model.rural, K.CLASS_CAP_RURAL, K.CLASS_CAP_URBAN)
        per = np.ceil(n / np.maximum(1, np.ceil(n / caps)))      # pupils per class, classes of equal size
        within = np.concatenate([np.arange(k) for k in n])
        cls = (within // np.maximum(per, 1)[school]).astype(int)
        parts.append(pd.DataFrame({"school": school, "grade": g, "cls": cls, "theta": mu + z}))
    df = pd.concat(parts, ignore_index=True)
    df["class_label"] = df["grade"].astype(str) + np.array(list(LETTERS))[df["cls"].to_numpy() % len(LETTERS)]
    df["sex"] = np.where(rng.random(len(df)) < 0.49, "Ж", "М")
    # 5-digit codes unique within the school-year, ascending within each class (rows come out sorted).
    order = np.lexsort((df["cls"].to_numpy(), df["grade"].to_numpy(), df["school"].to_numpy()))
    codes = np.empty(len(df), dtype=np.int64)
    school_sorted = df["school"].to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, school_sorted[1:] != school_sorted[:-1]])
    for a, b in zip(starts, np.r_[starts[1:], len(order)]):
        codes[order[a:b]] = np.sort(rng.choice(100_000, size=b - a, replace=False))
    df["participant"] = pd.array(np.char.zfill(codes.astype(str), 5), dtype="str")
    return df


def _assign_subjects(pupils: pd.DataFrame, model: MunicipalityModel, year: int,
                     rng: np.random.Generator) -> dict[tuple[str, int], np.ndarray]:
    """Row indices of the pupils writing each (subject, grade): core subjects, one per choice group per class."""
    out: dict[tuple[str, int], list[np.ndarray]] = {}
    for (school, grade), idx in pupils.groupby(["school", "grade"]).indices.items():
        plan = subject_plan(year, int(grade))
        if plan["share"] < 1 and rng.random() >= plan["share"]:
            continue
        for s in plan["core"]:
            out.setdefault((s, int(grade)), []).append(idx)
        cls = pupils["cls"].to_numpy()[idx]
        for group in plan["groups"]:
            for c in np.unique(cls):
                s = group[int(rng.integers(len(group)))]
                out.setdefault((s, int(grade)), []).append(idx[cls == c])
    return {k: np.sort(np.concatenate(v)) for k, v in out.items()}


def task_scores(theta: np.ndarray, work: Work, variant: np.ndarray, boost: np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
    """Scores (rows × tasks, float with NaN = not done «X») by the graded IRT-like model.

    ``boost`` is added to the ability on П/В tasks only (lenient checking in inflated schools).
    """
    n, k = len(theta), len(work.tasks)
    out = np.zeros((n, k))
    hard = work.hard
    shift = work.variant_shift[variant - 1]
    maxima = work.tasks["max_score"].to_numpy()
    levels = work.tasks["level"].to_numpy()
    for j in range(k):
        th = theta + (boost if hard[j] else 0.0) - shift
        steps = step_offsets(int(maxima[j]))
        p = sigmoid(work.a[j] * (th[:, None] - work.b[j] - steps[None, :]))
        out[:, j] = (rng.random(p.shape) < p).sum(axis=1)
        zero = out[:, j] == 0
        out[zero & (rng.random(n) < K.NOT_DONE_IF_ZERO[levels[j]]), j] = np.nan
    return out


def heap_scores(scores: np.ndarray, work: Work, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pull scores just below a mark boundary up to it (adding points to П/В tasks first) for ``rows``."""
    if not rows.any():
        return scores
    out = scores.copy()
    primary = np.nansum(out, axis=1)
    need = np.zeros(len(out))
    for b in (work.scale.min3, work.scale.min4, work.scale.min5):
        gap = b - primary
        hit = rows & (gap >= 1) & (gap <= K.INFLATED_HEAP_WINDOW) & (rng.random(len(out)) < K.INFLATED_HEAP_PROB)
        need = np.where(hit & (need == 0), gap, need)
    maxima = work.tasks["max_score"].to_numpy()
    order = np.argsort(~work.hard, kind="stable")   # П/В tasks first
    for j in order:
        cur = np.nan_to_num(out[:, j])
        add = np.minimum(maxima[j] - cur, need)
        touched = add > 0
        out[touched, j] = cur[touched] + add[touched]
        need -= add
    return out


def marks_from(primary: np.ndarray, work: Work) -> np.ndarray:
    """Marks 2–5 of primary scores by the work's scale.

    >>> from workbench.demo.catalogue import make_work
    >>> marks_from(np.array([5, 6, 10, 15]), make_work(2022, "math", 4)).tolist()
    [2, 3, 4, 5]
    """
    s = work.scale
    return 2 + (primary >= s.min3).astype(int) + (primary >= s.min4) + (primary >= s.min5)


def _int_array(values: np.ndarray, missing: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(np.where(missing, 0, np.nan_to_num(values)).astype("int64"), missing.astype(bool))


def _work_rows(pupils: dict[str, np.ndarray], idx: np.ndarray, work: Work, model: MunicipalityModel, year: int,
               rng: np.random.Generator, journal_off: np.ndarray) -> pd.DataFrame:
    """Canonical vpr rows of one (subject, grade) for the given pupils."""
    school = pupils["school"][idx]
    n = len(idx)
    theta = pupils["theta"][idx] + rng.normal(0, K.SUBJECT_SD, n)
    absent_rate = K.ABSENT_RATE[0] + (K.ABSENT_RATE[1] - K.ABSENT_RATE[0]) * sigmoid(-1.5 * model.ses[school])
    weak, extra = K.SELECTIVE_ABSENCE       # selective participation: the school keeps weak pupils away
    absent_rate = absent_rate + np.where(model.schools["selective_absence"].to_numpy(bool)[school] & (theta < weak),
                                         extra, 0.0)
    absent = rng.random(n) < absent_rate
    variant = 1 + (np.arange(n) % 2)
    inflated = model.inflated(year)[school]
    scores = task_scores(theta, work, variant, np.where(inflated, K.INFLATED_HARD_BOOST, 0.0), rng)
    scores = heap_scores(scores, work, inflated & ~absent, rng)
    primary = np.nansum(scores, axis=1)
    mark = marks_from(primary, work)
    lenient = K.JOURNAL_BIAS + model.schools["journal_bias"].to_numpy(float)[school]
    j_latent = theta + rng.normal(0, K.JOURNAL_NOISE_SD, n) + lenient
    journal = 2 + (j_latent[:, None] >= work.tau[None, :]).sum(axis=1)
    journal = np.where((journal == 2) & (rng.random(n) >= K.JOURNAL_TWO_KEEP), 3, journal)
    j_missing = (rng.random(n) < K.JOURNAL_MISSING_RATE) | journal_off[school]
    data = {
        "year": pd.array(np.full(n, year), dtype="Int64"),
        "municipality": model.code,
        "school_id": model.schools["school_id"].to_numpy()[school],
        "subject": work.subject,
        "grade": pd.array(np.full(n, work.grade), dtype="Int64"),
        "class_label": pupils["class_label"][idx],
        "participant": pupils["participant"][idx],
        "variant": _int_array(variant, absent),
        "absent": pd.array(absent, dtype="boolean"),
        "sex": pupils["sex"][idx],
        "journal_mark": _int_array(journal, j_missing),
        "primary_score": _int_array(primary, absent),
        "mark": _int_array(mark, absent),
    }
    data["primary_score_reported"] = data["primary_score"].copy()
    data["mark_reported"] = data["mark"].copy()
    for j in range(len(work.tasks)):
        data[f"task_{j + 1:02d}"] = _int_array(scores[:, j], absent | np.isnan(scores[:, j]))
    for c in ("municipality", "subject"):
        data[c] = pd.array(np.full(n, data[c]), dtype="str")
    for c in ("school_id", "class_label", "participant", "sex"):
        data[c] = pd.array(data[c], dtype="str")
    return pd.DataFrame(data)   # rows already in (school, class, participant) order


def _missing_in_year(model: MunicipalityModel, missing: pd.DataFrame, year: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(schools with blank journal marks, {subject: schools whose works are not loaded}) in a year."""
    m = missing[(missing["year"] == year) & missing["school_id"].isin(set(model.schools["school_id"]))]
    ids = model.schools["school_id"]
    journal_off = ids.isin(set(m.loc[m["table"] == "vpr_journal", "school_id"])).to_numpy()
    v = m[m["table"] == "vpr"]
    dropped = {str(subj): ids.isin(set(g["school_id"])).to_numpy() for subj, g in v.groupby("subject")}
    return journal_off, dropped


def generate_year(model: MunicipalityModel, catalogue: dict[tuple[int, str, int], Work], year: int,
                  missing: pd.DataFrame) -> YearWorks:
    """All ВПР rows of one municipality in one year, and its school-year truth."""
    rng = rng_for(model.seed, model.code, year, "pupils")
    sizes = model.grade_sizes(year)
    pupils = _pupils(model, year, sizes, rng)
    assigned = _assign_subjects(pupils, model, year, rng_for(model.seed, model.code, year, "subjects"))
    journal_off, dropped = _missing_in_year(model, missing, year)
    columns = {c: pupils[c].to_numpy() for c in ("school", "theta", "class_label", "participant", "sex")}
    works = {}
    for subject, grade in works_of_year(year):
        idx = assigned.get((subject, grade))
        if idx is None or not len(idx):
            continue
        if subject in dropped:
            idx = idx[~dropped[subject][columns["school"][idx]]]
        if not len(idx):
            continue
        wrng = rng_for(model.seed, model.code, year, subject, grade)
        works[(subject, grade)] = _work_rows(columns, idx, catalogue[(year, subject, grade)], model, year, wrng, journal_off)
    truth = pupils.groupby("school").agg(mean_ability=("theta", "mean"), pupils_vpr_grades=("theta", "size"))
    truth = truth.reindex(range(len(model.schools)))
    truth = pd.DataFrame({
        "school_id": model.schools["school_id"].to_numpy(),
        "municipality": model.code,
        "year": year,
        "true_mean_ability": truth["mean_ability"].round(4).to_numpy(),
        "pupils_vpr_grades": truth["pupils_vpr_grades"].fillna(0).astype(int).to_numpy(),
        "support_effect": model.support(year),
        "vpr_inflated": model.inflated(year),
        "journal_leniency": np.round(K.JOURNAL_BIAS + model.schools["journal_bias"].to_numpy(float), 4),
    })
    return YearWorks(works, truth)


def plan_missing(schools: pd.DataFrame, years: tuple[int, ...], seed: int) -> pd.DataFrame:
    """What is missing for each ``missing_data`` school: the kinds pinned in the region file, else two drawn.

    Kinds (``region.MISSING_KINDS``): context, staff, resources, outcomes, surveys, exams (all rows of the
    school in a year), vpr (all works of one subject in a year: rus or math), vpr_journal (journal marks
    blank in a year). The year is drawn from the second year on.
    """
    detail = {"context": "нет строки контекстных данных за год", "staff": "нет кадровых данных за год",
              "resources": "нет данных о ресурсах за год", "outcomes": "нет данных о дальнейшем обучении и олимпиадах за год",
              "surveys": "анкетирование 500+ не проводилось за год", "exams": "нет результатов ОГЭ/ЕГЭ за год",
              "vpr": "результаты ВПР по предмету не загружены за год",
              "vpr_journal": "в выгрузках ВПР не заполнены отметки по журналу за год"}
    rows = []
    for r in schools[schools["missing_data"]].itertuples(index=False):
        rng = rng_for(seed, r.school_id, "missing")
        pinned = [k for k in str(getattr(r, "missing_pinned", "") or "").split(",") if k]
        kinds = pinned or [MISSING_KINDS[int(k)] for k in rng.choice(len(MISSING_KINDS), size=2, replace=False)]
        for kind in kinds:
            year = int(rng.choice(years[1:]))
            subject = str(rng.choice(["rus", "math"])) if kind == "vpr" else None
            rows.append({"school_id": r.school_id, "municipality": r.municipality, "table": kind, "year": year,
                         "subject": subject, "detail": detail[kind]})
    df = pd.DataFrame(rows, columns=MISSING_COLUMNS)
    df["year"] = df["year"].astype("int64")
    return df.sort_values(["school_id", "table", "year"]).reset_index(drop=True)


def agreement(works: pd.DataFrame) -> dict[str, float]:
    """Shares of pupils whose ВПР mark is below / equal to / above the journal mark (both present).

    >>> df = pd.DataFrame({"mark": pd.array([3, 4, 5, None], dtype="Int64"),
    ...                    "journal_mark": pd.array([4, 4, 4, 4], dtype="Int64")})
    >>> agreement(df)
    {'lowered': 0.3333, 'confirmed': 0.3333, 'raised': 0.3333, 'n': 3}
    """
    both = works["mark"].notna() & works["journal_mark"].notna()
    m = works.loc[both, "mark"].astype(int).to_numpy()
    j = works.loc[both, "journal_mark"].astype(int).to_numpy()
    n = len(m)
    if n == 0:
        return {"lowered": math.nan, "confirmed": math.nan, "raised": math.nan, "n": 0}
    return {"lowered": round(float((m < j).mean()), 4), "confirmed": round(float((m == j).mean()), 4),
            "raised": round(float((m > j).mean()), 4), "n": n}
