"""The demo region's plan: municipalities and schools with their latent traits and planted effects.

``build_plan`` reads ``params/regions/demo.yaml`` (the ``demo:`` block of each municipality is checked by
``DemoBlock``), applies the scale and draws every school: type, settlement, enrolment, context, school
effect and planted effects. It writes nothing, so tests can check the default-scale region cheaply.

Scale semantics
---------------
* ``scale >= 1``: all municipalities of the file at their sizes, plus ``round((scale - 1) * N)`` synthetic
  clones (new 3-digit codes, generated names, the size and context of a template municipality taken in
  priority order), so the number of schools grows ≈ ``scale`` times. At most 999 municipalities.
* ``scale < 1``: a test region. The first ``max(2, round(scale * N))`` municipalities in ``priority``
  order (Лесосибирск first), and the pupils of every school multiplied by ``min(1, SCALE_SMALL_PUPILS *
  scale)`` but never below ``SMALL_SCHOOL_KEEP`` (or the school's own size), so small rural schools stay
  small and the school network, types and planted effects are those of the full region.

Example
-------
>>> plan = build_plan(scale=1.0, seed=2026)
>>> les = plan.schools[plan.schools.municipality == "004"]
>>> len(les), int(les.enrolment.sum())
(9, 6743)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from workbench import vocab
from workbench.demo import knobs as K
from workbench.paths import PARAMS_DIR

REGION_FILE = PARAMS_DIR / "regions" / "demo.yaml"
EFFECTS: tuple[str, ...] = ("persistently_low", "resilient", "grade_inflation", "inflated_vpr", "supported",
                            "missing_data", "polarised", "deprived", "selective_absence")
EFFECT_TITLES_RU = {
    "persistently_low": "устойчиво низкие результаты (отрицательный эффект школы во все годы)",
    "resilient": "резильентная школа: низкий социальный контекст, высокая добавленная ценность",
    "grade_inflation": "завышение отметок в журнале (журнал намного выше ВПР)",
    "inflated_vpr": "завышенные результаты ВПР (пики у границ отметок, нетипичный профиль заданий, ОГЭ не подтверждает)",
    "supported": "участник программы поддержки ШНОР (эффект с первого года поддержки: 2024 или 2025)",
    "missing_data": "пропуски в данных школы",
    "polarised": "поляризованный контингент (много слабых и сильных обучающихся)",
    "deprived": "неблагоприятный социальный контекст (кандидат в ШНСУ)",
    "selective_absence": "выборочное участие: слабые обучающиеся чаще не пишут ВПР (высокая доля не писавших)",
}
Effect = Literal[EFFECTS]  # type: ignore[valid-type]
MISSING_KINDS: tuple[str, ...] = ("context", "staff", "resources", "outcomes", "surveys", "exams", "vpr", "vpr_journal")
MissingKind = Literal[MISSING_KINDS]  # type: ignore[valid-type]
SELECTIVE_TYPES = ("гимназия", "лицей", "СОШ с УИОП")
GRADES_BY_TYPE = {"НОШ": range(1, 5), "ООШ": range(1, 10)}  # others: 1..11


class SchoolSpec(BaseModel):
    """A school named in a seed document (the rest of a municipality is generated)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: StrictStr = Field(min_length=3)
    type: Literal[vocab.SCHOOL_TYPES]  # type: ignore[valid-type]
    settlement: Literal[vocab.SETTLEMENTS] = "город"  # type: ignore[valid-type]
    pupils: Annotated[int, Field(ge=10, le=5000)] | None = None
    distance_km: Annotated[float, Field(ge=0, le=500)] | None = None
    ses: Annotated[float, Field(ge=-4, le=4)] | None = None        # context override (z)
    effect: Annotated[float, Field(ge=-2, le=2)] | None = None     # school effect override
    plant: list[Effect] = []  # type: ignore[valid-type]
    missing: list[MissingKind] = []   # type: ignore[valid-type]  # which data are missing (with plant missing_data)
    inflated_from: Annotated[int, Field(ge=2000, le=2100)] | None = None   # first inflated ВПР year

    @model_validator(mode="after")
    def _consistent(self):
        if "supported" in self.plant and "persistently_low" not in self.plant:
            raise ValueError("plant: supported требует persistently_low (программа поддерживает ШНОР)")
        if self.missing and "missing_data" not in self.plant:
            raise ValueError("missing задаётся только вместе с plant: missing_data")
        if self.inflated_from and "inflated_vpr" not in self.plant:
            raise ValueError("inflated_from задаётся только вместе с plant: inflated_vpr")
        return self


