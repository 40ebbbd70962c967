"""The store: one import is one atomic version, killed imports leave the state before, consumers refuse what
is not a completed import, every file is imported or reported, re-imports replace exactly their rows."""
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from workbench.data.importing import NOT_DATA_MARKER, import_paths
from workbench.data.store import Store, StoreError, fingerprint, write_frames

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HEADER = "Год;Код муниципалитета;Код ОО;Учителей;Вакансий;С первой/высшей категорией\n"


def staff_file(path: Path, rows: list[tuple], bad: int = 0) -> Path:
    """A staff CSV; ``bad`` extra rows with a negative teacher count (quarantined)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{y};{m};{s};{t};0;0.5" for y, m, s, t in rows]
    lines += [f"2024;004;edu00400{i};-1;0;0.5" for i in range(bad)]
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def state(root: Path) -> dict:
    """Everything a consumer can see: rows of every table and quarantine, sources, years."""
    s = Store(root)
    out = {"tables": {}, "quarantine": {}, "sources": sorted(v["relative"] for v in s.manifest.get("sources", {}).values())}
    for t in s.tables():
        df = s.query(f"SELECT * EXCLUDE (source_id) FROM {t}")
        out["tables"][t] = sorted(map(str, df.astype(str).values.tolist()))
    for t in s.manifest.get("quarantine", {}):
        out["quarantine"][t] = int(s.query(f"SELECT count(*) FROM quarantine_{t}").iloc[0, 0])
    return out


def region_a(d: Path) -> list[Path]:
    return [staff_file(d / "a" / f"staff_{m}.csv", [(2024, m, f"edu{m}00{i}", 10 + i) for i in range(5)])
            for m in ("001", "002", "003")]


def region_b(d: Path) -> list[Path]:
    files = [staff_file(d / "b" / f"staff_{m}.csv", [(2025, m, f"edu{m}00{i}", 20 + i) for i in range(4)], bad=1)
             for m in ("001", "004")]
    return files + [staff_file(d / "b" / "more" / f"staff_{k:03d}.csv", [(2025, "005", f"edu005{k:03d}", 5)])
                    for k in range(30)]


def cli(*args, env=None, timeout=300):
    return subprocess.run([str(BIN / "workbench"), *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=timeout)


# ---------------------------------------------------------------- layout and manifest

def test_store_is_one_file_per_table_and_municipality_with_a_manifest(tmp_path):
    region_a(tmp_path)
    res = import_paths([tmp_path / "a"], tmp_path / "store")
    assert res.exit_code == 0
    s = Store(tmp_path / "store")
    files = sorted(p.relative_to(s.version_dir).as_posix() for p in s.version_dir.rglob("*.parquet"))
    assert files == ["tables/staff/001.parquet", "tables/staff/002.parquet", "tables/staff/003.parquet"]
    st = s.status()
    assert st.completed and st.problem_ru() is None
    assert st.tables["staff"]["rows"] == 15 and st.tables["staff"]["years"] == [2024]
    assert st.tables["staff"]["municipalities"] == ["001", "002", "003"]
    assert sorted(v["relative"] for v in st.sources.values()) == ["staff_001.csv", "staff_002.csv", "staff_003.csv"]
    assert all(v["rows_read"] == 5 and v["accepted"] == 5 for v in st.sources.values())
    assert s.read("staff", "002").school_id.tolist() == [f"edu00200{i}" for i in range(5)]
    assert res.report_path.exists() and res.report_path.parent.name == "reports"
    text = "\n".join(st.lines_ru())
    assert "staff" in text and "2024" in text and "Последний отчёт" in text


def test_reimport_same_path_with_new_content_replaces_exactly_its_rows(tmp_path):
    a = region_a(tmp_path)
    import_paths([tmp_path / "a"], tmp_path / "store")
    v1 = Store(tmp_path / "store").version
    staff_file(a[1], [(2024, "002", "edu002009", 99)])        # the file is corrected and sent again
    res = import_paths([a[1]], tmp_path / "store")
    s = Store(tmp_path / "store")
    assert s.version != v1
    got = s.query("SELECT municipality, school_id, teachers FROM staff ORDER BY 1, 2")
    assert got[got.municipality == "002"].values.tolist() == [["002", "edu002009", 99]]
    assert (got.municipality == "001").sum() == 5 and (got.municipality == "003").sum() == 5
    assert "заменены строки ранее загруженного файла" in res.files[0].replaced
    # the untouched municipalities' files are shared with the previous version, not rewritten
    old = tmp_path / "store" / "versions" / v1 / "tables" / "staff" / "001.parquet"
    assert old.stat().st_ino == (s.version_dir / "tables" / "staff" / "001.parquet").stat().st_ino


def test_same_content_under_another_name_is_one_source(tmp_path):
    a = region_a(tmp_path)
    import_paths([a[0]], tmp_path / "store")
    copy = tmp_path / "copy" / "staff_copy.csv"
    copy.parent.mkdir()
    copy.write_bytes(a[0].read_bytes())
    import_paths([copy], tmp_path / "store")
    assert int(Store(tmp_path / "store").query("SELECT count(*) FROM staff").iloc[0, 0]) == 5


def test_replace_starts_from_an_empty_store_and_fingerprint_follows_content(tmp_path):
    region_a(tmp_path)
    region_b(tmp_path)
    import_paths([tmp_path / "a"], tmp_path / "store")
    fa = fingerprint(Store(tmp_path / "store"))
    import_paths([tmp_path / "b"], tmp_path / "store")
    assert fingerprint(Store(tmp_path / "store")) != fa
    import_paths([tmp_path / "a"], tmp_path / "store", replace=True)
    s = Store(tmp_path / "store")
    assert fingerprint(s) == fa and s.status().tables["staff"]["years"] == [2024]
    assert "staff" not in s.manifest["quarantine"]   # b's quarantined rows left with b


def test_write_frames_and_pinned_readers(tmp_path):
    s1 = write_frames(tmp_path, {"staff": pd.DataFrame({"municipality": ["004"], "teachers": [3]})})
    s2 = write_frames(tmp_path, {"staff": pd.DataFrame({"municipality": ["005"], "teachers": [4]})})
    assert s1.query("SELECT count(*) FROM staff").iloc[0, 0] == 1       # s1 keeps the version it opened
    assert s2.query("SELECT count(*) FROM staff").iloc[0, 0] == 2
    pinned = Store(s1.version_dir)
    assert pinned.pinned and pinned.version == s1.version and pinned.root == tmp_path


def test_merged_files_keep_every_row_sorted_even_when_two_codes_share_a_file_name(tmp_path):
    # «0 1» and «0_1» both become 0_1.parquet: the commit's one sorted read must keep both codes' rows
    write_frames(tmp_path, {"staff": pd.DataFrame({"year": [2025, 2024, 2024, 2024],
                                                   "municipality": ["0 1", "02", "0_1", "0 1"],
                                                   "school_id": ["s2", "s9", "s3", "s1"], "teachers": [1, 2, 3, 4]})})
    s = write_frames(tmp_path, {"staff": pd.DataFrame({"year": [2024], "municipality": ["0_1"],
                                                       "school_id": ["s5"], "teachers": [5]})})
    got = s.read("staff", "0_1")
    assert got[["year", "municipality", "school_id"]].values.tolist() == [
        [2024, "0 1", "s1"], [2024, "0_1", "s3"], [2024, "0_1", "s5"], [2025, "0 1", "s2"]]   # merged, sorted
    info = s.status().tables["staff"]
    assert info["rows"] == 5 and info["files"]["0_1.parquet"]["municipalities"] == ["0 1", "0_1"]
    assert info["files"]["02.parquet"] == {"rows": 1, "columns": info["columns"], "years": [2024],
                                           "municipalities": ["02"]}


def test_the_same_keys_in_two_files_are_reported_with_both_files(tmp_path):
    # the same school-years sent twice (a corrected copy under another name, a region table and a school's
    # own): both are loaded (which one is right is the user's call) but never mixed in silence
    a = region_a(tmp_path)
    import_paths([tmp_path / "a"], tmp_path / "store")
    again = staff_file(tmp_path / "late" / "staff_002_v2.csv",
                       [(2024, "002", "edu002001", 99), (2024, "002", "edu002003", 98), (2024, "002", "edu002077", 1)])
    res = import_paths([again], tmp_path / "store")
    shared = res.problems[res.problems.rule == "shared_key"]
    assert len(shared) == 1 and shared.severity.iloc[0] == "warning"
    msg = shared.message.iloc[0]
    assert "2 ключ" in msg and "«staff_002.csv»" in msg and "«staff_002_v2.csv»" in msg and "2024, edu002001" in msg
    assert shared.file.iloc[0] == "staff_002_v2.csv"
    assert any("staff_002.csv" in n and "staff_002_v2.csv" in n for n in res.notes)
    assert int(Store(tmp_path / "store").query("SELECT count(*) FROM staff").iloc[0, 0]) == 18   # nothing dropped
    # a file re-imported under its own path replaces its rows: no shared keys with itself
    staff_file(a[0], [(2024, "001", "edu001000", 50)])
    assert "shared_key" not in set(import_paths([a[0]], tmp_path / "store").problems.rule)


# ---------------------------------------------------------------- every file is imported or reported

def test_every_file_is_imported_or_reported_with_a_reason(tmp_path):
    d = tmp_path / "in"
    staff_file(d / "2024" / "staff.csv", [(2024, "001", "edu001001", 10)])
    staff_file(d / "2025" / "staff.csv", [(2025, "001", "edu001001", 11)])
    (d / "README.md").write_text("# Описание выгрузки\n", encoding="utf-8")
    (d / "~$staff.xlsx").write_bytes(b"lock")
    (d / "scan.pdf").write_bytes(b"%PDF-1.4\n")
    truth = d / "truth"
    truth.mkdir()
    (truth / NOT_DATA_MARKER).write_text("эталон демонстрационного региона\n", encoding="utf-8")
    (truth / "schools.csv").write_text("school_id,municipality,name\nedu001001,001,x\n", encoding="utf-8")
    first = import_paths([d / "2024"], tmp_path / "store")
    report = first.report_path.read_bytes()
    (d / "import-20260101-000000.csv").write_bytes(report)      # a report the workbench wrote itself
    res = import_paths([d], tmp_path / "store")
    by = {f.path: f for f in res.files}
    assert sorted(by) == sorted(["2024/staff.csv", "2025/staff.csv", "README.md", "import-20260101-000000.csv",
                                 "scan.pdf", "truth/schools.csv", "truth/" + NOT_DATA_MARKER, "~$staff.xlsx"])
    assert by["2024/staff.csv"].status == by["2025/staff.csv"].status == "imported"
    assert by["README.md"].status == "not_data" and "документ" in by["README.md"].reason
    assert by["truth/schools.csv"].status == "not_data" and "эталон" in by["truth/schools.csv"].reason
    assert by["import-20260101-000000.csv"].status == "not_data"
    assert by["~$staff.xlsx"].status == "not_data"
    assert by["scan.pdf"].fatal and by["scan.pdf"].status == "rejected"
    assert res.exit_code == 2                                      # a file that could not be read says so
    probs = res.problems.set_index("file")
    assert probs.loc["scan.pdf", "rule"] == "unsupported_format"
    assert set(Store(tmp_path / "store").query("SELECT source_file FROM staff").source_file) == {
        "2024/staff.csv", "2025/staff.csv"}
    text = "\n".join(res.summary_ru())
    assert "scan.pdf" in text and "НЕ ЗАГРУЖЕН" in text and "не загружено: 6" in text


def test_cli_import_status_and_store_command(tmp_path):
    region_a(tmp_path)
    empty = cli("store", "--store", tmp_path / "store")
    assert empty.returncode == 1 and "нет ни одной завершённой загрузки" in empty.stdout
    imp = cli("import", tmp_path / "a", "--store", tmp_path / "store")
    assert imp.returncode == 0, imp.stdout + imp.stderr
    st = cli("import", "--status", "--store", tmp_path / "store")
    assert st.returncode == 0 and "staff" in st.stdout and "Версия данных" in st.stdout


# ---------------------------------------------------------------- killed imports

FAULT_POINTS = ["started", "staged", "merged", "renamed", "published"]


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_import_killed_at_any_point_leaves_state_before_or_after(tmp_path, point):
    region_a(tmp_path)
    region_b(tmp_path)
    store = tmp_path / "store"
    assert cli("import", tmp_path / "a", "--store", store).returncode == 0
    before = state(store)
    killed = cli("import", tmp_path / "b", "--store", store, env={"WORKBENCH_FAULT": point})
    assert killed.returncode == -9, killed.stdout + killed.stderr
    now = state(store)
    status = Store(store).status()
    if point == "published":            # the new version was published before the kill: the state after
        assert now != before and status.interrupted is None and status.problem_ru() is None
    else:
        assert now == before
        assert status.interrupted is not None and "была прервана" in status.problem_ru()
    again = cli("import", tmp_path / "b", "--store", store)
    assert again.returncode == 1, again.stdout + again.stderr                  # b has quarantined rows
    if point != "published":
        assert "была прервана" in again.stdout
    after = state(store)
    assert after != before and after["quarantine"] == {"staff": 2}
    assert not (store / "staging").exists() and Store(store).status().problem_ru() is None
    assert len(list((store / "versions").iterdir())) <= 2


def test_import_killed_at_random_moments(tmp_path):
    region_a(tmp_path)
    region_b(tmp_path)
    store, reference = tmp_path / "store", tmp_path / "reference"
    for target in (store, reference):
        assert cli("import", tmp_path / "a", "--store", target).returncode == 0
    before = state(store)
    t0 = time.perf_counter()
    assert cli("import", tmp_path / "b", "--store", reference).returncode == 1
    full, after = time.perf_counter() - t0, state(reference)
    rng = random.Random(7)
    for _ in range(4):
        proc = subprocess.Popen([str(BIN / "workbench"), "import", str(tmp_path / "b"), "--store", str(store)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, full))
        proc.kill()
        proc.wait(timeout=60)
        now = state(store)
        assert now in (before, after)
        if now == after:                 # it finished before the kill: back to the state before
            assert cli("import", tmp_path / "a", "--store", store, "--replace").returncode == 0
            assert state(store) == before


def test_run_refuses_a_store_with_an_interrupted_import_and_publishes_nothing(tmp_path):
    region_a(tmp_path)
    store = tmp_path / "store"
    killed = cli("import", tmp_path / "a", "--store", store, env={"WORKBENCH_FAULT": "merged"})
    assert killed.returncode == -9
    run = cli("run", "--store", store, "--out", tmp_path / "out")
    assert run.returncode == 2
    assert "была прервана" in run.stderr and "завершённых загрузок в нём нет" in run.stderr
    assert not (tmp_path / "out").exists()
    with pytest.raises(StoreError, match="была прервана"):
        Store(store).require_complete()


def test_a_legacy_store_is_refused_with_what_to_do(tmp_path):
    old = tmp_path / "store" / "staff" / "municipality=004"
    old.mkdir(parents=True)
    pd.DataFrame({"municipality": ["004"], "teachers": [1]}).to_parquet(old / "part-abc.parquet")
    status = Store(tmp_path / "store").status()
    assert status.legacy and "--replace" in status.problem_ru()
    region_a(tmp_path)
    with pytest.raises(StoreError, match="--replace"):
        import_paths([tmp_path / "a"], tmp_path / "store")
    import_paths([tmp_path / "a"], tmp_path / "store", replace=True)
    assert not (tmp_path / "store" / "staff").exists() and Store(tmp_path / "store").status().problem_ru() is None


def test_a_second_import_waits_for_none_and_is_refused_while_one_runs(tmp_path):
    from workbench.data.store import store_transaction

    with store_transaction(tmp_path / "store"):
        status = Store(tmp_path / "store").status()
        assert status.running is not None and "идёт загрузка" in status.problem_ru()
        with pytest.raises(StoreError, match="уже идёт загрузка"):
            store_transaction(tmp_path / "store")
    assert Store(tmp_path / "store").status().running is None


def test_manifest_is_valid_json_with_imports_history(tmp_path):
    region_a(tmp_path)
    import_paths([tmp_path / "a"], tmp_path / "store")
    import_paths([tmp_path / "a"], tmp_path / "store")
    m = json.loads((tmp_path / "store" / "current" / "manifest.json").read_text(encoding="utf-8"))
    assert m["format"] == 2 and len(m["imports"]) == 2 and m["imports"][-1]["exit_code"] == 0
    assert len(list((tmp_path / "store" / "current" / "reports").glob("import-*.csv"))) >= 1


def test_a_year_without_a_table_the_sections_need_is_said(tmp_path):
    from workbench.notebook_support import start_section

    s = write_frames(tmp_path / "store", {
        "schools": pd.DataFrame({"school_id": ["edu004001"], "municipality": ["004"], "name": ["Школа"]}),
        "context": pd.DataFrame({"year": [2025], "school_id": ["edu004001"], "municipality": ["004"]}),
        "staff": pd.DataFrame({"year": [2025, 2026], "school_id": ["edu004001"] * 2, "municipality": ["004"] * 2})})
    assert s.status().years("staff") == [2025, 2026]
    assert "контекстные данные (context)" in s.status().missing_for_year(2026)
    assert "кадры" not in s.status().missing_for_year(2026)
    ctx = start_section(municipality="004", year=2026, store=str(tmp_path / "store"), output_dir=tmp_path / "out",
                        cache_dir=tmp_path / "cache", section="Обзор")
    assert "За 2026 год в хранилище нет таблиц" in ctx.data_warning and "context" in ctx.data_warning


def test_parallel_readers_build_the_same_store(tmp_path, monkeypatch):
    import workbench.data.importing as imp

    region_a(tmp_path / "in")
    region_b(tmp_path / "in")
    one = import_paths([tmp_path / "in"], tmp_path / "one", jobs=1)
    monkeypatch.setattr(imp, "CHUNK_BYTES", 1)            # one reader task per file
    two = import_paths([tmp_path / "in"], tmp_path / "two", jobs=2)
    assert state(tmp_path / "one") == state(tmp_path / "two")
    assert [(f.path, f.rows_read, f.accepted, f.quarantined) for f in one.files] == \
        [(f.path, f.rows_read, f.accepted, f.quarantined) for f in two.files]
    assert len(two.files) == 35 and two.exit_code == 1


def test_data_sources_of_a_municipality_without_rows_in_a_table(tmp_path):
    from workbench.reports.deliverables import data_sources

    s = write_frames(tmp_path / "store", {
        "staff": pd.DataFrame({"year": [2026], "school_id": ["edu004001"], "municipality": ["004"], "teachers": [3]}),
        "exam_results": pd.DataFrame({"year": [2026], "school_id": ["edu002001"], "municipality": ["002"]})})
    got = data_sources(s, "004").set_index("Таблица")
    assert got.loc["staff", "Строк"] == 1 and got.loc["staff", "Файлов-источников"] == 1
    assert got.loc["staff", "Загружено"] != "—"
    assert got.loc["exam_results", "Строк"] == 0 and got.loc["exam_results", "Загружено"] == "—"
