"""``generate_demo``: write the demo region's raw files (``out/raw``) and its ground truth (``out/truth``).

Work is done one municipality at a time (in up to two processes): its pupils and works for all years
are generated, the per-school exports of that municipality are written, and the rest of its works go to
a temporary pickle per (year, subject, grade); then each region protocol is assembled from those pieces
and written. Memory therefore stays bounded by one municipality plus one (year, subject, grade).

Layout of ``out``::

    raw/schools.xlsx, raw/vpr_tasks.csv, raw/mark_scales.csv
    raw/<table>/<table>_<year>.csv|.xlsx        context, staff, resources, outcomes, surveys, exams
    raw/exams/protocols/<OGE|EGE>_<year>_<municipality>.xlsx       pupil protocols of РЦОИ (last year, see protocols)
    raw/roadmap/measures.xlsx, partnerships.csv, deficits.csv, courses.csv
    raw/vpr/<year>/VPR_<year>_<subject>_<grade>_region.csv          region protocol (most schools)
    raw/vpr/<year>/<municipality>/VPR_<year>_<subject>_<grade>_<edu…>.xlsx|.csv   per-school form / Ф1
    raw/vpr/<year>/<municipality>/VPR_<year>_<subject>_<grade>_mun<code>.xlsx     a municipality's protocol
    truth/README.md, truth/*.csv                                    planted effects (never read by analysis)

Example
-------
>>> import tempfile
>>> s = generate_demo(Path(tempfile.mkdtemp()), scale=0.02, seed=1)   # doctest: +SKIP
>>> s.lines_ru()[0]                                                    # doctest: +SKIP
'Демонстрационный регион сгенерирован: ...'
"""
from __future__ import annotations

import os
import pickle
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.demo import tables as T
from workbench.demo.catalogue import Work, scales_table, tasks_table, work_catalogue
from workbench.demo.files import style_for, write_table_csv, write_table_xlsx, write_vpr_file
from workbench.demo.protocols import MANIFEST_COLUMNS, exams_and_protocols
from workbench.demo.region import RegionPlan, build_plan
from workbench.demo.truth import write_truth
from workbench.demo.works import MunicipalityModel, generate_year, plan_missing

# Per-school or per-municipality exports: (municipality, year) -> (format, suffix, subjects; None = all).
# The remaining works of the region go to the region protocols (one CSV per year, subject and grade).
# Below scale 1 the per-school exports cover grade 5 only, which keeps the test region quick.
EXPORTS: dict[tuple[str, int], tuple[str, str, tuple[str, ...] | None]] = {
    ("004", 2025): ("school_form", ".xlsx", ("rus", "math")),
    ("004", 2026): ("f1", ".xlsx", ("rus", "math")),
    ("002", 2026): ("school_form", ".csv", ("rus", "math")),
    ("002", 2024): ("region_protocol", ".xlsx", None),
}
SMALL_SCALE_EXPORT_GRADES = (5,)


def export_of(code: str, year: int, subject: str, grade: int, scale: float) -> tuple[str, str] | None:
    """(format, suffix) of a municipality's own export of this work, or None (it goes to the region protocol).

    >>> export_of("004", 2026, "math", 5, 1.0), export_of("004", 2026, "math", 7, 0.05), export_of("007", 2026, "rus", 5, 1.0)
    (('f1', '.xlsx'), None, None)
    """
    rule = EXPORTS.get((code, year))
    if rule is None or (rule[2] is not None and subject not in rule[2]):
        return None
    if scale < 1 and rule[0] != "region_protocol" and grade not in SMALL_SCALE_EXPORT_GRADES:
        return None
    return rule[0], rule[1]


# Dialects of the other tables' files (realistic variety; the importer sniffs them).
TABLE_FILES: dict[str, tuple[str, dict]] = {
    "context": (".csv", {"sep": ";", "encoding": "utf-8-sig"}),
    "staff": (".xlsx", {}),
    "resources": (".csv", {"sep": ";", "encoding": "cp1251"}),
    "outcomes": (".csv", {"sep": ",", "encoding": "utf-8"}),
    "surveys": (".csv", {"sep": ";", "encoding": "utf-8"}),
    "exams": (".csv", {"sep": ";", "encoding": "utf-8-sig"}),
}
SHEETS_RU = {"schools": "Реестр ОО", "staff": "Кадры", "measures": "Дорожная карта"}


