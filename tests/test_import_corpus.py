"""The importer on a corpus of real-layout files, end to end through ``workbench import``: an .xls school form
as FIS OKO distributes it (no year, subject, grade or login inside; header variants), an .ods region protocol,
a multi-exam РЦОИ protocol, an encrypted workbook, data on the second sheet, a UTF-16 CSV. Each file is read
or reported with its exact reason; rows read = accepted + quarantined; the store holds exactly the accepted rows."""
from __future__ import annotations

import codecs
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests import vpr_corpus as vc
from workbench.data.exam_protocol import write_exam_protocol
from workbench.data.fisoko import write_vpr
from workbench.data.importing import import_paths
from workbench.scales import ScaleBook, load_scales
from workbench.data.store import Store, write_frames

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FORM_JOURNAL = "Отметка за предыдущий триместр/ четверть/полугодие"
FORM_CLASS = 'Класс № (список формируется из листа "Классы")'


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    book = ScaleBook(load_scales())
    tasks = vc.make_tasks()
    works = vc.make_works(tasks, book, n=12)
    src = d / "src.xlsx"
    write_vpr(works, tasks, src, "school_form")
    sheets, _ = vc.xlsx_grid(src)
    rows = sheets["Результаты"][3:]                        # the school's own form: no title block at all
    header = ["Код", "Вариант (часть 1)", "Вариант (часть 2)"] + rows[0][2:]
    header = [FORM_JOURNAL if h == "Отметка за предыдущую четверть" else FORM_CLASS if h == "Класс" else h
              for h in header]
    body = [[r[0], r[1], None] + r[2:] for r in rows[1:]]
    raw = d / "raw"
    raw.mkdir()
    vc.write_xls(raw / "Форма сбора 4 класс математика.xls",
                 {"Классы": [["Класс"], ["4А"], ["4Б"]], "Результаты": [header] + body})
    region = d / "src_region.xlsx"
    write_vpr(works.assign(school_id="edu000002"), tasks, region, "region_protocol")
    rsheets, _ = vc.xlsx_grid(region)
    vc.write_ods_pandas(raw / "VPR_2022_math_4_region.ods", rsheets)
    pupils = pd.DataFrame({"exam": "ОГЭ", "subject": ["math", "math", "rus"], "exam_date": pd.Timestamp("2022-05-23"),
                           "school_id": "edu000001", "class_label": "9А", "ppe": "0401", "auditorium": "0012",
                           "short_answers": ["++-+", "+---", "+++"], "long_answers": ["1(2)0(2)", "0(2)0(2)", "2(2)"],
                           "primary_score": [4, 1, 5], "mark": [3, 2, 4]})
    write_exam_protocol(pupils, raw / "ОГЭ_2022_протокол.xlsx")
    staff = "Год;Код муниципалитета;Код ОО;Учителей\n2022;0301;edu000001;35\n2022;0301;edu000002;20\n"
    (raw / "кадры.csv").write_bytes(codecs.BOM_UTF16_LE + staff.encode("utf-16-le"))
    store = d / "store"
    write_frames(store, {"schools": pd.DataFrame({"school_id": ["edu000001", "edu000002"], "municipality": "0301",
                                                  "name": ["Школа 1", "Школа 2"]})})
    return d, raw, store, works