class DemoBlock(BaseModel):
    """The ``demo:`` block of a municipality in the region file (the generator's own keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schools: Annotated[int, Field(ge=1, le=999)]
    pupils: Annotated[int, Field(ge=10, le=500_000)]
    urban_share: Annotated[float, Field(ge=0, le=1)]
    ses_mean: Annotated[float, Field(ge=-3, le=3)]
    small_share: Annotated[float, Field(ge=0, le=1)] = 0.35
    teachers: Annotated[int, Field(ge=1)] | None = None
    migrant_shift: Annotated[float, Field(ge=-3, le=3)] = 0.0   # logit shift of the non-native share
    journal_shift: Annotated[float, Field(ge=-2, le=2)] = 0.0   # extra leniency of journal marks in the municipality
    priority: Annotated[int, Field(ge=1)] | None = None
    listed: list[SchoolSpec] = []

    @model_validator(mode="after")
    def _listed_fit(self):
        if len(self.listed) > self.schools:
            raise ValueError("listed: именованных школ больше, чем schools")
        fixed = sum(s.pupils or 0 for s in self.listed)
        if fixed > self.pupils:
            raise ValueError("listed: сумма pupils именованных школ больше pupils муниципалитета")
        return self


@dataclass(frozen=True)
class RegionPlan:
    """Everything drawn before any pupil: the region's municipalities and schools.

    ``schools`` has the registry columns (``school_id``, ``municipality``, ``name``, ``school_type``,
    ``settlement``, ``enrolment``, ``distance_km``, ``small_class``) plus latent ones: ``ses``, ``effect``,
    ``teachers``, ``journal_bias``, ``inflated_from``, the effect flags of ``EFFECTS`` and ``template``
    (the yaml municipality a clone was copied from).
    """

    code: str
    name: str
    years: tuple[int, ...]
    scale: float
    seed: int
    municipalities: pd.DataFrame
    schools: pd.DataFrame


def load_region_file(path: Path = REGION_FILE) -> dict:
    """The region file as a dict with every ``demo`` block validated (ValueError in Russian otherwise)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    for m in data["municipalities"]:
        if not isinstance(m.get("code"), str):
            raise ValueError(f"код муниципалитета {m.get('code')!r} должен быть строкой в кавычках")
        try:
            m["demo"] = DemoBlock.model_validate(m.get("demo") or {})
        except Exception as e:  # pydantic's message, prefixed with where it is
            raise ValueError(f"{path}: municipalities[{m['code']}].demo: {e}") from None
    return data


def rng_for(seed: int, *parts: object) -> np.random.Generator:
    """An independent, reproducible stream for one (seed, parts...) key.

    >>> float(rng_for(2026, "004", "plan").random()) == float(rng_for(2026, "004", "plan").random())
    True
    """
    import zlib

    key = [int(seed)] + [zlib.crc32(str(p).encode("utf-8")) for p in parts]
    return np.random.default_rng(key)


# ---------------------------------------------------------------- municipalities

_PREFIXES = ("Верхне", "Нижне", "Ново", "Старо", "Красно", "Бело", "Сосново", "Кедро", "Зелено", "Светло",
             "Каменно", "Озёрно", "Тихо", "Сухо", "Средне", "Прибрежно", "Лесно", "Ясно")
_ROOTS = ("горск", "речинск", "озёрск", "борск", "полянск", "ярск", "дольск", "ключинск", "травинск", "камск")


