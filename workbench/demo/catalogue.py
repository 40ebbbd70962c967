"""The ВПР works of the demo region: which subjects each grade writes, their tasks, levels and mark scales.

Task lists are fixed properties of the synthetic world (they do not depend on the generator's seed):
hand-written for Russian and mathematics in grades 4–5 so that the 2022 maxima match the real FIOKO
scales shipped in ``params/mark_scales.csv`` (math 4/5: 20, Russian 4: 38, Russian 5: 45; Russian 4 in
2026: 24), generated from a fixed hash for the other works. Most works get a new version in 2025.

Example
-------
>>> cat = work_catalogue((2022, 2026))
>>> w = cat[(2022, "math", 4)]
>>> int(w.tasks.max_score.sum()), w.scale.min3, w.scale.min4, w.scale.min5
(20, 6, 10, 15)
>>> int(cat[(2026, "rus", 4)].tasks.max_score.sum())
24
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.demo import knobs as K
from workbench.paths import PARAMS_DIR

SYNTHETIC_SOURCE = "синтетическая шкала демо-региона"

# (subject, grade) -> list of (first year of the version, spec). Spec: "label:maxLevel ...".
HAND_SPECS: dict[tuple[str, int], list[tuple[int, str]]] = {
    ("math", 4): [(2022, "1:1Б 2:1Б 3:2Б 4:1Б 5.1:1Б 5.2:1Б 6.1:1Б 6.2:1Б 7:1Б 8:2П 9.1:1Б 9.2:1П 10:2П 11:2П 12:2В")],
    ("math", 5): [(2022, "1:1Б 2:1Б 3:1Б 4:1Б 5:1Б 6:1Б 7:1Б 8:2Б 9:2П 10:1Б 11.1:1Б 11.2:1Б 12:2П 13:2П 14:2В")],
    ("rus", 4): [(2022, "К1:4Б К2:3Б 2:3Б 3.1:1Б 3.2:3Б 4:3П 5:2Б 6:2П 7:2Б 8:2П 9:2Б 10:2П 11:2Б "
                        "12.1:2Б 12.2:2П 13.1:2Б 13.2:1П"),
                 (2026, "1:4Б 2:3Б 3:2Б 4:2Б 5:2Б 6:2П 7:2Б 8:2П 9:2П 10:1Б 11:2В")],
    ("rus", 5): [(2022, "К1:4Б К2:3Б К3:2Б 2.1:3Б 2.2:3Б 2.3:3П 2.4:3П 3.1:2Б 3.2:2Б 4:2Б 5:2П 6:2Б 7.1:1Б "
                        "7.2:1П 8:2П 9:2Б 10:2П 11:1В 12:1П 13:2Б 14:2В")],
}
VERSION_YEARS_DEFAULT = (2022, 2025)   # a reform of most works in 2025 (new task lists and scales)
HAND_ONLY = {("math", 4)}               # keeps its 2022 task list in every year

# Generic task lists: (number of tasks range, possible maxima, their weights).
SHAPES: dict[str, tuple[tuple[int, int], tuple[int, ...], tuple[float, ...]]] = {
    "rus": ((14, 17), (1, 2, 3, 4), (0.25, 0.45, 0.2, 0.1)),
    "math": ((12, 16), (1, 2, 3), (0.55, 0.35, 0.10)),
    "okr": ((9, 11), (1, 2, 3), (0.3, 0.5, 0.2)),
    "hist": ((9, 12), (1, 2, 3), (0.35, 0.45, 0.2)),
    "soc": ((8, 10), (1, 2, 3), (0.35, 0.45, 0.2)),
    "bio": ((10, 13), (1, 2, 3), (0.3, 0.5, 0.2)),
    "geo": ((10, 13), (1, 2, 3), (0.35, 0.45, 0.2)),
    "phys": ((10, 11), (1, 2, 3), (0.4, 0.35, 0.25)),
    "chem": ((9, 11), (1, 2, 3), (0.3, 0.45, 0.25)),
    "eng": ((6, 7), (2, 3, 4, 5, 6), (0.2, 0.2, 0.2, 0.2, 0.2)),
}
# Cut points of synthetic scales as fractions of the maximum (3, 4, 5).
SCALE_FRACTIONS = {"math": (0.25, 0.50, 0.78), "rus": (0.33, 0.62, 0.88)}
SCALE_FRACTIONS_OTHER = (0.27, 0.55, 0.82)
SUBJECT_DIFFICULTY = {"rus": 0.10, "math": 0.05, "phys": 0.15, "chem": 0.15, "eng": 0.10}
SKILLS = {
    "rus": ("Списывание текста с пропусками", "Орфография", "Пунктуация", "Морфемный разбор", "Морфологический разбор",
            "Синтаксический разбор", "Понимание текста", "Лексическое значение слова", "Речевая ситуация"),
    "math": ("Вычисления", "Текстовая задача", "Единицы измерения", "Чтение таблиц и диаграмм", "Геометрия",
             "Логическая задача", "Уравнения", "Проценты и доли", "Задача повышенной сложности"),
}
SKILLS_OTHER = ("Знание фактов и понятий", "Работа с картой или схемой", "Работа с текстом источника",
                "Объяснение явлений", "Применение знаний в новой ситуации", "Анализ данных",
                "Установление причинно-следственных связей", "Аргументация позиции")

# Subjects each grade writes: "core" for every class, each "group" gives one subject per class (drawn),
# and the share of schools taking part (grades 10–11 are not compulsory).
SUBJECT_PLAN: dict[int, dict] = {
    4: {"core": ("rus", "math", "okr"), "groups": (), "share": 1.0},
    5: {"core": ("rus", "math"), "groups": (("hist", "bio"),), "share": 1.0},
    6: {"core": ("rus", "math"), "groups": (("hist", "bio"), ("geo", "soc")), "share": 1.0},
    7: {"core": ("rus", "math"), "groups": (("hist", "bio", "geo", "soc"), ("phys", "eng")), "share": 1.0},
    8: {"core": ("rus", "math"), "groups": (("hist", "bio", "geo", "soc"), ("phys", "chem")), "share": 1.0},
    10: {"core": ("geo",), "groups": (), "share": 0.6},
    11: {"core": (), "groups": (("hist", "bio", "geo", "phys", "chem"),), "share": 0.5},
}
SUBJECT_PLAN_2025 = {10: {"core": ("rus", "math"), "groups": (), "share": 0.8}}


def subject_plan(year: int, grade: int) -> dict:
    """Core subjects, choice groups and participation share of a grade in a year.

    >>> subject_plan(2024, 10)["core"], subject_plan(2025, 10)["core"]
    (('geo',), ('rus', 'math'))
    """
    if year >= 2025 and grade in SUBJECT_PLAN_2025:
        return SUBJECT_PLAN_2025[grade]
    return SUBJECT_PLAN[grade]


def works_of_year(year: int) -> list[tuple[str, int]]:
    """All (subject, grade) written in a year, in a stable order.

    >>> works_of_year(2024)[:4]
    [('rus', 4), ('math', 4), ('okr', 4), ('rus', 5)]
    """
    out = []
    for g in sorted(SUBJECT_PLAN):
        plan = subject_plan(year, g)
        subs = list(plan["core"]) + [s for grp in plan["groups"] for s in grp]
        out += [(s, g) for s in dict.fromkeys(subs)]
    return out


@dataclass(frozen=True)
class Scale:
    max_score: int
    min3: int
    min4: int
    min5: int
    source: str


@dataclass(frozen=True)
class Work:
    """One (year, subject, grade): task list, IRT parameters, scale and journal thresholds."""

    year: int
    subject: str
    grade: int
    version: int
    tasks: pd.DataFrame            # position, task, max_score, level, skill
    a: np.ndarray                  # discrimination per task
    b: np.ndarray                  # difficulty per task
    variant_shift: np.ndarray      # per variant (index 0 = variant 1)
    scale: Scale
    tau: np.ndarray                # ability where the expected score reaches min3, min4, min5

    @property
    def hard(self) -> np.ndarray:
        return self.tasks["level"].isin(["П", "В"]).to_numpy()


def _stable_rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(str(p).encode("utf-8")) for p in parts])


def parse_spec(spec: str) -> list[tuple[str, int, str]]:
    """A compact task list as (label, maximum, level) triples.

    >>> parse_spec("1:2Б 9.1:1П")
    [('1', 2, 'Б'), ('9.1', 1, 'П')]
    """
    out = []
    for item in spec.split():
        label, rest = item.split(":")
        out.append((label, int(rest[:-1]), rest[-1]))
    return out


def generic_spec(subject: str, grade: int, version: int) -> list[tuple[str, int, str]]:
    """A plausible task list for a work without a hand-written one (fixed for a subject/grade/version)."""
    rng = _stable_rng("tasks", subject, grade, version)
    (lo, hi), maxima, weights = SHAPES[subject]
    n = int(rng.integers(lo, hi + 1))
    m = rng.choice(maxima, size=n, p=weights)
    n_hard = max(2, round(n * (0.25 if grade <= 5 else 0.32)))
    levels = ["Б"] * (n - n_hard) + ["П"] * n_hard
    if grade >= 6:
        levels[-1] = "В"
    labels, k = [], 1
    while len(labels) < n:   # some numbers split into sub-tasks 3.1, 3.2
        if len(labels) < n - 1 and rng.random() < 0.2:
            labels += [f"{k}.1", f"{k}.2"]
        else:
            labels.append(str(k))
        k += 1
    return [(lab, int(mx), lev) for lab, mx, lev in zip(labels[:n], m, levels)]


def _versions(subject: str, grade: int) -> list[tuple[int, str | None]]:
    """(first year, spec or None for a generic list) of each version of a work."""
    hand = HAND_SPECS.get((subject, grade))
    if hand is None:
        return [(y, None) for y in VERSION_YEARS_DEFAULT]
    if len(hand) > 1 or (subject, grade) in HAND_ONLY:
        return list(hand)
    return list(hand) + [(VERSION_YEARS_DEFAULT[1], None)]   # hand-written until the 2025 reform


def _spec_for(subject: str, grade: int, year: int) -> tuple[int, list[tuple[str, int, str]]]:
    versions = _versions(subject, grade)
    first, spec = max((v for v in versions if v[0] <= year), key=lambda v: v[0])
    return first, (parse_spec(spec) if spec else generic_spec(subject, grade, first))


def _real_scales() -> dict[tuple[int, str, int], Scale]:
    df = pd.read_csv(PARAMS_DIR / "mark_scales.csv", comment="#", dtype={"subject": str, "source": str})
    return {(int(r.year), r.subject, int(r.grade)): Scale(int(r.max_score), int(r.min3), int(r.min4), int(r.min5), r.source)
            for r in df.itertuples(index=False)}


def make_scale(subject: str, grade: int, year: int, version: int, max_score: int,
               real: dict[tuple[int, str, int], Scale]) -> Scale:
    """The real FIOKO scale where one exists with this maximum; a synthetic one otherwise.

    Later years of a version whose first year has a real scale reuse its cut points (as a synthetic scale).
    """
    for key in ((year, subject, grade), (version, subject, grade)):
        r = real.get(key)
        if r is not None and r.max_score == max_score:
            src = r.source if key == (year, subject, grade) else SYNTHETIC_SOURCE
            return Scale(max_score, r.min3, r.min4, r.min5, src)
    f3, f4, f5 = SCALE_FRACTIONS.get(subject, SCALE_FRACTIONS_OTHER)
    m3 = max(1, round(f3 * max_score))
    m4 = max(m3 + 1, round(f4 * max_score))
    m5 = min(max_score, max(m4 + 1, round(f5 * max_score)))
    return Scale(max_score, m3, m4, m5, SYNTHETIC_SOURCE)


def expected_score(theta: np.ndarray, a: np.ndarray, b: np.ndarray, maxima: np.ndarray) -> np.ndarray:
    """Expected primary score at each ability (the test characteristic curve of the graded model)."""
    total = np.zeros_like(theta, dtype=float)
    for ak, bk, mk in zip(a, b, maxima):
        for d in step_offsets(int(mk)):
            total += 1.0 / (1.0 + np.exp(-ak * (theta - bk - d)))
    return total


def step_offsets(m: int) -> np.ndarray:
    """Difficulty offsets of the points of an m-point task (spread over STEP_SPREAD).

    >>> step_offsets(1).tolist(), step_offsets(3).tolist()
    ([0.0], [-0.4, 0.0, 0.4])
    """
    return np.linspace(-K.STEP_SPREAD / 2, K.STEP_SPREAD / 2, m) if m > 1 else np.zeros(1)


def make_work(year: int, subject: str, grade: int, real: dict | None = None) -> Work:
    """Build one work (task list, IRT parameters, scale, journal thresholds)."""
    real = _real_scales() if real is None else real
    version, spec = _spec_for(subject, grade, year)
    tasks = pd.DataFrame(spec, columns=["task", "max_score", "level"])
    tasks.insert(0, "position", np.arange(1, len(tasks) + 1))
    rng = _stable_rng("irt", subject, grade, version)
    skills = SKILLS.get(subject, SKILLS_OTHER)
    tasks["skill"] = [skills[i % len(skills)] for i in rng.permutation(len(tasks))]
    b = np.array([K.LEVEL_DIFFICULTY[lv] for lv in tasks["level"]]) + rng.normal(0, K.TASK_DIFFICULTY_SD, len(tasks))
    b += SUBJECT_DIFFICULTY.get(subject, 0.0)
    a = rng.uniform(*K.DISCRIMINATION, len(tasks))
    vshift = np.concatenate([[0.0], rng.normal(0, K.VARIANT_SHIFT_SD, 3)])
    maxima = tasks["max_score"].to_numpy()
    scale = make_scale(subject, grade, year, version, int(maxima.sum()), real)
    grid = np.linspace(-5, 5, 2001)
    curve = expected_score(grid, a, b, maxima)
    # Thresholds at half a point below each boundary: the ability whose expected score rounds to it.
    tau = np.interp([scale.min3 - 0.5, scale.min4 - 0.5, scale.min5 - 0.5], curve, grid)
    return Work(year, subject, grade, version, tasks, a, b, vshift, scale, tau)


def work_catalogue(years: tuple[int, ...]) -> dict[tuple[int, str, int], Work]:
    """Every work of the given years keyed by (year, subject, grade)."""
    real = _real_scales()
    return {(y, s, g): make_work(y, s, g, real) for y in years for s, g in works_of_year(y)}


def tasks_table(cat: dict[tuple[int, str, int], Work]) -> pd.DataFrame:
    """The vpr_tasks table of the catalogue (canonical columns)."""
    parts = [w.tasks.assign(year=y, subject=s, grade=g) for (y, s, g), w in sorted(cat.items())]
    df = pd.concat(parts, ignore_index=True)
    return df[["year", "subject", "grade", "position", "task", "max_score", "level", "skill"]]


def scales_table(cat: dict[tuple[int, str, int], Work]) -> pd.DataFrame:
    """The mark_scales table of the catalogue (canonical columns)."""
    rows = [{"year": y, "subject": s, "grade": g, "max_score": w.scale.max_score, "min3": w.scale.min3,
             "min4": w.scale.min4, "min5": w.scale.min5, "source": w.scale.source} for (y, s, g), w in sorted(cat.items())]
    return pd.DataFrame(rows)