def test_school_form_without_metadata_needs_the_cli_flags_and_then_imports_fully(corpus):
    d, raw, store, works = corpus
    form = raw / "Форма сбора 4 класс математика.xls"
    bare = subprocess.run([str(BIN / "workbench"), "import", str(form), "--store", str(d / "bare")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert bare.returncode == 2 and "Год" in bare.stdout and "НЕ ЗАГРУЖЕН" in bare.stdout
    imp = subprocess.run([str(BIN / "workbench"), "import", str(raw), "--store", str(store), "--year", "2022",
                          "--subject", "Математика", "--grade", "4", "--school", "edu000001"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert imp.returncode == 0, imp.stdout + imp.stderr
    s = Store(store)
    got = s.query("SELECT participant, class_label, journal_mark, mark, source_file FROM vpr "
                  "WHERE school_id = 'edu000001' ORDER BY participant")
    want = works.sort_values("participant")
    assert got.participant.tolist() == want.participant.tolist()
    assert got.journal_mark.astype("Int64").tolist() == want.journal_mark.tolist()   # the journal mark is read
    assert got.class_label.tolist() == want.class_label.tolist()
    assert set(got.source_file) == {"Форма сбора 4 класс математика.xls"}
    report = sorted((store / "current" / "reports").glob("import-*.csv"))[-1]
    probs = pd.read_csv(report, sep=";", dtype=str)
    mine = probs[probs.file == "Форма сбора 4 класс математика.xls"]
    assert not mine.rule.isin(["unknown_column", "similar_column", "no_journal_mark"]).any(), mine.to_string()


def test_ods_protocol_exam_protocol_and_utf16_table_are_imported(corpus):
    d, raw, store, works = corpus
    s = Store(store)
    if not s.status().sources or "vpr" not in s.tables():
        pytest.skip("needs the import of the first test")
    region = s.query("SELECT count(*) AS n, count(journal_mark) AS j FROM vpr WHERE school_id = 'edu000002'").iloc[0]
    assert int(region.n) == len(works) and int(region.j) == works.journal_mark.notna().sum()
    pupils = s.query("SELECT subject, primary_score, mark FROM exam_results ORDER BY subject, primary_score")
    assert pupils.values.tolist() == [["math", 1, 2], ["math", 4, 3], ["rus", 5, 4]]
    exams = s.query("SELECT subject, participants, mean_score, n_below_min FROM exams ORDER BY subject")
    assert exams.values.tolist() == [["math", 2, 2.5, 1], ["rus", 1, 5.0, 0]]
    cols = set(s.query("SELECT * FROM exam_results LIMIT 1").columns)
    assert not cols & {"surname", "first_name", "patronymic", "doc_series", "doc_number"}
    staff = s.query("SELECT school_id, teachers FROM staff ORDER BY 1").values.tolist()
    assert staff == [["edu000001", 35], ["edu000002", 20]]
    srcs = {v["relative"]: v for v in s.status().sources.values()}
    assert all(v["rows_read"] == v["accepted"] + v["quarantined"] for v in srcs.values())
    assert srcs["ОГЭ_2022_протокол.xlsx"]["rows_read"] == 3


def test_personal_data_dropped_is_said_in_the_summary(corpus, tmp_path):
    d, raw, _, _ = corpus
    res = import_paths([raw / "ОГЭ_2022_протокол.xlsx"], tmp_path / "store")
    (f,) = res.files
    assert f.table == "exam_results" and f.accepted + f.quarantined == f.rows_read == 3
    assert any("персональные данные удалены" in n and "Фамилия" in n for n in f.notes)
    assert "персональные данные удалены" in "\n".join(res.summary_ru())


def test_bad_files_are_reported_with_their_reason_beside_good_ones(corpus, tmp_path):
    d, raw, _, _ = corpus
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    vc.encrypt_xlsx(d / "src.xlsx", mixed / "защищённая.xlsx")
    guide = [["Инструкция по заполнению"], ["Заполните лист «Данные»"]]
    rows = [["Год", "Код муниципалитета", "Код ОО", "Учителей"], ["2022", "0301", "edu000001", "-3"],
            ["2022", "0301", "edu000002", "18"]]
    vc.write_xls(mixed / "кадры_второй_лист.xls", {"Инструкция": guide, "Данные": rows})
    res = import_paths([mixed], tmp_path / "store")
    by = {f.path: f for f in res.files}
    assert by["защищённая.xlsx"].fatal and "паролем" in by["защищённая.xlsx"].reason
    staff = by["кадры_второй_лист.xls"]
    assert (staff.table, staff.rows_read, staff.accepted, staff.quarantined) == ("staff", 2, 1, 1)
    assert res.exit_code == 2
    q = Store(tmp_path / "store").query("SELECT source_row, rule FROM quarantine_staff").values.tolist()
    assert q == [["2", "out_of_range"]]
