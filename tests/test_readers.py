"""Readers on a corpus of real-layout files built at run time: .xls and .ods copies of the FIS OKO school form,
an encrypted workbook, data on the second sheet, UTF-16 CSV, empty, corrupt and non-table files; FIS OKO header
variants; columns that resemble known ones; files without the journal mark or the task scores.

Every readable file comes back with the values written (rows read = non-empty data rows written); every
unreadable one with exactly one fatal problem of its own rule, from both readers and from ``peek_rows``.
"""
from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tests import vpr_corpus as vc
from workbench.data import problems as P
from workbench.data.fisoko import SOURCE_COLUMNS, VprStyle, read_vpr, similar_to, sniff_vpr, write_vpr
from workbench.scales import ScaleBook, load_scales
from workbench.data.tables import SUPPORTED_SUFFIXES, UnreadableFile, peek_rows, read_raw, read_table


@pytest.fixture(scope="module")
def book() -> ScaleBook:
    return ScaleBook(load_scales())


@pytest.fixture(scope="module")
def tasks() -> pd.DataFrame:
    return vc.make_tasks()


@pytest.fixture(scope="module")
def works(tasks, book) -> pd.DataFrame:
    return vc.make_works(tasks, book, n=12)


def _tuples(problems: pd.DataFrame) -> list[tuple]:
    return [(p.rule, None if pd.isna(p.row) else int(p.row), None if pd.isna(p.column) else p.column, p.value)
            for p in problems.itertuples()]


def _school_form(tmp: Path, works, tasks, style: VprStyle | None = None) -> Path:
    path = tmp / "VPR_2022_math_4_edu000001.xlsx"
    write_vpr(works, tasks, path, "school_form", style=style)
    return path


# --------------------------------------------------------------------------------------------------
# .xls and .ods copies of the FIS OKO school form
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("two_variant_columns", [False, True], ids=["one_variant", "merged_variant"])
def test_xls_copy_of_school_form(tmp_path, book, tasks, works, two_variant_columns):
    style = VprStyle(two_variant_columns=two_variant_columns, journal_header="Отметка за предыдущий триместр")
    sheets, merges = vc.xlsx_grid(_school_form(tmp_path, works, tasks, style))
    if two_variant_columns:
        assert merges["Результаты"] == [(3, 1, 3, 2)]       # «Вариант» merged over B4:C4
    path = vc.write_xls(tmp_path / "VPR_2022_math_4_edu000001.xls", sheets, merges)

    read = read_vpr(path, book)

    assert read.problems.empty, read.problems.to_string()
    assert read.format == "school_form" and read.rows_read == len(works) == 12
    pd.testing.assert_frame_equal(read.works.drop(columns=SOURCE_COLUMNS), works)
    first = read.works.iloc[0]
    assert (first.participant, first.class_label, first.source_sheet, first.source_row) == ("00001", "4А", "Результаты", 5)
    assert read.works["absent"].sum() == works["absent"].sum() > 0    # the absence word in the second column
    assert read.works["journal_mark"].tolist() == works["journal_mark"].tolist()


def test_ods_copy_of_school_form_through_pandas(tmp_path, book, tasks, works):
    sheets, _ = vc.xlsx_grid(_school_form(tmp_path, works, tasks))
    path = vc.write_ods_pandas(tmp_path / "VPR_2022_math_4_edu000001.ods", sheets)

    read = read_vpr(path, book)

    assert read.problems.empty, read.problems.to_string()
    assert read.rows_read == 12
    pd.testing.assert_frame_equal(read.works.drop(columns=SOURCE_COLUMNS), works)
    assert read.works["participant"].tolist() == works["participant"].tolist()
    assert read.works["participant"].iat[0] == "00001"
    assert read.works["source_row"].tolist() == list(range(5, 17))


