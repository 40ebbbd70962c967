"""Demo region generator: the plan, determinism, valid tables, readable ВПР exports, planted effects.

A small test region (scale 0.05: Лесосибирск and Урюпинский район, every planted effect present) is
generated once per module; the default-scale region is checked as a plan only (no files).
"""
from __future__ import annotations

import filecmp
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from workbench import vocab
from workbench.config import load_region
from workbench.demo import build_plan, generate_demo
from workbench.demo import tables as T
from workbench.demo.catalogue import scales_table, tasks_table, work_catalogue
from workbench.demo.files import style_for
from workbench.demo.region import EFFECTS, REGION_FILE, DemoBlock, load_region_file
from workbench.demo.works import MunicipalityModel, agreement, generate_year, plan_missing
from workbench.data.exam_protocol import read_exam_protocol, school_exams
from workbench.data.fisoko import read_vpr
from workbench.scales import ScaleBook, load_scales
from workbench.data.schemas import TABLES
from workbench.data.tables import read_table

pytestmark = pytest.mark.slow
SCALE, SEED = 0.05, 2026
SEED_CODES = {"001", "002", "003", "004", "005"}
# seed 003: «понизили отметки на 34,21 %, повысили на 6,5 %, подтвердили на 59,22 %»
SEED003 = {"lowered": 0.3421, "confirmed": 0.5922, "raised": 0.065}


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def plan1():
    return build_plan(1.0, SEED)