@dataclass
class DemoSummary:
    """What ``generate_demo`` produced (counts for the CLI's Russian summary)."""

    out: Path
    scale: float
    seed: int
    municipalities: int
    schools: int
    pupils: int
    works: int
    files: int
    truth_files: int
    seconds: float
    years: tuple[int, ...] = ()
    agreement: dict[str, float] = field(default_factory=dict)

    def lines_ru(self) -> list[str]:
        """The summary in Russian, one line per item.

        >>> s = DemoSummary(Path("d"), 1.0, 2026, 41, 654, 271516, 2_300_000, 900, 8, 95.4, (2022, 2026),
        ...                 {"lowered": 0.342, "confirmed": 0.592, "raised": 0.066})
        >>> s.lines_ru()[1]
        'Масштаб: 1; зерно: 2026; годы: 2022–2026.'
        """
        years = f"{self.years[0]}–{self.years[-1]}" if self.years else "—"
        lines = [
            f"Демонстрационный регион сгенерирован: {self.out}",
            f"Масштаб: {self.scale:g}; зерно: {self.seed}; годы: {years}.",
            f"Муниципалитетов: {self.municipalities}; школ: {self.schools}; обучающихся: {self.pupils:,}".replace(",", " ") + ".",
            f"Строк результатов ВПР (работ участников): {self.works:,}".replace(",", " ") + ".",
            f"Сырых файлов: {self.files} (папка raw/); файлов эталона: {self.truth_files} (папка truth/).",
        ]
        if self.agreement:
            a = self.agreement
            lines.append("Соответствие отметок ВПР и журнала: понизили {:.1f} %, подтвердили {:.1f} %, повысили {:.1f} %."
                         .format(100 * a["lowered"], 100 * a["confirmed"], 100 * a["raised"]).replace(".", ",", 3))
        lines.append("Время: " + f"{self.seconds:.1f}".replace(".", ",") + " с.")
        lines.append("Загрузка: workbench import " + str(self.out / "raw") + " --store <папка хранилища>")
        return lines


# ---------------------------------------------------------------- phase 1: one municipality

_CATALOGUE: dict[tuple[int, str, int], Work] = {}


def _init_worker(catalogue: dict) -> None:
    _CATALOGUE.clear()
    _CATALOGUE.update(catalogue)


def _school_stats(works: pd.DataFrame, w: Work) -> pd.DataFrame:
    """Per school (rows come sorted by school): works written, ВПР-vs-journal agreement counts, scores
    exactly on a mark boundary and 1–2 points below one."""
    done = ~works["absent"].to_numpy(dtype=bool)
    m = works["mark"].to_numpy(dtype=float, na_value=np.nan)[done]
    j = works["journal_mark"].to_numpy(dtype=float, na_value=np.nan)[done]
    p = works["primary_score"].to_numpy(dtype=float, na_value=np.nan)[done]
    both = ~np.isnan(m) & ~np.isnan(j)
    bounds = (w.scale.min3, w.scale.min4, w.scale.min5)
    cols = {"works": np.ones(len(m)), "with_journal": both, "lowered": both & (m < j), "confirmed": both & (m == j),
            "raised": both & (m > j), "mark2": m == 2, "at_boundary": np.isin(p, bounds),
            "below_boundary": np.any([(p >= b - 2) & (p < b) for b in bounds], axis=0)}
    ids = works["school_id"].to_numpy()[done]
    if not len(ids):
        return pd.DataFrame(columns=["school_id", *cols])
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    sums = {k: np.add.reduceat(np.asarray(v, dtype=np.int64), starts) for k, v in cols.items()}
    return pd.DataFrame({"school_id": ids[starts], **sums})