def test_ods_with_merged_variant_header(tmp_path, book, tasks, works):
    """LibreOffice keeps «Вариант» merged over two columns; calamine does not report ODS merges, the reader does."""
    sheets, merges = vc.xlsx_grid(_school_form(tmp_path, works, tasks, VprStyle(two_variant_columns=True)))
    path = vc.write_ods_merged(tmp_path / "form.ods", sheets, merges)
    assert read_raw(path)[0].merged == [(4, 2, 4, 3)]

    read = read_vpr(path, book)

    assert read.problems.empty, read.problems.to_string()
    pd.testing.assert_frame_equal(read.works.drop(columns=SOURCE_COLUMNS), works)


@pytest.mark.parametrize("fmt", ["f1", "region_protocol"])
@pytest.mark.parametrize("suffix", [".xls", ".ods"])
def test_other_layouts_in_old_and_open_formats(tmp_path, book, tasks, fmt, suffix):
    schools = ("edu000001", "edu000002") if fmt == "region_protocol" else ("edu000001",)
    works = vc.make_works(tasks, book, n=8, schools=schools, municipalities=("0301",))
    src = tmp_path / f"{fmt}.xlsx"
    write_vpr(works, tasks, src, fmt)
    sheets, merges = vc.xlsx_grid(src)
    path = vc.write_xls(tmp_path / f"{fmt}.xls", sheets, merges) if suffix == ".xls" else \
        vc.write_ods_pandas(tmp_path / f"{fmt}.ods", sheets)

    read = read_vpr(path, book)

    assert read.format == fmt and read.problems.empty, read.problems.to_string()
    pd.testing.assert_frame_equal(read.works.drop(columns=SOURCE_COLUMNS), works)
    if fmt == "f1":
        assert read.tasks["level"].tolist() == tasks["level"].tolist()


def test_ids_stored_as_numbers_in_xls_are_flagged(tmp_path, book):
    data = vc.form_rows()
    data[0][0], data[1][0] = 1234, 101          # codes typed as numbers: leading zeros are gone
    path = vc.write_xls(tmp_path / "VPR_2022_math_4_edu000001.xls", {"Результаты": vc.form_grid(data)})
    read = read_vpr(path, book)
    assert read.works["participant"].tolist() == ["1234", "101", "00103", "00104", "00105"]
    assert _tuples(read.problems) == [("id_as_number", 5, "Код", "1234"), ("id_as_number", 6, "Код", "101")]
    assert read.works["primary_score"].tolist() == [4, 6, pd.NA, 2, 1]


def _staff_rows() -> list[list]:
    return [["Год", "Код муниципалитета", "Код ОО", "Учителей", "С первой/высшей категорией", "Есть психолог"],
            [2024, "004", "edu004001", 35, 0.125, "да"],
            [2024, 4, "edu004002", 20, 0.5, "нет"]]


@pytest.mark.parametrize("suffix", [".xls", ".ods"])
def test_table_in_xls_and_ods(tmp_path, suffix):
    sheets = {"Кадры": _staff_rows()}
    path = vc.write_xls(tmp_path / "staff.xls", sheets) if suffix == ".xls" else \
        vc.write_ods_pandas(tmp_path / "staff.ods", sheets)
    r = read_table(path, "staff")
    assert r.rows_read == len(r.frame) == 2
    f = r.frame
    assert f.municipality.tolist() == ["004", "4"] and f.school_id.tolist() == ["edu004001", "edu004002"]
    assert f.teachers.tolist() == [35, 20] and f.year.tolist() == [2024, 2024]
    assert f.share_category.tolist() == [0.125, 0.5] and f.has_psychologist.tolist() == [True, False]
    assert f.source_row.tolist() == [2, 3] and (f.source_sheet == "Кадры").all()
    assert _tuples(r.problems) == [("id_as_number", 3, "Код муниципалитета", "4")]


