"""Import pipeline: every problem at once, row conservation, quarantine, exit codes, idempotent re-import."""
import subprocess
import sys
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.data.importing import import_paths
from workbench.data.store import Store

HEADER = "Год;Код муниципалитета;Код ОО;Учителей;Вакансий;С первой/высшей категорией\n"


def test_all_problems_reported_at_once_with_row_and_column(tmp_path):
    p = tmp_path / "staff.csv"
    p.write_text(HEADER
                 + "2024;004;edu004001;35;1;0.5\n"      # row 2: fine
                 + "2024;004;edu004002;много;1;0.5\n"   # row 3: text in an integer cell
                 + "1999;004;edu004003;12;0;1.5\n"      # row 4: year and share out of range (two problems)
                 + "2024;004;edu004001;30;0;0.4\n",     # row 5: duplicate key (year, school)
                 encoding="utf-8")
    res = import_paths([p], tmp_path / "store")
    got = res.problems[["row", "column", "rule"]].astype(str).values.tolist()
    assert sorted(got) == sorted([
        ["3", "Учителей", "not_an_integer"],
        ["4", "Год", "out_of_range"],
        ["4", "С первой/высшей категорией", "out_of_range"],
        ["5", "Год, Код ОО", "duplicate_key"],
    ])
    (f,) = res.files
    assert (f.table, f.rows_read, f.accepted, f.quarantined, res.exit_code) == ("staff", 4, 1, 3, 1)
    msgs = res.problems.set_index("rule").message
    assert msgs["not_an_integer"] == "«много» — не целое число"
    assert msgs["duplicate_key"] == "Повтор ключа (year, school_id): строка дублирует строку 2"
    report = pd.read_csv(res.report_path, sep=";", dtype=str)
    assert list(report.columns) == ["file", "sheet", "row", "column", "value", "rule", "severity", "message"]
    assert len(report) == 4
    q = Store(tmp_path / "store").query("SELECT source_row, rule FROM quarantine_staff ORDER BY source_row::INT")
    assert q.values.tolist() == [["3", "not_an_integer"], ["4", "out_of_range"], ["5", "duplicate_key"]]


def test_reimport_replaces_rows_and_partition_keeps_leading_zeros(tmp_path):
    p = tmp_path / "staff.csv"
    p.write_text(HEADER + "2024;004;edu004001;35;1;0.5\n2024;0301;edu030101;20;0;0.3\n", encoding="utf-8")
    for _ in range(2):
        res = import_paths([p], tmp_path / "store")
        assert res.exit_code == 0
    store = Store(tmp_path / "store")
    assert store.query("SELECT municipality, count(*) n FROM staff GROUP BY 1 ORDER BY 1").values.tolist() == [["004", 1], ["0301", 1]]
    assert (tmp_path / "store" / "current" / "tables" / "staff" / "0301.parquet").is_file()
    assert store.read("staff", municipality="0301").school_id.tolist() == ["edu030101"]


def test_unknown_file_gives_exit_code_2(tmp_path):
    p = tmp_path / "notes.csv"
    p.write_text("что-то;другое\n1;2\n", encoding="utf-8")
    res = import_paths([p], tmp_path / "store")
    assert res.exit_code == 2 and res.problems.rule.tolist() == ["unknown_format"]


cell = st.one_of(st.integers(-5, 60).map(str), st.sampled_from(["", "abc", "12,5", "7.0", " 8 "]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["edu1", "edu2", "edu3", "bad id", ""]), cell, cell), min_size=1, max_size=25))
def test_rows_read_equals_accepted_plus_quarantined(tmp_path_factory, rows):
    d = tmp_path_factory.mktemp("prop")
    lines = [f"2024;004;{s};{t};{v};0.5" for s, t, v in rows]
    (d / "staff.csv").write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    res = import_paths([d / "staff.csv"], d / "store")
    (f,) = res.files
    nonempty = len(lines)
    assert f.rows_read == nonempty and f.accepted + f.quarantined == nonempty
    stored = Store(d / "store")
    n_acc = int(stored.query("SELECT count(*) FROM staff").iloc[0, 0]) if "staff" in stored.tables() else 0
    assert n_acc == f.accepted
    bad_rows = set(res.problems.loc[res.problems.severity == "error", "row"].dropna().astype(int))
    assert f.quarantined == len(bad_rows)


def test_cli_import_exit_codes_and_russian_summary(tmp_path):
    p = tmp_path / "staff.csv"
    p.write_text(HEADER + "2024;004;edu004001;35;1;0.5\n2024;004;edu004002;-1;1;0.5\n", encoding="utf-8")
    exe = Path(sys.executable).parent / "workbench"
    out = subprocess.run([str(exe), "import", str(p), "--store", str(tmp_path / "s")], capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    assert "строк прочитано: 2, принято: 1, в карантине: 1" in out.stdout
    bad = subprocess.run([str(exe), "import", str(p), "--store", str(tmp_path / "s"), "--table", "staf"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "неизвестная таблица; допустимые: schools, vpr" in bad.stderr
    helped = subprocess.run([str(exe), "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "Использование: workbench" in helped.stdout


def test_pupils_sent_twice_in_two_vpr_files_are_reported_not_mixed_silently(tmp_path):
    # the region protocol and a school's own form hold the same pupils of one work: both loaded, one warning
    # naming both files and how many pupils they share; a work of another school in the same files is not
    from tests import vpr_corpus as vc
    from workbench.data.fisoko import write_vpr
    from workbench.paths import PARAMS_DIR
    from workbench.scales import ScaleBook, load_scales

    scales = ScaleBook(load_scales(PARAMS_DIR / "mark_scales.csv"))
    tasks = vc.make_tasks(2024, "math", 5, with_levels=False)
    works = vc.make_works(tasks, scales, n=10, schools=("edu000001", "edu000002"))
    (tmp_path / "in" / "school").mkdir(parents=True)
    write_vpr(works, tasks, tmp_path / "in" / "region_2024_math_5.csv", "region_protocol")
    mine = works[works.school_id == "edu000001"].head(6)
    write_vpr(mine, tasks, tmp_path / "in" / "school" / "VPR_2024_math_5_edu000001.xlsx", "school_form")
    res = import_paths([tmp_path / "in"], tmp_path / "store")
    shared = res.problems[res.problems.rule == "shared_key"]
    assert len(shared) == 1, res.problems[["file", "rule", "message"]].to_string()
    msg = shared.message.iloc[0]
    assert "таблица vpr, 6 ключей" in msg and "«region_2024_math_5.csv»" in msg
    assert "«school/VPR_2024_math_5_edu000001.xlsx»" in msg and "2024, edu000001, math, 5" in msg
    assert int(Store(tmp_path / "store").query("SELECT count(*) FROM vpr").iloc[0, 0]) == 26