def _municipality_job(args: tuple) -> dict:
    """Generate one municipality for all years; write its own exports; park the rest for the protocols."""
    schools, seed, years, missing, raw_dir, tmp_dir, scale = args
    cat = _CATALOGUE
    model = MunicipalityModel(schools, seed, years)
    code = model.code
    names = dict(zip(schools["school_id"], schools["name"]))
    manifest, truths, stats, protocols, replaced = [], [], [], [], []
    tables: dict[str, list[pd.DataFrame]] = {t: [] for t in T.YEAR_TABLES}
    for year in years:
        yw = generate_year(model, cat, year, missing)
        truths.append(yw.truth)
        ordinal = 0
        for (subject, grade), works in sorted(yw.works.items()):
            w = cat[(year, subject, grade)]
            stats.append(_school_stats(works, w).assign(year=year, subject=subject, grade=grade))
            export = export_of(code, year, subject, grade, scale)
            if export:
                fmt, suffix = export
                folder = raw_dir / "vpr" / str(year) / code
                if fmt == "f1":   # the Ф1 school line carries the school's name
                    works = works.assign(school_name=works["school_id"].map(names))
                groups = [(f"mun{code}", works)] if fmt == "region_protocol" else list(works.groupby("school_id", sort=True))
                for who, part in groups:
                    path = folder / f"VPR_{year}_{subject}_{grade}_{who}{suffix}"
                    style = style_for(ordinal + int(code) * 7, suffix, year)
                    ordinal += 1
                    rows = write_vpr_file(part.reset_index(drop=True), w.tasks, path, fmt, style)
                    manifest.append(_manifest_row(path, raw_dir, fmt, style, rows, year, subject, grade))
            else:
                part_dir = tmp_dir / f"{year}_{subject}_{grade}"
                part_dir.mkdir(parents=True, exist_ok=True)
                with open(part_dir / f"{code}.pkl", "wb") as fh:
                    pickle.dump(works, fh, protocol=pickle.HIGHEST_PROTOCOL)
        for name, fn in T.YEAR_TABLES.items():
            if name == "exams":   # some of the last year's results go to pupil protocols instead
                left, written, moved = exams_and_protocols(model, year, missing, raw_dir, years[-1])
                tables[name].append(left)
                protocols += written
                replaced.append(moved)
            else:
                tables[name].append(fn(model, year, missing))
    return {"code": code, "manifest": manifest, "truth": pd.concat(truths, ignore_index=True),
            "stats": pd.concat(stats, ignore_index=True) if stats else pd.DataFrame(),
            "tables": {k: pd.concat(v, ignore_index=True) for k, v in tables.items()},
            "protocols": protocols, "replaced": pd.concat(replaced, ignore_index=True)}


def _manifest_row(path: Path, raw_dir: Path, fmt: str, style, rows: int, year: int, subject: str, grade: int) -> dict:
    return {"file": path.relative_to(raw_dir).as_posix(), "format": fmt, "rows": rows, "year": year,
            "subject": subject, "grade": grade, "journal_header": style.journal_header, "not_done": style.not_done,
            "absent_word": style.absent_word, "two_variant_columns": style.two_variant_columns,
            "formula_totals": style.formula_totals, "encoding": style.encoding, "sep": style.sep,
            "total_header": style.total_header}


# ---------------------------------------------------------------- phase 2: region protocols

def _protocol_job(args: tuple) -> dict | None:
    """Assemble one region protocol (year, subject, grade) from the municipalities' parked pieces."""
    key, part_dir, raw_dir, ordinal = args
    year, subject, grade = key
    parts = sorted(part_dir.glob("*.pkl"))
    if not parts:
        return None
    frames = []
    for p in parts:
        with open(p, "rb") as fh:
            frames.append(pickle.load(fh))
    works = pd.concat(frames, ignore_index=True)
    path = raw_dir / "vpr" / str(year) / f"VPR_{year}_{subject}_{grade}_region.csv"
    style = style_for(ordinal, ".csv", year)
    rows = write_vpr_file(works, _CATALOGUE[key].tasks, path, "region_protocol", style)
    shutil.rmtree(part_dir)
    return _manifest_row(path, raw_dir, "region_protocol", style, rows, year, subject, grade)


class _Runner:
    """Runs jobs in order, in this process or in one spawn pool shared by both phases.

    Spawn, not fork: forking once pyarrow's threads exist can deadlock.
    """

    def __init__(self, workers: int, catalogue: dict):
        self.catalogue, self.pool = catalogue, None
        if workers > 1:
            import multiprocessing as mp

            self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                            initializer=_init_worker, initargs=(catalogue,))
        else:
            _init_worker(catalogue)

    def map(self, fn, jobs: list) -> list:
        if self.pool is None:
            return [fn(j) for j in jobs]
        return list(self.pool.map(fn, jobs, chunksize=1))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def default_workers(municipalities: int) -> int:
    """Two processes for a real region on a multi-core machine; one for a small test region (a pool's
    start-up costs more than it saves) and inside a Jupyter kernel (no multiprocessing in notebooks)."""
    if "ipykernel" in sys.modules or municipalities < 8:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


# ---------------------------------------------------------------- the whole region