def test_dates_in_xls_and_xlsx_read_as_dates(tmp_path):
    rows = [["Код мероприятия", "Код муниципалитета", "Направление", "Мероприятие", "Начало", "Срок",
             "Ответственный", "Статус"],
            ["M1", "004", "Кадры", "Курсы", dt.datetime(2025, 9, 1), dt.datetime(2026, 5, 31), "Иванова", "план"]]
    xls = vc.write_xls(tmp_path / "measures.xls", {"План": rows})
    xlsx = tmp_path / "measures.xlsx"
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(xlsx)
    for path in (xls, xlsx):
        r = read_table(path, "measures")
        assert r.problems.empty, r.problems.to_string()
        assert r.frame.start.tolist() == [pd.Timestamp("2025-09-01")], path.suffix
        assert r.frame.deadline.tolist() == [pd.Timestamp("2026-05-31")]


def test_offset_table_keeps_the_row_numbers_the_user_sees(tmp_path):
    """calamine trims leading empty rows and columns by default: the readers must not (rows are reported)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    for i, row in enumerate(_staff_rows()):
        for j, v in enumerate(row):
            ws.cell(row=3 + i, column=2 + j, value=v)
    wb.save(tmp_path / "staff.xlsx")
    r = read_table(tmp_path / "staff.xlsx", "staff")
    assert r.frame.source_row.tolist() == [4, 5]
    assert _tuples(r.problems) == [("id_as_number", 5, "Код муниципалитета", "4")]


# --------------------------------------------------------------------------------------------------
# Data on the second sheet
# --------------------------------------------------------------------------------------------------

def _instructions_first(src: Path, dst: Path) -> Path:
    wb = openpyxl.load_workbook(src)
    ws = wb.create_sheet("Инструкция", 0)
    ws.append(["Инструкция по заполнению формы"])
    ws.append(["Для невыполненного задания поставьте X; отсутствовавшим — «отсутствовал»."])
    wb.save(dst)
    return dst


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_vpr_data_on_second_sheet(tmp_path, book, tasks, works, suffix):
    path = _instructions_first(_school_form(tmp_path, works, tasks), tmp_path / "second.xlsx")
    if suffix == ".ods":
        path = vc.write_ods_pandas(tmp_path / "second.ods", vc.xlsx_grid(path)[0])
    read = read_vpr(path, book, year=2022, subject="math", grade=4, school_id="edu000001")
    assert _tuples(read.problems) == [("extra_sheet", None, None, "Инструкция")]
    assert read.rows_read == 12 and (read.works.source_sheet == "Результаты").all()
    pd.testing.assert_frame_equal(read.works.drop(columns=SOURCE_COLUMNS), works)


def test_table_data_on_second_sheet(tmp_path):
    sheets = {"Инструкция": [["Заполните лист «Кадры»"], ["Коды ОО — как в ФИС ОКО"]], "Кадры": _staff_rows()}
    r = read_table(vc.write_xls(tmp_path / "staff.xls", sheets), "staff")
    assert r.sheet == "Кадры" and r.frame.teachers.tolist() == [35, 20]
    assert sorted(_tuples(r.problems)) == [("extra_sheet", None, None, "Инструкция"),
                                           ("id_as_number", 3, "Код муниципалитета", "4")]


# --------------------------------------------------------------------------------------------------
# UTF-16 CSV
# --------------------------------------------------------------------------------------------------

def _utf16(text: str, kind: str) -> bytes:
    return {"le_bom": codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
            "be_bom": codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
            "le_no_bom": text.encode("utf-16-le")}[kind]


@pytest.mark.parametrize("kind", ["le_bom", "be_bom", "le_no_bom"])
def test_utf16_csv_vpr(tmp_path, book, tasks, works, kind):
    src = tmp_path / "form.csv"
    write_vpr(works, tasks, src, "school_form", style=VprStyle(sep="\t"))
    path = tmp_path / "VPR_2022_math_4_edu000001.csv"
    path.write_bytes(_utf16(src.read_text(encoding="utf-8"), kind))
    assert sniff_vpr(path)
    read = read_vpr(path, book)
    assert read.problems.empty, read.problems.to_string()
    pd.testing.assert_frame_equal(read.works.drop(columns=SOURCE_COLUMNS), works)
    assert read.works["class_label"].iat[0] == "4А"


@pytest.mark.parametrize("kind", ["le_bom", "be_bom", "le_no_bom"])
def test_utf16_csv_table(tmp_path, kind):
    path = tmp_path / "staff.csv"
    path.write_bytes(_utf16("Год;Код муниципалитета;Код ОО;Учителей;Есть психолог\r\n"
                            "2024;004;edu004001;35;да\r\n2024;0301;edu030101;12;нет\r\n", kind))
    r = read_table(path, "staff")
    assert r.problems.empty, r.problems.to_string()
    assert r.frame.municipality.tolist() == ["004", "0301"] and r.frame.teachers.tolist() == [35, 12]
    assert r.frame.has_psychologist.tolist() == [True, False]
    assert peek_rows(path, 2) == [["Год", "Код муниципалитета", "Код ОО", "Учителей", "Есть психолог"],
                                  ["2024", "004", "edu004001", "35", "да"]]


# --------------------------------------------------------------------------------------------------
# Files that cannot be read: one fatal problem with its own rule, from every entry point
# --------------------------------------------------------------------------------------------------

def _encrypted(tmp: Path, works, tasks, suffix: str = ".xlsx") -> Path:
    return vc.encrypt_xlsx(_school_form(tmp, works, tasks), tmp / f"protected{suffix}")


def _empty_workbook(tmp: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.create_sheet("Лист2")
    wb.save(tmp / "blank.xlsx")
    return tmp / "blank.xlsx"


def _truncated(tmp: Path, works, tasks) -> Path:
    data = _school_form(tmp, works, tasks).read_bytes()
    (tmp / "truncated.xlsx").write_bytes(data[: len(data) // 2])
    return tmp / "truncated.xlsx"


UNREADABLE = {
    "encrypted_xlsx": (lambda t, w, k: _encrypted(t, w, k), "encrypted"),
    "encrypted_saved_as_xls": (lambda t, w, k: _encrypted(t, w, k, ".xls"), "encrypted"),
    "zero_bytes_xlsx": (lambda t, w, k: (t / "zero.xlsx", (t / "zero.xlsx").write_bytes(b""))[0], "empty_file"),
    "zero_bytes_csv": (lambda t, w, k: (t / "zero.csv", (t / "zero.csv").write_bytes(b""))[0], "empty_file"),
    "blank_csv": (lambda t, w, k: (t / "blank.csv", (t / "blank.csv").write_text(";;;\n\n;;\n"))[0], "empty_file"),
    "workbook_without_values": (lambda t, w, k: _empty_workbook(t), "empty_file"),
    "truncated_xlsx": (lambda t, w, k: _truncated(t, w, k), "corrupt_file"),
    "not_a_zip_xlsx": (lambda t, w, k: (t / "bad.xlsx", (t / "bad.xlsx").write_bytes(b"not a zip"))[0], "corrupt_file"),
    "broken_xls": (lambda t, w, k: (t / "bad.xls", (t / "bad.xls").write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)))[0], "corrupt_file"),
    "html_saved_as_xls": (lambda t, w, k: (t / "export.xls", (t / "export.xls").write_text(
        "<html><body><table><tr><td>Код</td></tr></table></body></html>", encoding="utf-8"))[0], "corrupt_file"),
    "xlsx_renamed_csv": (lambda t, w, k: (t / "form.csv", (t / "form.csv").write_bytes(
        _school_form(t, w, k).read_bytes()))[0], "corrupt_file"),
    "pdf": (lambda t, w, k: (t / "report.pdf", (t / "report.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\n"))[0],
            "unsupported_format"),
    "doc": (lambda t, w, k: (t / "letter.doc", (t / "letter.doc").write_bytes(b"\xd0\xcf\x11\xe0" + bytes(100)))[0],
            "unsupported_format"),
    "zip": (lambda t, w, k: (t / "forms.zip", (t / "forms.zip").write_bytes(b"PK\x05\x06" + bytes(18)))[0],
            "unsupported_format"),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_unreadable_file_has_its_own_rule(tmp_path, book, tasks, works, case):
    build, rule = UNREADABLE[case]
    path = build(tmp_path, works, tasks)
    name = f"школа 1/{path.name}"

    vpr = read_vpr(path, book, name=name)
    table = read_table(path, "staff", name=name)
    with pytest.raises(UnreadableFile) as raised:
        peek_rows(path)

    assert _tuples(vpr.problems) == _tuples(table.problems) == [(rule, None, None, name)]
    assert raised.value.rule == rule and P.RULES[rule][0] == "fatal"
    assert vpr.problems["severity"].tolist() == ["fatal"] and (vpr.problems["file"] == name).all()
    assert vpr.problems["message"].iat[0] == P.RULES[rule][1].format(value=name, detail=raised.value.detail)
    assert vpr.rows_read == len(vpr.works) == 0 and table.rows_read == 0
    assert not sniff_vpr(path)


def test_unreadable_messages_say_what_to_do(tmp_path, tasks, works):
    def detail(path: Path) -> str:
        with pytest.raises(UnreadableFile) as e:
            read_raw(path)
        return e.value.problem(path.name)["message"]

    assert detail(_encrypted(tmp_path, works, tasks)).startswith("Файл защищён паролем: снимите пароль")
    assert detail(UNREADABLE["pdf"][0](tmp_path, works, tasks)) == (
        "Формат файла не поддерживается: .pdf (документ PDF); читаются .csv, .ods, .tsv, .txt, .xls, .xlsb, .xlsm, .xlsx")
    assert "распакуйте" in detail(UNREADABLE["zip"][0](tmp_path, works, tasks))
    assert "веб-страница (HTML)" in detail(UNREADABLE["html_saved_as_xls"][0](tmp_path, works, tasks))
    assert detail(UNREADABLE["zero_bytes_csv"][0](tmp_path, works, tasks)) == "Файл пуст: 0 байт"
    assert detail(_empty_workbook(tmp_path)) == "Файл пуст: ни на одном листе нет заполненных ячеек"


def test_supported_suffixes():
    assert SUPPORTED_SUFFIXES == {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".csv", ".txt", ".tsv"}


# --------------------------------------------------------------------------------------------------
# peek_rows and display names
# --------------------------------------------------------------------------------------------------

def test_peek_rows_reads_the_first_rows_of_every_sheet(tmp_path, tasks, works):
    path = _instructions_first(_school_form(tmp_path, works, tasks), tmp_path / "two.xlsx")
    rows = peek_rows(path, n=4)
    assert len(rows) == 2 + 4          # the instructions sheet has two rows, the form sheet gives four
    assert rows[0] == ["Инструкция по заполнению формы"]
    assert rows[2][0] == "Форма сбора результатов ВПР" and rows[5][:3] == ["Код", "Вариант", "1 (1б)"]


def test_display_name_is_the_file_of_every_problem_and_row(tmp_path, book, tasks, works):
    data = vc.form_rows()
    data[0][0] = 1234                       # one problem to carry the name
    path = vc.write_grid(tmp_path / "VPR_2022_math_4_edu000001.xlsx", vc.form_grid(data))
    read = read_vpr(path, book, name="2022/004/VPR_2022_math_4_edu000001.xlsx")
    assert read.works["year"].iat[0] == 2022               # metadata still come from the file's own name/title
    assert set(read.works["source_file"]) == set(read.problems["file"]) == {"2022/004/VPR_2022_math_4_edu000001.xlsx"}
    assert read_vpr(path, book).works["source_file"].iat[0] == "VPR_2022_math_4_edu000001.xlsx"

    staff = vc.write_xls(tmp_path / "staff.xls", {"Кадры": _staff_rows()})
    r = read_table(staff, "staff", name="кадры/2024/staff.xls")
    assert set(r.frame.source_file) == set(r.problems.file) == {"кадры/2024/staff.xls"}


# --------------------------------------------------------------------------------------------------
# FIS OKO header variants, similar columns, missing columns with their consequence
# --------------------------------------------------------------------------------------------------

FISOKO_HEADER = ["Код", "Вариант (часть 1)", "Вариант (часть 2)", "1 (1б)", "2 (1б)", "3 (2б)", "4 (2б)",
                 'Класс № (список формируется из листа "Классы")', "Пол",
                 "Отметка за предыдущий триместр/ четверть/полугодие", "Первичный балл", "Отметка"]


def _two_part_rows() -> list[list]:
    """form_rows() with a second variant column: different variants per part (row 8), absent from both
    parts (row 7), absent from the second part only (row 9: not absent, its scores count)."""
    second = [1, 2, "отсутствовал", 2, "отсутствовал"]
    return [r[:2] + [v] + r[2:] for r, v in zip(vc.form_rows(), second)]


@pytest.mark.parametrize("journal", ["Отметка за предыдущий триместр/ четверть/полугодие",
                                     "Отметка за предыдущий триместр/четверть/полугодие",
                                     "Отметка за предыдущий\nтриместр / четверть / полугодие"])
@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_fisoko_form_header_variants(tmp_path, book, journal, suffix):
    header = FISOKO_HEADER[:9] + [journal] + FISOKO_HEADER[10:]
    path = vc.write_grid(tmp_path / f"form{suffix}", vc.form_grid(_two_part_rows(), header))
    read = read_vpr(path, book)
    assert read.problems.empty, read.problems.to_string()
    w = read.works
    assert w["journal_mark"].tolist() == [4, 5, 3, 3, 2]
    assert w["class_label"].tolist() == ["4А", "4А", "4А", "4Б", "4Б"]
    assert w["variant"].tolist() == [1, 2, pd.NA, 1, 2]
    assert w["absent"].tolist() == [False, False, True, False, False]
    assert w["primary_score"].tolist() == [4, 6, pd.NA, 2, 1] and w["mark"].tolist() == [2, 3, pd.NA, 2, 2]
    assert read.rows_read == 5


def test_headers_with_line_breaks_case_and_notes(tmp_path, book):
    header = ["Код\nучастника", "ВАРИАНТ", "1 (1б)", "2\n(1б)", "3 (2б)", "4 (2 балла)", "Класс\n(литер)", "Пол",
              "Отметка за\nпредыдущую чЕтвЁрть", "Первичный балл\n(сумма)", "Отметка (2–5)"]
    read = read_vpr(vc.write_grid(tmp_path / "form.xlsx", vc.form_grid(header=header)), book)
    assert read.problems.empty, read.problems.to_string()
    assert read.tasks["max_score"].tolist() == [1, 1, 2, 2]
    assert read.works["journal_mark"].tolist() == [4, 5, 3, 3, 2]
    assert read.works["mark_reported"].tolist() == [2, 3, pd.NA, 2, 2]


def test_similar_journal_column_is_named_and_its_consequence_reported(tmp_path, book):
    header = list(vc.HEADER)
    header[8] = "Отметка за прошлую четв."
    read = read_vpr(vc.write_grid(tmp_path / "form.csv", vc.form_grid(header=header)), book)
    assert _tuples(read.problems) == [("no_journal_mark", None, "Отметка по журналу", "Отметка по журналу"),
                                      ("similar_column", 4, "Отметка за прошлую четв.", "Отметка за прошлую четв.")]
    assert read.problems["message"].tolist() == [
        "В файле нет столбца отметки по журналу: объективность по этому файлу не будет рассчитана",
        "Столбец «Отметка за прошлую четв.» не распознан; похоже на отметку по журналу"]
    assert read.problems["severity"].tolist() == ["warning", "warning"]
    assert read.rows_read == 5 and read.works["journal_mark"].isna().all()
    assert read.works["primary_score"].tolist() == [4, 6, pd.NA, 2, 1]


def test_similarity_rules():
    assert similar_to("Четвертная отметка") == "отметку по журналу"
    assert similar_to("1 (2)") == "балл за задание (ожидается заголовок вида «1 (2б)»)"
    assert similar_to("Код учащегося") == "код участника"
    assert similar_to("Сумма балов") == "первичный балл («сумма баллов»)"
    assert similar_to("Комментарий учителя") is None and similar_to("Дата рождения") is None


def test_similar_table_column(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text("Год;Код муниципалитета;Код ОО;Учителй;Вакансии всего за год\n2024;004;edu004001;35;1\n",
                    encoding="utf-8")
    r = read_table(path, "staff")
    assert _tuples(r.problems) == [("similar_column", 1, "Учителй", "Учителй"), ("missing_column", 1, "teachers", "Учителей")]
    assert r.problems.message.tolist() == ["Столбец «Учителй» не распознан; похоже на «Учителей»",
                                           "Нет обязательного столбца «Учителей» (столбец teachers таблицы staff)"]
    assert r.rows_read == 1 and r.frame.source_row.tolist() == [2]
    path.write_text("Год;Код муниципалитета;Код ОО;Учителей;Вакансий (ставок);Есть психолог (да/нет);Учителя 60 +\n"
                    "2024;004;edu004001;35;1;да;0,2\n", encoding="utf-8")
    r = read_table(path, "staff")
    assert r.frame.vacancies.tolist() == [1] and r.frame.has_psychologist.tolist() == [True]
    assert _tuples(r.problems) == [("similar_column", 1, "Учителя 60 +", "Учителя 60 +")]
    assert r.problems.message.iat[0] == "Столбец «Учителя 60 +» не распознан; похоже на «Учителя 60+»"


def test_totals_only_file_is_read_with_its_consequence(tmp_path, book):
    header = ["Код", "Вариант", "Класс", "Пол", "Отметка за предыдущую четверть", "Первичный балл", "Отметка"]
    data = [r[:2] + r[6:] for r in vc.form_rows()]
    path = vc.write_grid(tmp_path / "totals.xlsx", vc.form_grid(data, header))
    assert sniff_vpr(path)
    read = read_vpr(path, book)
    task = "Баллы за задания (заголовок вида «1 (2б)»)"
    assert _tuples(read.problems) == [("no_task_scores", None, task, task)]
    assert read.problems["severity"].tolist() == ["warning"]
    assert "анализ по заданиям по этому файлу невозможен" in read.problems["message"].iat[0]
    assert read.rows_read == 5 and read.tasks.empty
    assert read.works["primary_score"].tolist() == [4, 6, pd.NA, 2, 1]
    assert read.works["mark"].tolist() == [2, 3, pd.NA, 2, 2]          # recomputed from the 2022 math 4 scale
    assert read.works["journal_mark"].tolist() == [4, 5, 3, 3, 2]


def test_no_tasks_and_no_total_is_still_fatal(tmp_path, book):
    header = ["Код", "Вариант", "Класс", "Пол", "Отметка за предыдущую четверть", "Отметка"]
    data = [r[:2] + r[6:9] + r[10:] for r in vc.form_rows()]
    read = read_vpr(vc.write_grid(tmp_path / "marks.csv", vc.form_grid(data, header)), book)
    task = "Баллы за задания (заголовок вида «1 (2б)»)"
    assert _tuples(read.problems) == [("missing_column", None, task, task)]
    assert read.rows_read == 5


def test_peek_then_read_parses_once_and_never_serves_stale_or_altered_cells(tmp_path, book, tasks, works):
    """The full sheets of the last peeked workbook are handed to the next full read of the same file."""
    path = _school_form(tmp_path, works, tasks, VprStyle(two_variant_columns=True))
    assert sniff_vpr(path)                                   # the ВПР reader fills merged cells in its own copy
    assert read_raw(path)[0].rows[3][1:3] == ["Вариант", ""]   # the raw read still shows the merge as written
    peek_rows(path)
    wb = openpyxl.load_workbook(path)
    wb.active["A5"] = "99999"                                # the file changes after the peek
    wb.save(path)
    assert read_vpr(path, book).works["participant"].iat[0] == "99999"