def clone_name(i: int, urban: bool) -> str:
    """A plausible generated municipality name, unique for each i (clones at scale > 1).

    >>> clone_name(0, True), clone_name(1, False)
    ('Верхнегорский городской округ', 'Нижнегорский муниципальный район')
    """
    n = len(_PREFIXES) * len(_ROOTS)
    stem = _PREFIXES[i % len(_PREFIXES)] + _ROOTS[(i // len(_PREFIXES)) % len(_ROOTS)]
    adj = stem[:-2] + "ский"   # every root ends in «ск»: Верхнегорск → Верхнегорский
    kind = "городской округ" if urban else ("муниципальный район" if (i // 3) % 2 == 0 else "муниципальный округ")
    suffix = f" № {i // n + 1}" if i >= n else ""
    return f"{adj} {kind}{suffix}"


def plan_municipalities(data: dict, scale: float) -> pd.DataFrame:
    """Municipalities of the region at this scale: code, name, params, template, block (DemoBlock), pupil factor.

    >>> plan_municipalities(load_region_file(), 0.05)["code"].tolist()
    ['002', '004']
    """
    if not (scale > 0):
        raise ValueError(f"масштаб должен быть положительным, получено {scale}")
    base = data["municipalities"]
    order = sorted(range(len(base)), key=lambda i: (base[i]["demo"].priority or 10_000, base[i]["code"]))
    rows = [{"code": m["code"], "name": m["name"], "params": m.get("params"), "template": m["code"],
             "block": m["demo"]} for m in base]
    factor = 1.0
    if scale < 1:
        keep = max(2, round(scale * len(base)))
        rows = [rows[i] for i in sorted(order[:keep])]
        factor = min(1.0, K.SCALE_SMALL_PUPILS * scale)
    else:
        extra = round((scale - 1) * len(base))
        last = max(int(m["code"]) for m in base)
        if last + extra > 999:
            raise ValueError(f"масштаб {scale} слишком велик: кодов муниципалитетов не хватит (не более 999)")
        for k in range(extra):
            t = base[order[k % len(order)]]
            blk = t["demo"].model_copy(update={"listed": [], "teachers": None, "priority": None, "migrant_shift": 0.0,
                                               "journal_shift": 0.0})
            rows.append({"code": f"{last + 1 + k:03d}", "name": clone_name(k, blk.urban_share >= 0.5),
                         "params": None, "template": t["code"], "block": blk})
    out = pd.DataFrame(rows)
    out["pupil_factor"] = factor
    return out


# ---------------------------------------------------------------- schools

_VILLAGES = ("Ивановская", "Петровская", "Никольская", "Покровская", "Успенская", "Михайловская", "Александровская",
             "Берёзовская", "Сосновская", "Липовская", "Каменская", "Луговская", "Озёрная", "Раздольная", "Троицкая",
             "Знаменская", "Вознесенская", "Ключевская", "Полевская", "Дубровская", "Калиновская", "Рябиновская",
             "Заречная", "Марьинская", "Ольховская", "Красноярская", "Октябрьская", "Первомайская", "Садовая",
             "Лесная", "Горская", "Ильинская", "Богородская", "Спасская", "Преображенская", "Васильевская",
             "Степная", "Кленовская", "Ягодная", "Светлинская", "Черёмуховская", "Боровская", "Родниковская")
_TYPE_P_URBAN = {"СОШ": 0.60, "гимназия": 0.09, "лицей": 0.07, "СОШ с УИОП": 0.09, "ООШ": 0.09, "НОШ": 0.06}
_TYPE_P_RURAL = {"СОШ": 0.55, "ООШ": 0.33, "НОШ": 0.12}
_SIZE_MEAN = {("город", "СОШ"): 820, ("город", "гимназия"): 950, ("город", "лицей"): 900, ("город", "СОШ с УИОП"): 880,
              ("город", "ООШ"): 260, ("город", "НОШ"): 160, ("село", "СОШ"): 190, ("село", "ООШ"): 80,
              ("село", "НОШ"): 35}


def school_grades(school_type: str) -> range:
    """Grades a school of this type teaches (НОШ 1–4, ООШ 1–9, others 1–11).

    >>> list(school_grades("НОШ")), len(school_grades("лицей"))
    ([1, 2, 3, 4], 11)
    """
    return GRADES_BY_TYPE.get(school_type, range(1, 12))


def school_name(school_type: str, settlement: str, number: int, village: str) -> str:
    """Registry name of a school.

    >>> school_name("СОШ", "город", 12, "Ивановская"), school_name("ООШ", "село", 3, "Ивановская")
    ('МБОУ «СОШ № 12»', 'МКОУ «Ивановская ООШ»')
    """
    if settlement == "село":
        short = {"СОШ": "СОШ", "ООШ": "ООШ", "НОШ": "НОШ"}.get(school_type, "СОШ")
        return f"МКОУ «{village} {short}»"
    label = {"гимназия": f"Гимназия № {number}", "лицей": f"Лицей № {number}",
             "СОШ с УИОП": f"СОШ № {number} с углублённым изучением отдельных предметов"}.get(
        school_type, f"{school_type} № {number}")
    return f"МБОУ «{label}»"


def _draw_type(rng: np.random.Generator, settlement: str) -> str:
    p = _TYPE_P_URBAN if settlement == "город" else _TYPE_P_RURAL
    return str(rng.choice(list(p), p=list(p.values())))


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(int)
    short = total - out.sum()
    if short > 0:
        out[np.argsort(-(raw - out), kind="stable")[:short]] += 1
    return out


def _small_size(rng: np.random.Generator, school_type: str) -> int:
    lo, hi = K.SMALL_CLASS_RANGE
    return int(rng.integers(lo, hi + 1, size=len(school_grades(school_type))).sum())


def plan_schools_of(mun: pd.Series, seed: int, planted: bool = True) -> pd.DataFrame:
    """All schools of one municipality with registry columns, latent traits and planted effects.

    ``planted=False`` plants nothing: every effect flag is False (the region file's ``plant``, ``missing`` and
    ``inflated_from`` of listed schools are ignored), so the region is a null world for checking false alarms.
    """
    blk: DemoBlock = mun["block"]
    rng = rng_for(seed, mun["code"], "schools")
    rows = []
    villages = list(rng.permutation(_VILLAGES))
    numbers = iter(sorted(rng.choice(np.arange(1, 180), size=blk.schools, replace=False)))
    for i in range(blk.schools):
        spec = blk.listed[i] if i < len(blk.listed) else None
        if spec is not None:
            settlement, stype, name = spec.settlement, spec.type, spec.name
            plants = set(spec.plant) if planted else set()
        else:
            settlement = "город" if rng.random() < blk.urban_share else "село"
            stype = _draw_type(rng, settlement)
            v = villages[i % len(villages)] + ("" if i < len(villages) else f"-{i // len(villages) + 1}")
            name, plants = school_name(stype, settlement, int(next(numbers)), v), set()
        small = settlement == "село" and spec is None and rng.random() < blk.small_share
        rows.append({"name": name, "school_type": stype, "settlement": settlement, "small_class": bool(small),
                     "listed": spec is not None, "plants": plants,
                     "pupils_fixed": spec.pupils if spec else None,
                     "missing_pinned": ",".join(spec.missing) if spec and planted else "",
                     "inflated_fixed": spec.inflated_from if spec and planted else None,
                     "ses_fixed": spec.ses if spec else None, "effect_fixed": spec.effect if spec else None,
                     "distance_fixed": spec.distance_km if spec else None})
    df = pd.DataFrame(rows)
    # Make names unique within the municipality (generated names may collide).
    dup = df.groupby("name").cumcount()
    df["name"] = np.where(dup > 0, df["name"] + " (" + (dup + 1).astype(str) + ")", df["name"])
    df["enrolment"] = _enrolments(df, blk.pupils, rng)
    df = _apply_pupil_factor(df, float(mun["pupil_factor"]))
    df["school_id"] = [f"edu{mun['code']}{i + 1:03d}" for i in range(len(df))]
    df["municipality"] = mun["code"]
    df["template"] = mun["template"]
    df["migrant_shift"] = blk.migrant_shift
    df["distance_km"] = _distances(df, rng)
    # Objectivity signals are planted only where no real school could be meant: synthetic municipalities
    # and the fictional schools listed in the region file.
    _plant_effects(df, rng, objectivity=bool(pd.isna(mun["params"])), planted=planted)
    _latent_traits(df, blk, rng)
    df["teachers"] = _teachers(df, blk.teachers if mun["pupil_factor"] == 1.0 else None, rng)
    return df.drop(columns=["plants", "pupils_fixed", "distance_fixed", "ses_fixed", "effect_fixed",
                            "inflated_fixed"])


def _enrolments(df: pd.DataFrame, pupils: int, rng: np.random.Generator) -> np.ndarray:
    """Pupils per school summing exactly to the municipality's pupils (small schools keep small classes)."""
    out = np.zeros(len(df), dtype=int)
    fixed = df["pupils_fixed"].notna().to_numpy()
    out[fixed] = df.loc[fixed, "pupils_fixed"].astype(int)
    small = df["small_class"].to_numpy()
    for i in np.flatnonzero(small):
        out[i] = _small_size(rng, df.at[i, "school_type"])
    free = ~fixed & ~small
    rest = pupils - out.sum()
    if free.any():
        means = np.array([_SIZE_MEAN[(s, t)] for s, t in zip(df.loc[free, "settlement"], df.loc[free, "school_type"])])
        w = means * rng.lognormal(0, 0.25, size=free.sum())
        floor = np.where(df.loc[free, "settlement"] == "село", 40, 90)
        sizes = np.maximum(floor, _largest_remainder(max(rest, int(floor.sum())), w))
        out[free] = sizes
    return out


def _apply_pupil_factor(df: pd.DataFrame, factor: float) -> pd.DataFrame:
    if factor >= 1.0:
        return df
    e = df["enrolment"].to_numpy()
    keep = np.minimum(e, K.SMALL_SCHOOL_KEEP)
    return df.assign(enrolment=np.maximum(keep, np.round(e * factor)).astype(int))


def _distances(df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    urban = df["settlement"].to_numpy() == "город"
    d = np.where(urban, rng.uniform(0.5, 12, len(df)), rng.lognormal(3.1, 0.6, len(df)))
    d = np.minimum(d, 300)
    fixed = df["distance_fixed"].notna().to_numpy()
    d[fixed] = df.loc[fixed, "distance_fixed"].astype(float)
    return np.round(d, 1)


def _plant_effects(df: pd.DataFrame, rng: np.random.Generator, objectivity: bool = True, planted: bool = True) -> None:
    """Effect flags: the yaml's for listed schools, drawn by the RATE_* knobs for the others.

    ``objectivity=False`` (seed municipalities) never draws grade inflation or inflated ВПР; ``planted=False``
    draws as usual (same random stream) but keeps every flag False.
    """
    flags = {e: np.zeros(len(df), dtype=bool) for e in EFFECTS}
    support_from = np.zeros(len(df), dtype=int)
    for i, r in df.iterrows():
        if r["listed"]:
            for e in r["plants"]:
                flags[e][i] = True
            support_from[i] = K.SUPPORT_START if "supported" in r["plants"] else 0
            continue
        selective = r["school_type"] in SELECTIVE_TYPES
        u = rng.random(8)
        if not selective and u[0] < K.RATE_PERSISTENTLY_LOW:
            flags["persistently_low"][i] = True
            flags["supported"][i] = u[1] < K.SUPPORTED_SHARE
            # the same draw splits the programme into two cohorts (no new random number: the stream is unchanged)
            late = u[1] >= K.SUPPORTED_SHARE * (1 - K.SUPPORT_LATE_SHARE)
            support_from[i] = (K.SUPPORT_START + int(late)) if flags["supported"][i] else 0
        elif not selective and u[0] < K.RATE_PERSISTENTLY_LOW + K.RATE_RESILIENT:
            flags["resilient"][i] = True
        if not selective and not flags["resilient"][i] and u[2] < K.RATE_DEPRIVED:
            flags["deprived"][i] = True
        if objectivity and not selective and u[3] < K.RATE_GRADE_INFLATION:
            flags["grade_inflation"][i] = True
        ordinary = not (selective or flags["persistently_low"][i] or flags["resilient"][i] or flags["deprived"][i])
        if objectivity and ordinary and not flags["grade_inflation"][i] and u[4] < K.RATE_INFLATED_VPR:
            flags["inflated_vpr"][i] = True
        if u[5] < K.RATE_MISSING:
            flags["missing_data"][i] = True
        if not flags["resilient"][i] and u[6] < K.RATE_POLARISED:
            flags["polarised"][i] = True
        if objectivity and ordinary and not (flags["grade_inflation"][i] or flags["inflated_vpr"][i]) \
                and u[7] < K.RATE_SELECTIVE_ABSENCE:
            flags["selective_absence"][i] = True
    for e, v in flags.items():
        df[e] = v if planted else np.zeros(len(df), dtype=bool)
    df["support_from"] = support_from if planted else np.zeros(len(df), dtype=int)


def _latent_traits(df: pd.DataFrame, blk: DemoBlock, rng: np.random.Generator) -> None:
    """Context ``ses``, school effect ``effect``, journal leniency and the first inflated ВПР year."""
    n = len(df)
    selective = df["school_type"].isin(SELECTIVE_TYPES).to_numpy()
    rural = (df["settlement"] == "село").to_numpy()
    ses = blk.ses_mean + rng.normal(0, K.SES_SCHOOL_SD, n)
    ses += np.where(rural, K.SES_RURAL_SHIFT, 0) + np.where(selective, K.SES_SELECTIVE_SHIFT, 0)
    ses += np.where(df["small_class"], K.SES_SMALL_SHIFT, 0)
    res = df["resilient"].to_numpy()
    ses[res] = blk.ses_mean + K.RESILIENT_SES + rng.normal(0, 0.15, res.sum())
    ses[df["deprived"].to_numpy()] += K.DEPRIVED_SES
    eff = rng.normal(0, K.SCHOOL_EFFECT_SD, n) + np.where(selective, K.SELECTIVE_EFFECT, 0)
    low = df["persistently_low"].to_numpy()
    eff[low] = K.LOW_EFFECT + rng.normal(0, 0.08, low.sum())
    eff[res] = K.RESILIENT_EFFECT + rng.normal(0, 0.08, res.sum())
    infl = df["inflated_vpr"].to_numpy()
    eff[infl] = K.INFLATED_TRUE_EFFECT + rng.normal(0, 0.08, infl.sum())
    ses[infl] = blk.ses_mean + rng.normal(0, K.INFLATED_SES_SD, infl.sum())
    for col, arr in (("ses_fixed", ses), ("effect_fixed", eff)):
        given = df[col].notna().to_numpy()
        arr[given] = df.loc[given, col].astype(float)
    jb = rng.normal(0, K.JOURNAL_SCHOOL_SD, n) + np.where(df["grade_inflation"], K.GRADE_INFLATION_BIAS, 0)
    jb += np.where(infl, K.INFLATED_JOURNAL_BIAS, 0) + blk.journal_shift
    inflated_from = np.where(infl, rng.choice([2022, 2023, 2024], size=n), 0)
    fixed = df["inflated_fixed"].notna().to_numpy()
    inflated_from[fixed] = df.loc[fixed, "inflated_fixed"].astype(int)
    df["ses"] = np.round(ses, 4)
    df["effect"] = np.round(eff, 4)
    df["journal_bias"] = np.round(jb, 4)
    df["inflated_from"] = inflated_from.astype(int)


def _teachers(df: pd.DataFrame, total: int | None, rng: np.random.Generator) -> np.ndarray:
    """Pedagogues per school (pupils per pedagogue lower in small rural schools); sums to ``total`` if given."""
    ratio = np.where(df["small_class"], 4.5, np.where(df["settlement"] == "село", 8.0, 10.5))
    t = np.maximum(4, df["enrolment"].to_numpy() / ratio * rng.lognormal(0, 0.1, len(df)))
    if total:
        return _largest_remainder(total, t)
    return np.round(t).astype(int)


def build_plan(scale: float = 1.0, seed: int = 2026, path: Path = REGION_FILE, *, planted: bool = True) -> RegionPlan:
    """Plan the region (municipalities, schools, planted effects) without generating any pupil.

    ``planted=False``: the same region with nothing planted (see ``plan_schools_of``).

    >>> p = build_plan(0.05, 1)
    >>> sorted(p.municipalities.code)
    ['002', '004']
    """
    data = load_region_file(path)
    munis = plan_municipalities(data, scale)
    schools = pd.concat([plan_schools_of(m, seed, planted) for _, m in munis.iterrows()], ignore_index=True)
    for c in ("school_id", "municipality", "name", "school_type", "settlement", "template"):
        schools[c] = schools[c].astype("str")
    return RegionPlan(code=data["code"], name=data["name"], years=tuple(int(y) for y in data["years"]),
                      scale=float(scale), seed=int(seed), municipalities=munis, schools=schools)