@pytest.fixture(scope="module")
def second_run(tmp_path_factory):
    """The same region generated again through the CLI, in a parallel process (started first, waited for later)."""
    out = tmp_path_factory.mktemp("demo_b") / "demo"
    proc = subprocess.Popen([str(Path(sys.executable).parent / "workbench"), "demo", "--out", str(out), "--scale",
                             str(SCALE), "--seed", str(SEED)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield out, proc
    if proc.poll() is None:
        proc.kill()


@pytest.fixture(scope="module")
def region(tmp_path_factory, second_run):
    out = tmp_path_factory.mktemp("demo_a")
    summary = generate_demo(out, scale=SCALE, seed=SEED)
    return out, summary


@pytest.fixture(scope="module")
def truth(region):
    out, _ = region
    t = out / "truth"
    return {"schools": pd.read_csv(t / "schools.csv", dtype={"school_id": str, "municipality": str}),
            "missing": pd.read_csv(t / "missing.csv", dtype={"school_id": str, "municipality": str, "subject": str}),
            "files": pd.read_csv(t / "vpr_files.csv", dtype={"file": str}),
            "years": pd.read_csv(t / "school_years.csv", dtype={"school_id": str, "municipality": str})}


@pytest.fixture(scope="module")
def scales(region):
    out, _ = region
    r = read_table(out / "raw" / "mark_scales.csv", "mark_scales")
    return ScaleBook(load_scales()).extended(r.frame)


@pytest.fixture(scope="module")
def protocols(region):
    """The demo's pupil-level exam protocols read back: (manifest, read per file, pupil results, derived exams rows).

    The protocols carry no municipality; as the importer does, it comes from the school registry."""
    out, _ = region
    manifest = pd.read_csv(out / "truth" / "exam_protocols.csv", dtype={"municipality": str, "file": str})
    reads = {f: read_exam_protocol(out / "raw" / f) for f in manifest["file"]}
    registry = read_table(out / "raw" / "schools.xlsx", "schools").frame.set_index("school_id")["municipality"]
    results = pd.concat([r.results for r in reads.values()], ignore_index=True)
    results["municipality"] = results["school_id"].map(registry)
    return manifest, reads, results, school_exams(results)


@pytest.fixture(scope="module")
def readback(region, truth, scales):
    """Every ВПР export read through workbench.data.fisoko.read_vpr: (file, rows written, VprRead)."""
    out, _ = region
    return [(f, int(n), read_vpr(out / "raw" / f, scales)) for f, n in zip(truth["files"]["file"], truth["files"]["rows"])]


@pytest.fixture(scope="module")
def works(readback, truth, scales):
    """Canonical works of the test region (as imported), with truth flags and scale boundaries."""
    w = pd.concat([r.works for _, _, r in readback], ignore_index=True)
    w = w[~w["absent"].astype(bool)].copy()
    flags = truth["schools"].set_index("school_id")
    for c in ("persistently_low", "resilient", "grade_inflation", "inflated_vpr", "supported", "inflated_from",
              "support_group", "ses"):
        w[c] = w["school_id"].map(flags[c])
    sc = scales.table.rename(columns={"max_score": "max_total"})
    w = w.merge(sc[["year", "subject", "grade", "max_total", "min3", "min4", "min5"]], on=["year", "subject", "grade"])
    w["pct"] = w["primary_score"].astype(float) / w["max_total"].astype(float)
    return w


# ---------------------------------------------------------------- the region file and the plan

def test_region_file_is_valid_for_the_config_loader_and_the_generator():
    region = load_region(REGION_FILE)   # the loader others use (checks params files and codes)
    assert region.code == "demo" and region.years == [2022, 2023, 2024, 2025, 2026]
    raw = yaml.safe_load(REGION_FILE.read_text(encoding="utf-8"))
    assert all(isinstance(m["code"], str) and re.fullmatch(r"\d{3}", m["code"]) for m in raw["municipalities"])
    data = load_region_file()
    assert {m["code"] for m in data["municipalities"] if m.get("params")} == SEED_CODES
    with pytest.raises(Exception, match="extra"):
        DemoBlock.model_validate({"schools": 3, "pupils": 100, "urban_share": 1, "ses_mean": 0, "typo": 1})


def test_default_plan_is_a_realistic_region(plan1):
    s = plan1.schools
    assert len(plan1.municipalities) >= 40 and len(s) >= 600
    assert set(s["school_type"]) == set(vocab.SCHOOL_TYPES) and set(s["settlement"]) == {"город", "село"}
    assert s["school_id"].str.fullmatch(r"edu\d{6}").all() and s["school_id"].is_unique
    assert (s["school_id"].str[3:6] == s["municipality"]).all()
    les = s[s["municipality"] == "004"]
    assert len(les) == 9 and int(les["enrolment"].sum()) == 6743 and int(les["teachers"].sum()) == 698
    assert les["school_type"].value_counts().to_dict() == {"СОШ": 6, "ООШ": 1, "лицей": 1, "гимназия": 1}
    assert set(plan1.municipalities.loc[plan1.municipalities["params"].notna(), "code"]) == SEED_CODES
    ekb = s[s["municipality"] == "001"]
    assert len(ekb) == 30 and ekb["settlement"].eq("город").all()
    assert 150_000 <= s["enrolment"].sum() <= 400_000
    small = s[s["small_class"]]
    assert len(small) >= 50 and (small["settlement"] == "село").all() and small["enrolment"].max() <= 11 * 10
    for e in EFFECTS:
        assert s[e].sum() >= 2, e
    assert not (s["supported"] & ~s["persistently_low"]).any()
    assert (s.loc[s["supported"], "municipality"].nunique() >= 5)


def test_scale_semantics(plan1):
    small = build_plan(SCALE, SEED)
    assert sorted(small.municipalities["code"]) == ["002", "004"]   # Лесосибирск first, then a rural district
    assert len(small.schools) == 25 and small.schools["enrolment"].sum() < 3000
    for e in EFFECTS:
        assert small.schools[e].any(), e
    double = build_plan(2.0, SEED)
    assert 1.8 <= len(double.schools) / len(plan1.schools) <= 2.2
    assert double.municipalities["code"].str.fullmatch(r"\d{3}").all() and double.municipalities["code"].is_unique
    assert double.municipalities["name"].is_unique
    with pytest.raises(ValueError):
        build_plan(0, SEED)


def test_catalogue_keeps_real_scales_and_levels():
    cat = work_catalogue((2022, 2023, 2024, 2025, 2026))
    kept = 0
    for r in load_scales().itertuples(index=False):   # real scales are kept where the task maxima match
        w = cat.get((int(r.year), r.subject, int(r.grade)))
        if w is not None and w.scale.max_score == r.max_score:
            assert (w.scale.min3, w.scale.min4, w.scale.min5, w.scale.source) == (r.min3, r.min4, r.min5, r.source)
            kept += 1
    assert kept >= 5   # 2022 math 4/5, Russian 4/5 and 2026 Russian 4 (DOMAIN §3)
    assert cat[(2023, "rus", 4)].scale.source == "синтетическая шкала демо-региона"
    for (y, s, g), w in cat.items():
        assert int(w.tasks["max_score"].sum()) == w.scale.max_score
        assert len(w.tasks) <= vocab.MAX_TASK_SLOTS and set(w.tasks["level"]) <= {"Б", "П", "В"}
        assert (np.diff(w.tau) > 0).all()
        b = pd.Series(w.b, index=w.tasks["level"])
        assert b["Б"].mean() < b[b.index != "Б"].mean()   # basic tasks are easier
    grades = {g for (_, s, g) in cat if s in ("rus", "math")}
    assert {4, 5, 6, 7, 8} <= grades
    assert {g for (_, _, g) in cat} == set(vocab.VPR_GRADES)
    TABLES["vpr_tasks"].model.validate(tasks_table(cat), lazy=True)
    TABLES["mark_scales"].model.validate(scales_table(cat), lazy=True)


# ---------------------------------------------------------------- generated files

def _all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_same_seed_gives_identical_bytes(region, second_run):
    out, _ = region
    again, proc = second_run
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-3000:]
    assert "Демонстрационный регион сгенерирован" in stdout and "понизили" in stdout   # the CLI's Russian summary
    a = [p.relative_to(out) for p in _all_files(out)]
    b = [p.relative_to(again) for p in _all_files(again)]
    assert a == b and len(a) > 300
    _, mismatch, errors = filecmp.cmpfiles(out, again, [str(p) for p in a], shallow=False)
    assert mismatch == [] and errors == []


def test_different_seed_gives_a_different_region():
    p1, p2 = build_plan(SCALE, 1), build_plan(SCALE, 2)
    assert not np.allclose(p1.schools["ses"], p2.schools["ses"])
    cat = work_catalogue((2024,))
    got = []
    for p in (p1, p2):
        m = MunicipalityModel(p.schools[p.schools["municipality"] == "004"], p.seed, p.years)
        got.append(generate_year(m, cat, 2024, plan_missing(p.schools, p.years, p.seed)).works[("math", 5)])
    assert not got[0]["primary_score"].equals(got[1]["primary_score"])


def test_summary_counts_and_russian_lines(region, truth):
    out, s = region
    assert (s.municipalities, s.schools) == (2, 25)
    assert s.works == int(truth["files"]["rows"].sum()) and 5_000 <= s.works <= 40_000
    raw_files = _all_files(out / "raw")
    assert s.files == len(raw_files)
    lines = s.lines_ru()
    assert lines[0].startswith("Демонстрационный регион сгенерирован") and any("понизили" in x for x in lines)
    assert not list(out.glob(".work-*"))   # the temporary folder is gone


def _texts(path: Path) -> str:
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1251")


def test_raw_holds_only_raw_files_and_never_mentions_the_truth(region):
    out, _ = region
    assert sorted(p.name for p in out.iterdir()) == ["raw", "truth"]
    for p in _all_files(out / "raw"):
        assert p.suffix in (".csv", ".xlsx")
        low = (str(p.relative_to(out)) + _texts(p)).lower()
        for word in ("truth", "эталон", "заложен", "planted", "resilient", "inflat", "persistently"):
            assert word not in low, (p, word)


def test_truth_files_and_readme(region):
    out, _ = region
    t = out / "truth"
    names = {p.name for p in t.iterdir()}
    assert {"README.md", "schools.csv", "effects.csv", "school_years.csv", "school_works.csv", "agreement.csv",
            "missing.csv", "measures_overdue.csv", "vpr_files.csv"} <= names
    readme = (t / "README.md").read_text(encoding="utf-8")
    assert "Эталон демонстрационного региона" in readme
    for e in EFFECTS:
        assert f"`{e}`" in readme
    eff = pd.read_csv(t / "effects.csv")
    assert set(eff["effect"]) == set(EFFECTS)
    overdue = pd.read_csv(t / "measures_overdue.csv")
    assert len(overdue) >= 1 and overdue["status"].isin(["запланировано", "выполняется"]).all()


# ---------------------------------------------------------------- tables

def test_every_generated_table_validates_against_its_model():
    plan = build_plan(SCALE, SEED)
    missing = plan_missing(plan.schools, plan.years, plan.seed)
    frames: dict[str, list[pd.DataFrame]] = {k: [] for k in T.YEAR_TABLES}
    for _, sch in plan.schools.groupby("municipality"):
        m = MunicipalityModel(sch, plan.seed, plan.years)
        for y in plan.years:
            for k, fn in T.YEAR_TABLES.items():
                frames[k].append(fn(m, y, missing))
    tables = {k: pd.concat(v, ignore_index=True) for k, v in frames.items()}
    tables["schools"] = T.schools_table(plan)
    tables.update({k: fn(plan) for k, fn in T.EVENT_TABLES.items()})
    for name, df in tables.items():
        assert len(df) > 0, name
        TABLES[name].model.validate(df, lazy=True)   # raises SchemaErrors listing every failure
    m = tables["measures"]
    assert set(m["direction"]) == set(vocab.ROADMAP_DIRECTIONS) and set(m["status"]) <= set(vocab.MEASURE_STATUSES)
    assert len(T.overdue(m)) >= 1 and m["school_id"].isna().any() and m["school_id"].notna().any()
    assert set(tables["surveys"]["respondent"]) == set(vocab.RESPONDENTS)
    assert set(tables["exams"]["exam"]) == {"ОГЭ", "ЕГЭ"}


def test_raw_table_files_read_back_clean(region):
    out, _ = region
    raw = out / "raw"
    files = {"schools": [raw / "schools.xlsx"], "vpr_tasks": [raw / "vpr_tasks.csv"], "mark_scales": [raw / "mark_scales.csv"]}
    for name in ("context", "staff", "resources", "outcomes", "surveys", "exams"):
        files[name] = sorted((raw / name).glob(f"{name}_*"))
        assert len(files[name]) == 5, name
    for name in ("measures", "partnerships", "deficits", "courses"):
        files[name] = sorted((raw / "roadmap").glob(f"{name}.*"))
    for name, paths in files.items():
        for p in paths:
            r = read_table(p, name)
            bad = r.problems[r.problems["severity"].isin(["error", "fatal"])]
            assert bad.empty and r.rows_read == len(r.frame) > 0, (p, bad.head())
            TABLES[name].model.validate(r.frame.drop(columns=["source_file", "source_sheet", "source_row"]), lazy=True)
    head = (raw / "context" / "context_2024.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert head.startswith("Год;Код муниципалитета;Код ОО;Оба родителя с высшим образованием")
    staff = read_table(raw / "staff" / "staff_2024.xlsx", "staff").frame
    assert staff["has_psychologist"].isin([True, False]).all() and staff["municipality"].isin(["002", "004"]).all()


# ---------------------------------------------------------------- ВПР exports

def test_vpr_exports_read_back_without_errors(region, readback):
    out, _ = region
    on_disk = {p.relative_to(out / "raw").as_posix() for p in (out / "raw" / "vpr").rglob("*") if p.is_file()}
    assert on_disk == {f for f, _, _ in readback}
    for f, rows, r in readback:
        bad = r.problems[r.problems["severity"].isin(["error", "fatal"])]
        assert bad.empty, (f, bad.head().to_dict("records"))
        assert r.rows_read == rows == len(r.works), f
    formats = {(r.format, Path(f).suffix) for f, _, r in readback}
    assert formats == {("region_protocol", ".csv"), ("region_protocol", ".xlsx"), ("school_form", ".xlsx"),
                       ("school_form", ".csv"), ("f1", ".xlsx")}


def test_every_export_style_variant_is_used(truth):
    f = truth["files"]
    for col, values in {"journal_header": 5, "not_done": 3, "absent_word": 2, "two_variant_columns": 2,
                        "formula_totals": 2, "encoding": 3, "sep": 2, "total_header": 2}.items():
        assert f[col].nunique() == values, col
    csv_files = f[f["file"].str.endswith(".csv")]
    assert set(csv_files["encoding"]) == {"utf-8", "utf-8-sig", "cp1251"} and set(csv_files["sep"]) == {";", ","}
    assert style_for(0, ".csv", 2024) != style_for(1, ".csv", 2024)


def test_canonical_works_are_well_formed(works, region):
    TABLES["vpr"].model.validate(works[[c for c in works.columns if c in TABLES["vpr"].model.to_schema().columns
                                        or c.startswith("task_")]], lazy=True)
    key = ["year", "school_id", "subject", "grade", "participant"]
    assert not works.duplicated(key).any()
    assert works["participant"].str.fullmatch(r"\d{5}").all() and works["participant"].str.startswith("0").any()
    assert set(works["year"]) == {2022, 2023, 2024, 2025, 2026}
    per = works.groupby(["year", "subject"])["grade"].agg(set)
    for y in range(2022, 2027):
        assert {4, 5, 6, 7, 8} <= per[(y, "rus")] and {4, 5, 6, 7, 8} <= per[(y, "math")]
    class_sizes = works.groupby(["year", "school_id", "subject", "class_label"]).size()
    assert (class_sizes <= 10).sum() > 50   # small classes show up (small-sample issues)
    assert works["mark"].value_counts(normalize=True).between(0.05, 0.5).all()


def test_journal_vs_vpr_agreement_matches_seed_003(works):
    les = agreement(works[works["municipality"] == "004"])   # seed 003 reports Лесосибирск itself
    for k, target in SEED003.items():
        assert abs(les[k] - target) <= 0.03, (k, les)
    region_all = agreement(works)
    assert 0.30 <= region_all["lowered"] <= 0.42 and 0.04 <= region_all["raised"] <= 0.09


# ---------------------------------------------------------------- planted effects in the data

def test_grade_inflation_schools_show_far_more_lowered_marks(works):
    infl = agreement(works[works["grade_inflation"]])
    rest = agreement(works[~works["grade_inflation"]])
    assert infl["lowered"] >= rest["lowered"] + 0.25 and infl["n"] > 300


def test_inflated_vpr_heaps_at_boundaries_and_has_an_atypical_profile(works, region):
    p = works["primary_score"].astype(float)
    at = (p == works["min3"]) | (p == works["min4"]) | (p == works["min5"])
    below = np.zeros(len(works), dtype=bool)
    for b in ("min3", "min4", "min5"):
        below |= ((p >= works[b] - 2) & (p < works[b])).to_numpy()
    inflated = (works["inflated_vpr"] & (works["year"] >= works["inflated_from"])).to_numpy()
    ratio_inflated = at[inflated].sum() / below[inflated].sum()
    ratio_rest = at[~works["inflated_vpr"].to_numpy()].sum() / below[~works["inflated_vpr"].to_numpy()].sum()
    assert ratio_inflated > 2.5 * ratio_rest and ratio_rest < 0.8
    # Task profile: not better than the region on basic (Б) tasks, far better on П/В.
    tasks = read_table(region[0] / "raw" / "vpr_tasks.csv", "vpr_tasks").frame
    slots = [c for c in works.columns if c.startswith("task_")]
    long = works.assign(inflated=inflated).melt(id_vars=["year", "subject", "grade", "inflated"], value_vars=slots,
                                                var_name="slot", value_name="score")
    long["position"] = long["slot"].str[5:].astype(int)
    long = long.merge(tasks[["year", "subject", "grade", "position", "max_score", "level"]],
                      on=["year", "subject", "grade", "position"])      # slots without a task drop out
    long["v"] = long["score"].astype(float).fillna(0) / long["max_score"].astype(float)
    prof = long.groupby(["inflated", long["level"] != "Б"])["v"].mean()
    assert prof[(True, False)] <= prof[(False, False)] + 0.01          # Б: no better than the rest
    assert prof[(True, True)] >= prof[(False, True)] + 0.15            # П/В: far better


def test_inflated_vpr_is_not_confirmed_by_oge(works, region, truth, protocols):
    out, _ = region
    exams = pd.concat([read_table(p, "exams").frame for p in sorted((out / "raw" / "exams").glob("*.csv"))]
                      + [protocols[3]])
    oge = exams[exams["exam"] == "ОГЭ"].groupby(["school_id", "year"])["mean_score"].mean().unstack().rank(pct=True)
    vpr = works.groupby(["school_id", "year"])["pct"].mean().unstack().rank(pct=True)
    gap = (vpr - oge.reindex(vpr.index)).mean(axis=1)
    flagged = truth["schools"].loc[truth["schools"]["inflated_vpr"]].set_index("school_id")["inflated_from"]
    assert len(flagged) >= 1
    for sid, first in flagged.items():
        years = list(range(int(first), 2027))
        assert vpr.loc[sid, years].mean() >= 0.6                                 # ВПР look good ...
        assert vpr.loc[sid, years].mean() - oge.loc[sid, years].mean() >= 0.15   # ... ОГЭ do not confirm it
    assert gap.drop(flagged.index).median() < 0.05


def test_persistently_low_schools_are_low_every_year_and_resilient_beat_their_context(works, truth):
    by_year = works.groupby(["persistently_low", "year"])["pct"].mean().unstack(0)
    assert (by_year[True] < by_year[False] - 0.1).all()
    sch = works.groupby("school_id").agg(pct=("pct", "mean"), ses=("ses", "first"), resilient=("resilient", "first"))
    fit = np.polyfit(sch["ses"], sch["pct"], 1)
    resid = sch["pct"] - np.polyval(fit, sch["ses"])
    assert (resid[sch["resilient"]] > 0.05).all()
    assert (sch.loc[sch["resilient"], "ses"] < sch["ses"].median()).all()


def test_support_programme_raises_supported_schools_against_comparison(works):
    m = works.groupby(["support_group", "year"])["pct"].mean().unstack("year")
    gain = m[[2025, 2026]].mean(axis=1) - m[[2022, 2023]].mean(axis=1)
    assert gain["программа"] - gain["сравнение"] >= 0.04


def test_missing_data_is_missing_in_raw(region, truth, works, readback, protocols):
    out, _ = region
    miss = truth["missing"]
    assert set(miss["table"]) >= {"vpr", "vpr_journal", "context", "exams"}
    everything = pd.concat([r.works for _, _, r in readback], ignore_index=True)
    for r in miss.itertuples(index=False):
        if r.table == "vpr":
            sel = everything[(everything.school_id == r.school_id) & (everything.year == r.year) & (everything.subject == r.subject)]
            assert sel.empty
        elif r.table == "vpr_journal":
            sel = everything[(everything.school_id == r.school_id) & (everything.year == r.year)]
            assert len(sel) > 0 and sel["journal_mark"].isna().all()
        else:
            path = next((out / "raw" / r.table).glob(f"{r.table}_{r.year}.*"))
            assert r.school_id not in set(read_table(path, r.table).frame["school_id"])
            if r.table == "exams":
                pupils = protocols[2]
                assert pupils[(pupils.school_id == r.school_id) & (pupils.year == r.year)].empty


# ---------------------------------------------------------------- pupil-level exam protocols (РЦОИ)

def test_exam_protocols_read_back_clean_and_without_personal_data(region, protocols):
    out, _ = region
    manifest, reads, results, _ = protocols
    assert set(manifest["file"]) == {"exams/protocols/OGE_2026_004.xlsx", "exams/protocols/EGE_2026_004.xlsx",
                                     "exams/protocols/OGE_2026_002.xlsx"}
    assert {p.relative_to(out / "raw").as_posix() for p in (out / "raw" / "exams" / "protocols").iterdir()} == set(manifest["file"])
    for f, rows in zip(manifest["file"], manifest["rows"]):
        r = reads[f]
        bad = r.problems[r.problems.severity != "info"]
        assert bad.empty, (f, bad.head().to_dict("records"))
        assert r.problems["rule"].tolist() == ["personal_data_dropped"]
        assert r.rows_read == rows == len(r.results) > 0
        assert len(r.blocks) == 2 and set(r.blocks["subject"]) == {"rus", "math"}   # several exams on one sheet
        assert r.dropped_personal == ["Фамилия", "Имя", "Отчество", "Серия документа", "Номер документа"]
    TABLES["exam_results"].model.validate(results.drop(columns=["source_file", "source_sheet", "source_row"]), lazy=True)
    assert results["year"].eq(2026).all() and results["municipality"].notna().all()
    assert set(manifest["title_style"]) == {"protocol", "cells", "subject_line"} and "combined" in set(manifest["result_header"])
    # the files themselves: every surname is made up, every document series is «0000»
    from python_calamine import CalamineWorkbook

    for f in manifest["file"]:
        wb = CalamineWorkbook.from_path(str(out / "raw" / f))
        rows = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
        pupils = [r for r in rows if isinstance(r[0], (int, float)) and r[0] != ""]
        assert pupils and all(str(r[1]).endswith("-Тест") and r[4] == "0000" for r in pupils)


def test_exam_protocols_replace_exactly_the_school_rows_they_derive(region, truth, protocols):
    """Derived rows = the truth's replaced rows; the school-level CSV lacks them; together they are the full table."""
    out, _ = region
    derived = protocols[3]
    key = ["year", "municipality", "school_id", "exam", "subject"]
    moved = read_table(out / "truth" / "exam_protocol_schools.csv", "exams").frame.drop(
        columns=["source_file", "source_sheet", "source_row"])
    pd.testing.assert_frame_equal(derived.sort_values(key).reset_index(drop=True),
                                  moved.sort_values(key).reset_index(drop=True), check_dtype=False)
    csv_rows = read_table(out / "raw" / "exams" / "exams_2026.csv", "exams").frame
    assert not set(map(tuple, csv_rows[key].values)) & set(map(tuple, derived[key].values))
    assert set(derived.loc[derived.municipality == "002", "exam"]) == {"ОГЭ"}
    assert set(csv_rows["municipality"]) == {"002"} and set(csv_rows["exam"]) == {"ЕГЭ"}   # 002's ЕГЭ stays in the CSV
    plan = build_plan(SCALE, SEED)
    missing = plan_missing(plan.schools, plan.years, plan.seed)
    full = pd.concat([T.exams_table(MunicipalityModel(sch, plan.seed, plan.years), 2026, missing)
                      for _, sch in plan.schools.groupby("municipality")], ignore_index=True)
    together = pd.concat([csv_rows.drop(columns=["source_file", "source_sheet", "source_row"]), derived], ignore_index=True)
    pd.testing.assert_frame_equal(together.sort_values(key).reset_index(drop=True)[full.columns],
                                  full.sort_values(key).reset_index(drop=True), check_dtype=False)