def generate_demo(out: Path, scale: float = 1.0, seed: int = 2026, *, workers: int | None = None,
                  planted: bool = True) -> DemoSummary:
    """Generate the demo region into ``out`` (``raw/`` for import, ``truth/`` for checking) and summarise it.

    ``scale`` multiplies the number of schools (see ``workbench.demo.region``); the same scale and seed give
    byte-identical files, whatever ``workers`` (processes; default: ``default_workers``). ``planted=False``
    plants nothing (no effect of ``region.EFFECTS``): a null region for checking false alarms. Example::

        s = generate_demo(Path("data/demo"), scale=1, seed=2026)
        print("\\n".join(s.lines_ru()))
    """
    t0 = time.perf_counter()
    out = Path(out)
    raw, truth_dir = out / "raw", out / "truth"
    if raw.exists() and not (truth_dir / "README.md").exists():
        # Never delete a raw/ folder that is not a previous demo region (it may hold real exports).
        raise FileExistsError(f"в {out} уже есть папка raw/, и это не демо-регион: укажите другую папку --out")
    for d in (raw, truth_dir):   # a rerun replaces the previous demo region entirely
        if d.exists():
            shutil.rmtree(d)
    raw.mkdir(parents=True)
    plan = build_plan(scale, seed, planted=planted)
    workers = workers or default_workers(len(plan.municipalities))
    catalogue = work_catalogue(plan.years)
    missing = plan_missing(plan.schools, plan.years, plan.seed)
    tmp = Path(tempfile.mkdtemp(prefix=".work-", dir=out))
    runner = _Runner(workers, catalogue)
    try:
        # Largest municipalities first so two workers finish together.
        order = plan.schools.groupby("municipality")["enrolment"].sum().sort_values(ascending=False, kind="stable").index
        jobs = [(plan.schools[plan.schools["municipality"] == c].reset_index(drop=True), plan.seed, plan.years,
                 missing[missing["municipality"] == c], raw, tmp, plan.scale) for c in order]
        results = sorted(runner.map(_municipality_job, jobs), key=lambda r: r["code"])
        keys = sorted({tuple(p.name.split("_")) for p in tmp.iterdir() if p.is_dir()},
                      key=lambda k: (int(k[0]), int(k[2]), k[1]))
        pjobs = [((int(y), s, int(g)), tmp / f"{y}_{s}_{g}", raw, i) for i, (y, s, g) in enumerate(keys)]
        protocols = [r for r in runner.map(_protocol_job, pjobs) if r]
    finally:
        runner.close()
        shutil.rmtree(tmp, ignore_errors=True)
    manifest = pd.DataFrame([m for r in results for m in r["manifest"]] + protocols).sort_values("file").reset_index(drop=True)
    measures = T.measures_table(plan)
    n_tables = _write_tables(plan, catalogue, results, raw, measures)
    stats = pd.concat([r["stats"] for r in results], ignore_index=True)
    school_years = pd.concat([r["truth"] for r in results], ignore_index=True)
    exam_protocols = pd.DataFrame([m for r in results for m in r["protocols"]], columns=MANIFEST_COLUMNS)
    replaced = pd.concat([r["replaced"] for r in results], ignore_index=True)
    truth_files, agreement = write_truth(truth_dir, plan, missing, school_years, stats, manifest, measures,
                                         exam_protocols, replaced)
    return DemoSummary(out=out, scale=float(scale), seed=int(seed), municipalities=len(plan.municipalities),
                       schools=len(plan.schools), pupils=int(plan.schools["enrolment"].sum()),
                       works=int(manifest["rows"].sum()), files=len(manifest) + n_tables + len(exam_protocols),
                       truth_files=truth_files,
                       seconds=round(time.perf_counter() - t0, 1), years=plan.years, agreement=agreement)


def _write_tables(plan: RegionPlan, catalogue: dict, results: list[dict], raw: Path, measures: pd.DataFrame) -> int:
    """All non-ВПР tables; returns the number of files written."""
    n = 0
    write_table_xlsx(T.schools_table(plan), "schools", raw / "schools.xlsx", SHEETS_RU["schools"])
    write_table_csv(tasks_table(catalogue), "vpr_tasks", raw / "vpr_tasks.csv", sep=";", encoding="utf-8")
    write_table_csv(scales_table(catalogue), "mark_scales", raw / "mark_scales.csv", sep=";", encoding="utf-8")
    n += 3
    for name, (suffix, dialect) in TABLE_FILES.items():
        full = pd.concat([r["tables"][name] for r in results], ignore_index=True)
        for year, part in full.groupby("year", sort=True):
            path = raw / name / f"{name}_{int(year)}{suffix}"
            part = part.reset_index(drop=True)
            if suffix == ".xlsx":
                write_table_xlsx(part, name, path, SHEETS_RU.get(name, name))
            else:
                write_table_csv(part, name, path, **dialect)
            n += 1
    write_table_xlsx(measures, "measures", raw / "roadmap" / "measures.xlsx", SHEETS_RU["measures"])
    write_table_csv(T.partnerships_table(plan), "partnerships", raw / "roadmap" / "partnerships.csv")
    write_table_csv(T.deficits_table(plan), "deficits", raw / "roadmap" / "deficits.csv", sep=",", encoding="utf-8-sig")
    write_table_csv(T.courses_table(plan), "courses", raw / "roadmap" / "courses.csv")
    return n + 4
