"""Pupil-level ОГЭ/ЕГЭ protocols of the demo region (РЦОИ «Протокол проверки результатов», several exams per sheet).

For the municipalities and exams of ``PROTOCOL_EXPORTS`` the last year's exam results are written as pupil
protocols (``raw/exams/protocols/<OGE|EGE>_<year>_<code>.xlsx``) instead of school-level rows of
``raw/exams/exams_<year>.csv``: the same simulated pupils (``tables.exam_pupils``), so the school-level rows
derived from the protocols (``workbench.data.exam_protocol.school_exams``) equal the rows that moved. Task results
are drawn given each pupil's primary score (its points spread over the tasks, short-answer points more likely),
the ЕГЭ primary score is the test score converted back linearly. Names and documents are made up
(``exam_protocol.fake_person``: «Иванов-Тест», series «0000»).

Example
-------
>>> import re
>>> import numpy as np
>>> short, long_ = task_strings(5, (1, 1, 2), (2, 3), np.random.default_rng(1))
>>> len(short), sum(1 if c == "+" else 0 if c == "-" else int(c) for c in short) + sum(
...     int(s) for s in re.findall(r"(\\d+)\\(", long_))
(3, 5)
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.demo import knobs as K
from workbench.demo import tables as T
from workbench.demo.region import rng_for
from workbench.demo.works import LETTERS, MunicipalityModel
from workbench.data.exam_protocol import ProtocolStyle, fake_person, write_exam_protocol

# municipality -> (exam, layout style) of its protocols for the region's last year
PROTOCOL_EXPORTS: dict[str, tuple[tuple[str, ProtocolStyle], ...]] = {
    "004": (("ОГЭ", ProtocolStyle(title="protocol")),
            ("ЕГЭ", ProtocolStyle(title="cells", blank_rows=2, sheet="ЕГЭ"))),
    "002": (("ОГЭ", ProtocolStyle(title="subject_line", result_header="combined", footer=False, region_line=None)),),
}
LATIN = {"ОГЭ": "OGE", "ЕГЭ": "EGE"}
MANIFEST_COLUMNS = ["file", "exam", "municipality", "year", "subjects", "rows", "title_style", "result_header"]


def protocol_exams(code: str, year: int, last_year: int) -> tuple[str, ...]:
    """Exams of a municipality and year whose results go to pupil protocols.

    >>> protocol_exams("004", 2026, 2026), protocol_exams("004", 2025, 2026), protocol_exams("007", 2026, 2026)
    (('ОГЭ', 'ЕГЭ'), (), ())
    """
    if year != last_year:
        return ()
    return tuple(exam for exam, _ in PROTOCOL_EXPORTS.get(code, ()))


def task_strings(total: int, short_max: tuple[int, ...], long_max: tuple[int, ...],
                 rng: np.random.Generator) -> tuple[str, str]:
    """(short-answer string, long-answer string) of a pupil whose points sum to ``total``.

    One-point short tasks are «+»/«-», multi-point ones a digit; long tasks «score(max)».
    """
    maxima = np.array(short_max + long_max)
    slots = np.repeat(np.arange(len(maxima)), maxima)
    w = np.where(slots < len(short_max), 1.0, K.LONG_TASK_WEIGHT)
    chosen = rng.choice(len(slots), size=int(total), replace=False, p=w / w.sum())
    pts = np.bincount(slots[chosen], minlength=len(maxima))
    short = "".join(("+" if p else "-") if m == 1 else str(p) for p, m in zip(pts[:len(short_max)], short_max))
    long_ = "".join(f"{p}({m})" for p, m in zip(pts[len(short_max):], long_max))
    return short, long_


def protocol_pupils(pupils: pd.DataFrame, model: MunicipalityModel, year: int, exam: str) -> pd.DataFrame:
    """The protocol rows of one exam: ``exam_pupils`` rows with class, ППЭ, auditorium, task strings, date and
    made-up personal data (the same pupil keeps one name in both subjects)."""
    rng = rng_for(model.seed, model.code, year, "protocol", exam)
    d = pupils[pupils["exam"] == exam].reset_index(drop=True)
    index = {sid: i for i, sid in enumerate(model.schools["school_id"])}
    rural = np.asarray(model.rural, dtype=bool)
    people: dict[tuple[str, int], int] = {}
    cohorts = (pupils[pupils["exam"] == exam].groupby("school_id")["pupil"].max() + 1).astype(int).to_dict()
    rows = []
    for r in d.itertuples(index=False):
        i = index[r.school_id]
        cohort = cohorts[r.school_id]
        cap = K.CLASS_CAP_RURAL if rural[i] else K.CLASS_CAP_URBAN
        per = int(np.ceil(cohort / np.ceil(cohort / cap)))
        short_max, long_max = K.EXAM_TASKS[(exam, r.subject)]
        top = sum(short_max) + sum(long_max)
        primary = int(r.primary_score) if exam == "ОГЭ" else int(round(int(r.test_score) * top / 100))
        short, long_ = task_strings(primary, short_max, long_max, rng)
        person = fake_person(int(model.code) * 10_000 + people.setdefault((r.school_id, int(r.pupil)), len(people)))
        month, day = K.EXAM_DATES[(exam, r.subject)]
        rows.append({"exam": exam, "subject": r.subject, "exam_date": pd.Timestamp(dt.date(year, month, day)),
                     "school_id": r.school_id, "class_label": f"{r.grade}{LETTERS[int(r.pupil) // per]}",
                     "ppe": f"{int(model.code):02d}{(50 if exam == 'ЕГЭ' else 1) + i % 3:02d}",
                     "auditorium": f"{1 + int(r.pupil) // 15:04d}", "short_answers": short, "long_answers": long_,
                     "primary_score": primary, "mark": r.mark, "test_score": r.test_score,
                     **dict(zip(("surname", "first_name", "patronymic", "doc_series", "doc_number"), person))})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    order = {s: k for k, s in enumerate(("rus", "math"))}
    out = out.assign(_s=out["subject"].map(order)).sort_values(["_s", "school_id", "class_label"], kind="stable")
    return out.drop(columns="_s").reset_index(drop=True)


def exams_and_protocols(model: MunicipalityModel, year: int, missing: pd.DataFrame, raw_dir: Path,
                        last_year: int) -> tuple[pd.DataFrame, list[dict], pd.DataFrame]:
    """(school-level exams rows left in the CSV, manifest rows of the protocols written, the rows they replace)."""
    pupils = T.exam_pupils(model, year, missing)
    exams = protocol_exams(model.code, year, last_year)
    moved = pupils["exam"].isin(exams)
    manifest = []
    for exam, style in PROTOCOL_EXPORTS.get(model.code, ()) if exams else ():
        part = protocol_pupils(pupils, model, year, exam)
        if part.empty:
            continue
        path = raw_dir / "exams" / "protocols" / f"{LATIN[exam]}_{year}_{model.code}.xlsx"
        rows = write_exam_protocol(part, path, style=style)
        manifest.append({"file": path.relative_to(raw_dir).as_posix(), "exam": exam, "municipality": model.code,
                         "year": year, "subjects": " ".join(dict.fromkeys(part["subject"])), "rows": rows,
                         "title_style": style.title, "result_header": style.result_header})
    return (T.exams_from_pupils(pupils[~moved], model.code, year), manifest,
            T.exams_from_pupils(pupils[moved], model.code, year))
