"""РЦОИ exam protocols: a hand-built sheet with three exams (values worked out by hand), its .xls and .csv
copies, personal data never returned, malformed task strings reported where they are, rows read = rows
returned, and the writer round trip. All names in the fixtures are made up («…-Тест»)."""
from __future__ import annotations

import csv
import re
import datetime as dt
import doctest
from pathlib import Path

import pandas as pd
import pytest

from workbench.data import exam_protocol as E
from workbench.data import problems as P
from workbench.data.schemas import TABLES, EXAM_SUBJECTS

HEADER = ["№ п/п", "Фамилия", "Имя", "Отчество", "Серия документа", "Номер документа", "Код ОО", "Класс", "Код ППЭ",
          "Аудитория", "Задания с кратким ответом", "Задания с развёрнутым ответом", "Первичный балл"]
FOOTER = [["Руководитель РЦОИ", "", "", "____________ / Сидоров-Тест С. С. /"],
          ["Председатель ГЭК", "", "", "____________ / Петрова-Тест А. А. /"]]


def pupil(i, surname, name, patronymic, number, school, cls, short, long_, primary, result):
    return [i, surname, name, patronymic, "0000", number, school, cls, "0401", "0012", short, long_, primary, result]


# Three exams on one sheet, three title wordings, blank rows between blocks, footers with signatures.
ROWS = [
    ["Региональный центр обработки информации Тестовой области"],
    ["Код АТЕ: 004"],
    [],
    ["Протокол проверки результатов ОГЭ по математике, 23.05.2026"],                                 # row 4
    HEADER + ["Отметка"],                                                                            # row 5
    pupil(1, "Иванов-Тест", "Иван", "Иванович", "100001", "edu004001", "9А", "++-++++-", "2(2)1(2)0(2)", 9, 4),
    pupil(2, "Петрова-Тест", "Анна", "Петровна", "100002", "edu004001", "9 б", "+--+----", "0(2)0(2)0(2)", 2, 2),
    pupil(3, "Сидоров-Тест", "Пётр", "Сергеевич", "100003", "edu004002", "9А", "++++++++", "2(2)2(2)2(2)", 14, 5),
    pupil(4, "Кузнецова-Тест", "Мария", "Олеговна", "100004", "edu004002", "9А", "+-+-+-+-", "1(2)0(2)0(2)", 5, 3),
    [],
    *FOOTER,                                                                                         # rows 11-12
    [], [],
    ["Предмет: Русский язык  Дата экзамена: 26.05.2026"],                                            # row 15
    HEADER + ["Отметка"],                                                                            # row 16
    pupil(1, "Смирнов-Тест", "Егор", "Андреевич", "100005", "edu004001", "9А", "+2+-1+", "3(3)2(2)1(3)", 12, 4),
    pupil(2, "Попова-Тест", "Дарья", "Ивановна", "100006", "edu004002", "9А", "------", "0(3)0(2)0(3)", 0, 2),
    pupil(3, "Волков-Тест", "Кирилл", "Петрович", "100007", "edu004002", "9Б", "++++2+", "3(3)2(2)3(3)", 15, 5),
    [],
    ["ЕГЭ. Математика профильного уровня. 08.06.2026"],                                              # row 21
    HEADER + ["Тестовый балл"],                                                                      # row 22
    pupil(1, "Лебедев-Тест", "Максим", "Олегович", "100008", "edu004001", "11А", "++++-+", "2(2)1(3)0(2)", 8, 50),
    pupil(2, "Козлова-Тест", "Софья", "Сергеевна", "100009", "edu004001", "11А", "+-----", "0(2)0(3)0(2)", 1, 14),
    pupil(3, "Новиков-Тест", "Алексей", "Иванович", "100010", "edu004002", "11А", "++++++", "2(2)3(3)2(2)", 13, 86),
    ["Итого участников: 3"],
    ["Страница 1 из 1"],
]
DATA_ROWS = [6, 7, 8, 9, 17, 18, 19, 23, 24, 25]
PERSONAL_VALUES = {c for r in ROWS if len(r) == 14 and isinstance(r[0], int) for c in r[1:6]} - {"0000"}


def write_rows(rows: list[list], path: Path, *, sep: str = ";", encoding: str = "utf-8-sig") -> Path:
    """Raw cell rows as .xlsx (xlsxwriter), .xls (xlwt) or .csv: numbers stay numbers, dates Excel dates."""
    if path.suffix == ".csv":
        with path.open("w", encoding=encoding, newline="") as f:
            w = csv.writer(f, delimiter=sep, lineterminator="\n")
            for r in rows:
                w.writerow(["" if v is None else v.strftime("%d.%m.%Y") if isinstance(v, dt.date) else v for v in r])
        return path
    if path.suffix == ".xls":
        xlwt = pytest.importorskip("xlwt")
        wb = xlwt.Workbook(encoding="utf-8")
        ws = wb.add_sheet("Протокол")
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                if isinstance(v, dt.date):
                    ws.write(i, j, dt.datetime(v.year, v.month, v.day), xlwt.easyxf(num_format_str="DD.MM.YYYY"))
                elif v is not None and v != "":
                    ws.write(i, j, v)
        wb.save(str(path))
        return path
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    ws = wb.add_worksheet("Протокол")
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if isinstance(v, dt.date):
                ws.write_datetime(i, j, dt.datetime(v.year, v.month, v.day), wb.add_format({"num_format": "dd.mm.yyyy"}))
            elif isinstance(v, str):
                if v:
                    ws.write_string(i, j, v)
            elif v is not None:
                ws.write_number(i, j, v)
    wb.close()
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("protocols")
    return {s: write_rows(ROWS, d / f"protocol_2026{s}") for s in (".xlsx", ".xls", ".csv")}


def real(read: E.ProtocolRead) -> pd.DataFrame:
    """Problems other than the «personal data dropped» note."""
    return read.problems[read.problems.rule != "personal_data_dropped"]


def _everything(read: E.ProtocolRead) -> str:
    """Every text the reader returns, joined."""
    parts = [read.results.astype(str).to_csv(), read.problems.astype(str).to_csv(), read.blocks.astype(str).to_csv()]
    return "\n".join(parts + read.dropped_personal)


# ---------------------------------------------------------------- the hand-built protocol

def test_three_exams_on_one_sheet_are_read_pupil_by_pupil(files):
    read = E.read_exam_protocol(files[".xlsx"])
    r = read.results
    assert read.rows_read == len(r) == 10 and r["source_row"].tolist() == DATA_ROWS
    assert r["source_sheet"].eq("Протокол").all() and r["source_file"].eq("protocol_2026.xlsx").all()
    assert real(read).empty, real(read).to_dict("records")
    assert r["year"].eq(2026).all() and r["municipality"].eq("004").all()   # «Код АТЕ: 004» above the first block
    assert r["exam"].tolist() == ["ОГЭ"] * 7 + ["ЕГЭ"] * 3                   # the second block inherits ОГЭ
    assert r["subject"].tolist() == ["math"] * 4 + ["rus"] * 3 + ["math"] * 3
    assert r["exam_date"].dt.strftime("%d.%m").tolist() == ["23.05"] * 4 + ["26.05"] * 3 + ["08.06"] * 3
    assert r["class_label"].tolist() == ["9А", "9Б", "9А", "9А", "9А", "9А", "9Б", "11А", "11А", "11А"]
    assert r["ppe"].eq("0401").all() and r["auditorium"].eq("0012").all()
    assert r["primary_score"].tolist() == [9, 2, 14, 5, 12, 0, 15, 8, 1, 13]
    assert r["mark"].tolist()[:7] == [4, 2, 5, 3, 4, 2, 5] and r["mark"].iloc[7:].isna().all()
    assert r["test_score"].iloc[:7].isna().all() and r["test_score"].iloc[7:].tolist() == [50, 14, 86]
    # «+2+-1+»: tasks with points + 2 + 1 + = 5, points 1+2+1+0+1+1 = 6
    assert r["n_short_correct"].tolist() == [6, 2, 8, 4, 5, 0, 6, 5, 1, 6]
    assert r["short_score"].tolist() == [6, 2, 8, 4, 6, 0, 7, 5, 1, 6]
    assert r["long_score"].tolist() == [3, 0, 6, 1, 6, 0, 8, 3, 0, 7]
    assert r["long_max"].tolist() == [6] * 4 + [8] * 3 + [7] * 3
    assert r["short_answers"].iloc[4] == "+2+-1+" and r["long_answers"].iloc[0] == "2(2)1(2)0(2)"
    assert read.blocks[["header_row", "exam", "subject", "rows"]].values.tolist() == [
        [5, "ОГЭ", "math", 4], [16, "ОГЭ", "rus", 3], [22, "ЕГЭ", "math", 3]]
    TABLES["exam_results"].model.validate(r.drop(columns=E.SOURCE_COLUMNS), lazy=True)


def test_school_level_exams_computed_by_hand(files):
    read = E.read_exam_protocol(files[".xlsx"])
    s = E.school_exams(read.results).set_index(["exam", "subject", "school_id"])
    cols = ["participants", "mean_score", "n_below_min", "n_good", "n_high"]
    expected = {
        ("ОГЭ", "math", "edu004001"): [2, 5.5, 1, 1, 0],     # primary 9, 2; marks 4, 2
        ("ОГЭ", "math", "edu004002"): [2, 9.5, 0, 1, 1],     # 14, 5; marks 5, 3
        ("ОГЭ", "rus", "edu004001"): [1, 12.0, 0, 1, 0],
        ("ОГЭ", "rus", "edu004002"): [2, 7.5, 1, 1, 1],      # 0, 15; marks 2, 5
        ("ЕГЭ", "math", "edu004001"): [2, 32.0, 1, 0, 0],    # test 50, 14 (< 27)
        ("ЕГЭ", "math", "edu004002"): [1, 86.0, 0, 1, 1],    # 86 ≥ 70 and > 80
    }
    assert len(s) == len(expected)
    for key, values in expected.items():
        assert s.loc[key, cols].tolist() == values, key
    assert s.loc[("ЕГЭ", "math", "edu004001"), ["good_threshold", "high_threshold"]].tolist() == [70.0, 80.0]
    assert s.loc[("ОГЭ", "math", "edu004001"), ["good_threshold", "high_threshold"]].isna().all()
    assert s["municipality"].eq("004").all() and s["year"].eq(2026).all()
    TABLES["exams"].model.validate(s.reset_index(), lazy=True)
    # the thresholds are parameters: a minimum of 60 for 2026 and a «good» of 50
    mins = pd.DataFrame({"subject": ["math"], "year_from": [2026], "year_to": [2026], "min_score": [60]})
    alt = E.school_exams(read.results, minimum_scores=mins, good_threshold=50).set_index(["exam", "subject", "school_id"])
    assert alt.loc[("ЕГЭ", "math", "edu004001"), ["n_below_min", "n_good"]].tolist() == [2, 1]
    unknown = E.school_exams(read.results.assign(year=2019))
    assert unknown.loc[unknown.exam == "ЕГЭ", "n_below_min"].isna().all()   # no minimum known for 2019


@pytest.mark.parametrize("suffix", [".xls", ".csv"])
def test_xls_and_csv_copies_read_the_same(files, suffix):
    a = E.read_exam_protocol(files[".xlsx"])
    b = E.read_exam_protocol(files[suffix])
    assert real(b).empty, real(b).to_dict("records")
    assert b.rows_read == len(b.results) == 10
    cols = E.RESULT_COLUMNS + ["source_row"]
    pd.testing.assert_frame_equal(a.results[cols], b.results[cols])
    assert b.results["source_sheet"].isna().all() if suffix == ".csv" else b.results["source_sheet"].eq("Протокол").all()


def test_cp1251_comma_separated_csv(tmp_path):
    path = write_rows(ROWS, tmp_path / "OGE_EGE.csv", sep=",", encoding="cp1251")
    read = E.read_exam_protocol(path)
    assert read.rows_read == 10 and real(read).empty
    assert read.results["subject"].tolist()[:4] == ["math"] * 4   # the title «…по математике, 23.05.2026» split at «,»


def test_personal_data_never_returned(files):
    for path in files.values():
        E.column_kind.cache_clear()
        read = E.read_exam_protocol(path)
        assert E.column_kind.cache_info().currsize <= 16   # header texts only, no pupil's cell kept in memory
        assert read.dropped_personal == ["Фамилия", "Имя", "Отчество", "Серия документа", "Номер документа"]
        note = read.problems[read.problems.rule == "personal_data_dropped"]
        assert len(note) == 1 and note["row"].isna().all() and note["severity"].eq("info").all()
        assert note["message"].iloc[0] == ("Персональные данные не загружаются: столбцы «Фамилия», «Имя», «Отчество», "
                                           "«Серия документа», «Номер документа» удалены при чтении")
        text = _everything(read)
        leaked = {v for v in PERSONAL_VALUES if v in text}
        assert not leaked, (path.suffix, leaked)
        assert "Сидоров-Тест С. С." not in text and "Петрова-Тест А. А." not in text   # footer signatures
        assert not set(read.results.columns) & {"surname", "first_name", "patronymic", "doc_series", "doc_number"}


def test_a_shifted_row_does_not_leak_a_name_into_results_or_problems(tmp_path):
    rows = [["Протокол проверки результатов ОГЭ по математике, 23.05.2026"], HEADER + ["Отметка"],
            pupil(1, "Иванов-Тест", "Иван", "Иванович", "100001", "edu004001", "9А", "++", "1(2)", 3, 3),
            # the school cell holds a surname (a row pasted one column off)
            pupil(2, "Орлов-Тест", "Кирилл", "Андреевич", "100002", "Орлов-Тест", "9А", "+-", "0(2)", 1, 2)]
    read = E.read_exam_protocol(write_rows(rows, tmp_path / "shifted.xlsx"))
    assert read.rows_read == 2 and read.results["school_id"].tolist()[0] == "edu004001"
    assert pd.isna(read.results["school_id"].iloc[1])
    bad = read.problems[read.problems.row == 4]
    assert bad["rule"].tolist() == ["personal_value_hidden"] and bad["severity"].tolist() == ["error"]
    assert "Орлов" not in _everything(read)


# ---------------------------------------------------------------- malformed rows: reported where they are

BAD = [
    ["Протокол проверки результатов ОГЭ по математике, 23.05.2026"],                          # row 1
    HEADER + ["Отметка"],                                                                     # row 2
    pupil(1, "Иванов-Тест", "Иван", "Иванович", "100001", "edu004001", "9А", "++-", "1(2)2(", 3, 3),         # 3
    pupil(2, "Петров-Тест", "Пётр", "Петрович", "100002", "edu004001", "9А", "++-", "3(2)1(2)", 6, 4),       # 4
    pupil(3, "Сидорова-Тест", "Анна", "Петровна", "100003", "edu004001", "9А", "++-", "1(2)1(2)", 7, 4),     # 5
    pupil(4, "Смирнова-Тест", "Ольга", "Ивановна", "100004", "edu004002", "9А", "++a", "0(2)0(2)", 2, 6),    # 6
    pupil(5, "Попов-Тест", "Егор", "Ивановна", "100005", "", "9А", "+++", "0(2)0(2)", 3, 3),                 # 7
    pupil(6, "Волков-Тест", "Иван", "Олегович", "100006", "edu004002", "9А", "+++", "0(2)0(2)", "три", 3),   # 8
    pupil(7, "Козлов-Тест", "Иван", "Олегович", "100007", "edu004002", "9А", "+++", "0(2)0(2)0(2)", 3, 3),   # 9
    [],
    ["ЕГЭ по русскому языку 04.06.2026"],                                                      # row 11
    HEADER + ["Тестовый балл"],                                                               # row 12
    pupil(1, "Новиков-Тест", "Иван", "Олегович", "100008", "edu004001", "11А", "++", "1(1)", 3, 101),       # 13
]


def test_malformed_rows_are_reported_with_row_and_column(tmp_path):
    path = write_rows(BAD, tmp_path / "bad.csv")
    read = E.read_exam_protocol(path)
    assert read.rows_read == len(read.results) == 8   # nothing dropped
    pr = real(read)
    got = {(int(r.row), r.column, r.rule, r.severity) for r in pr.itertuples()}
    assert got == {
        (3, "Задания с развёрнутым ответом", "long_answers_invalid", "error"),
        (4, "Задания с развёрнутым ответом", "long_score_above_max", "error"),
        (5, "Первичный балл", "primary_mismatch", "warning"),          # 2 + 2 = 4, file says 7
        (6, "Задания с кратким ответом", "short_answers_invalid", "error"),
        (6, "Отметка", "mark_outside_scale", "error"),
        (7, "Код ОО", "required_empty", "error"),
        (8, "Первичный балл", "not_an_integer", "error"),
        (9, "Задания с развёрнутым ответом", "task_count_differs", "warning"),   # three long tasks, the block has two
        (13, "Тестовый балл", "out_of_range", "error"),
    }
    one = pr.set_index(["row", "rule"])
    assert one.loc[(3, "long_answers_invalid"), "value"] == "1(2)2("
    assert one.loc[(4, "long_score_above_max"), "message"] == \
        "Задания с развёрнутым ответом «3(2)1(2)»: балл больше максимума (задание 1: 3 из 2)"
    assert "«a»" in one.loc[(6, "short_answers_invalid"), "message"]
    assert one.loc[(5, "primary_mismatch"), "message"].endswith("(краткий ответ 2 + развёрнутый 2 = 4)")
    assert pr["file"].eq("bad.csv").all() and pr["sheet"].isna().all()
    assert pr["message"].str.len().gt(15).all()
    leaked = {v for r in BAD if len(r) == 14 and isinstance(r[0], int) for v in r[1:6] if v != "0000" and v in _everything(read)}
    assert not leaked


def test_every_rule_has_a_russian_message_and_a_known_severity():
    for rule, (severity, template) in P.RULES.items():
        starts = template[0].isupper() or template.startswith("«{value}»")
        assert severity in P.SEVERITIES and starts and re.search("[а-я]", template), rule
        P.problem("f", None, 1, "c", "v", rule, detail="d", other=2, allowed="a")


# ---------------------------------------------------------------- layout variants

def test_cells_style_excel_date_base_math_header_variants_and_repeated_header(tmp_path):
    head = HEADER[:6] + ["Логин ОО", "Класс", "Код ППЭ", "Аудитория", "Задания с кратким\nответом",
                         "Задания с развёрнутым ответом (балл(макс))", "Первичный балл", "Оценка"]
    rows = [
        ["Единый государственный экзамен"],
        ["Предмет:", "Математика", "", "Дата экзамена:", dt.date(2026, 6, 8)],
        ["Дата формирования протокола:", dt.date(2026, 6, 20)],
        head,
        pupil(1, "Иванов-Тест", "Иван", "Иванович", "100001", "edu004001", "11А", "+++-+", "", 4, 3),
        pupil(2, "Петрова-Тест", "Анна", "Ивановна", "100002", "edu004001", "11А", "-----", "", 0, 2),
        head,                                                       # printed on a new page: same block
        pupil(3, "Сидоров-Тест", "Пётр", "Петрович", "100003", "edu004002", "11Б", "+++++", "", 5, 4),
    ]
    read = E.read_exam_protocol(write_rows(rows, tmp_path / "ege_base.xlsx"))
    r = read.results
    assert real(read).empty, real(read).to_dict("records")
    assert read.rows_read == 3 and r["exam"].eq("ЕГЭ").all()
    assert r["subject"].eq("math_base").all()                       # ЕГЭ mathematics with a mark 2–5
    assert r["exam_date"].eq(pd.Timestamp("2026-06-08")).all()      # not the protocol's own date
    assert r["mark"].tolist() == [3, 2, 4] and r["test_score"].isna().all()
    assert r["long_answers"].isna().all() and r["short_score"].tolist() == [4, 0, 5]
    s = E.school_exams(r).set_index("school_id")
    assert s.loc["edu004001", ["participants", "mean_score", "n_below_min", "n_good", "n_high"]].tolist() == [2, 2.0, 1, 0, 0]
    assert s["good_threshold"].isna().all()


def test_unresolved_blocks_unknown_columns_and_keyword_overrides(tmp_path):
    rows = [
        ["Протокол проверки результатов ГВЭ по математике, 23.05.2026"],
        HEADER + ["Отметка"],
        pupil(1, "Иванов-Тест", "Иван", "Иванович", "100001", "edu004001", "9А", "++", "1(2)", 3, 3),
        [],
        ["Протокол проверки результатов ОГЭ по астрономии, 24.05.2026"],
        HEADER + ["Отметка"],
        pupil(1, "Петров-Тест", "Пётр", "Петрович", "100002", "edu004001", "9А", "++", "1(2)", 3, 3),
        [],
        ["Протокол проверки результатов ОГЭ по химии, 25.05.2026"],
        HEADER + ["Отметка", "Статус"],
        pupil(1, "Орлов-Тест", "Егор", "Петрович", "100003", "edu004001", "9А", "++", "1(2)", 3, 3) + ["удалён"],
    ]
    path = write_rows(rows, tmp_path / "mixed.xlsx")
    read = E.read_exam_protocol(path)
    assert read.rows_read == 3
    pr = read.problems.set_index("row")
    assert pr.loc[3, "rule"] == "protocol_block_unresolved" and "ГВЭ не поддерживается" in pr.loc[3, "message"]
    assert pr.loc[7, "rule"] == "protocol_block_unresolved" and "«астрономии» не распознан" in pr.loc[7, "message"]
    assert pr.loc[10, ["rule", "value", "severity"]].tolist() == ["unknown_column", "Статус", "warning"]
    assert read.results["exam"].fillna("—").tolist() == ["—", "ОГЭ", "ОГЭ"]
    assert read.results["subject"].fillna("—").tolist() == ["math", "—", "chem"]
    derived = E.school_exams(read.results)   # rows of unresolved blocks are not counted
    assert derived[["exam", "subject", "participants"]].values.tolist() == [["ОГЭ", "chem", 1]]
    # year and exam given at load: the year overrides the dates (reported), ГВЭ stays unsupported
    read = E.read_exam_protocol(path, year=2025, exam="ОГЭ", name="sub/mixed.xlsx")
    conflicts = read.problems[read.problems.rule == "protocol_meta_conflict"]
    assert set(conflicts["value"]) == {"ГВЭ", "2026"} and read.results["year"].eq(2025).all()
    assert read.problems["file"].eq("sub/mixed.xlsx").all() and read.results["source_file"].eq("sub/mixed.xlsx").all()
    with pytest.raises(ValueError):
        E.read_exam_protocol(path, exam="ВПР")


def test_a_plain_title_between_blocks_starts_a_new_block(tmp_path):
    """«Математика (профильный уровень), 08.06.2026» right under the pupils, then the same header: a new
    block (not a repeated page header that would give the next pupils the previous subject)."""
    rows = [["ЕГЭ по русскому языку, 04.06.2026"], HEADER + ["Тестовый балл"],
            pupil(1, "Иванов-Тест", "Иван", "Иванович", "100001", "edu004001", "11А", "++", "1(2)", 3, 40),
            ["Математика (профильный уровень), 08.06.2026"], HEADER + ["Тестовый балл"],
            pupil(1, "Иванов-Тест", "Иван", "Иванович", "100001", "edu004001", "11А", "+-", "0(2)", 1, 20)]
    read = E.read_exam_protocol(write_rows(rows, tmp_path / "ege.xlsx"))
    assert real(read).empty and read.results["subject"].tolist() == ["rus", "math"]
    assert read.results["exam"].tolist() == ["ЕГЭ", "ЕГЭ"] and read.results["exam_date"].dt.day.tolist() == [4, 8]


def test_rows_outside_a_block_and_files_without_a_protocol(tmp_path):
    rows = [["Протокол проверки результатов ОГЭ по математике, 23.05.2026"], HEADER + ["Отметка"],
            pupil(1, "Иванов-Тест", "Иван", "Иванович", "100001", "edu004001", "9А", "++", "1(2)", 3, 3),
            [], ["Протокол проверки результатов ОГЭ по русскому языку, 26.05.2026"],
            pupil(1, "Петров-Тест", "Пётр", "Петрович", "100002", "edu004001", "9А", "++", "1(2)", 3, 3)]  # no header
    read = E.read_exam_protocol(write_rows(rows, tmp_path / "no_header.xlsx"))
    assert read.rows_read == len(read.results) == 2
    pr = real(read)
    assert pr[["row", "rule", "severity"]].values.tolist() == [[6, "protocol_row_outside_block", "error"]]
    assert "Петров" not in _everything(read)
    # not a protocol at all / unreadable: one fatal problem, no rows
    other = write_rows([["Код", "Вариант", "1 (1б)"], ["00012", 1, 1]], tmp_path / "vpr.xlsx")
    r = E.read_exam_protocol(other)
    assert r.rows_read == 0 and r.problems["rule"].tolist() == ["no_header"] and r.problems["severity"].eq("fatal").all()
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    r = E.read_exam_protocol(broken)
    assert r.rows_read == 0 and r.problems["rule"].tolist() == ["corrupt_file"] and r.problems["severity"].eq("fatal").all()
    utf16 = write_rows(ROWS, tmp_path / "utf16.csv", encoding="utf-16")
    assert E.read_exam_protocol(utf16).rows_read == 10


def test_a_header_without_a_required_column_is_reported_and_its_rows_kept(tmp_path):
    head = [h for h in HEADER if h != "Первичный балл"] + ["Отметка"]
    rows = [["Протокол проверки результатов ОГЭ по математике, 23.05.26"], head,
            [1, "Иванов-Тест", "Иван", "Иванович", "0000", "100001", "edu004001", "9А", "0401", "0012", "++", "1(2)", 3],
            [2, "Петров-Тест", "Пётр", "Петрович", "0000", "100002", "edu004001", "9А", "0401", "0012", "+-", "0(2)", 2]]
    read = E.read_exam_protocol(write_rows(rows, tmp_path / "no_primary.csv"))
    assert read.rows_read == 2 and read.results["source_row"].tolist() == [3, 4]
    assert read.results["exam_date"].eq(pd.Timestamp("2026-05-23")).all()   # «23.05.26»
    fatal = read.problems[read.problems.severity == "fatal"]
    assert fatal[["row", "column", "rule"]].values.tolist() == [[2, "Первичный балл", "missing_column"]]
    assert not E.sniff_exam_protocol(rows)   # not enough to classify a file as a protocol


def test_sniff_on_peek_rows(files, tmp_path):
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(files[".xlsx"])).get_sheet_by_index(0).to_python(skip_empty_area=False)
    assert E.sniff_exam_protocol(sheet[:30])
    with open(files[".csv"], encoding="utf-8-sig") as f:
        assert E.sniff_exam_protocol(list(csv.reader(f, delimiter=";"))[:30])
    assert not E.sniff_exam_protocol([["Год", "Код муниципалитета", "Код ОО", "Экзамен", "Предмет", "Участников", "Средний балл"]])
    assert not E.sniff_exam_protocol([["Код", "Вариант", "1 (2б)", "Класс", "Первичный балл", "Отметка"], [None, 5.0]])
    assert not E.sniff_exam_protocol([])


# ---------------------------------------------------------------- the writer (shared with the demo)

def _pupils() -> pd.DataFrame:
    return pd.DataFrame({
        "exam": ["ОГЭ", "ОГЭ", "ОГЭ", "ЕГЭ", "ЕГЭ"], "subject": ["math", "math", "rus", "rus", "math"],
        "exam_date": pd.to_datetime(["2026-05-23", "2026-05-23", "2026-05-26", "2026-06-04", "2026-06-08"]),
        "school_id": ["edu004001", "edu004002", "edu004001", "edu004001", "edu004002"],
        "class_label": ["9А", "9А", "9Б", "11А", "11А"], "ppe": "0401", "auditorium": ["0012", "0012", "0014", "0101", "0102"],
        "short_answers": ["++-+", "+---", "+2-", "+-+2", "++"], "long_answers": ["1(2)0(2)", "0(2)0(2)", "2(3)", "4(5)", "1(4)"],
        "primary_score": [4, 1, 5, 8, 3],
        "mark": pd.array([3, 2, 4, None, None], dtype="Int64"),
        "test_score": pd.array([None, None, None, 64, 27], dtype="Int64")})


@pytest.mark.parametrize("title", ["protocol", "subject_line", "cells"])
@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".csv"])
def test_writer_round_trip(tmp_path, title, suffix):
    if suffix == ".xls":
        pytest.importorskip("xlwt")
    pupils = _pupils()
    style = E.ProtocolStyle(title=title, result_header="combined" if title == "cells" else "separate",
                            footer=title != "subject_line", blank_rows=0 if title == "cells" else 2)
    path = tmp_path / f"protocol{suffix}"
    assert E.write_exam_protocol(pupils, path, style=style) == 5
    read = E.read_exam_protocol(path)
    assert real(read).empty, real(read).to_dict("records")
    r = read.results
    for c in ("exam", "subject", "school_id", "class_label", "ppe", "auditorium", "short_answers", "long_answers"):
        assert r[c].tolist() == pupils[c].tolist(), c
    assert r["exam_date"].tolist() == pupils["exam_date"].tolist()
    for c in ("primary_score", "mark", "test_score"):
        assert r[c].astype("Float64").fillna(-1).tolist() == pupils[c].astype("Float64").fillna(-1).tolist(), c
    assert len(read.blocks) == 4 and len(read.dropped_personal) == 5
    assert not {"Иванов-Тест", "100000"} & set(_everything(read).split())


def test_writer_is_deterministic(tmp_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    E.write_exam_protocol(_pupils(), a)
    E.write_exam_protocol(_pupils(), b)
    assert a.read_bytes() == b.read_bytes()


def test_pure_helpers_and_doctests():
    assert E.parse_short_answers("+ + - 2 0") == ("++-20", 3, 4)
    assert E.parse_long_answers("2(2),0(3);1(1)") == [(2, 2), (0, 3), (1, 1)]
    for bad in ("1(2)x", "(2)", "12", "1(0)"):
        with pytest.raises(ValueError):
            E.parse_long_answers(bad)
    assert E.title_meta(["Результаты ОГЭ: Русский язык (03.06.2026)"])["subject"] == "rus"
    assert E.title_meta(["Протокол проверки результатов единого государственного экзамена по обществознанию 11 июня 2026 г."])[
        "exam"] == "ЕГЭ"
    m = E.title_meta(["Протокол проверки результатов единого государственного экзамена по обществознанию 11 июня 2026 г."])
    assert (m["subject"], m["exam_date"]) == ("soc", dt.date(2026, 6, 11))
    assert E.title_meta(["Министерство образования Русскополянского района"])["subject"] is None
    assert set(E.SUBJECT_NAMES) <= set(EXAM_SUBJECTS)
    assert doctest.testmod(E).failed == 0


def test_ege_minimum_scores_file_has_sources():
    t = E.load_ege_minimum_scores()
    assert t["source"].str.len().gt(10).all() and t["tag"].isin(["official", "secondary"]).all()
    assert set(t["subject"]) <= set(EXAM_SUBJECTS) and (t["year_from"] <= t["year_to"]).all()
    assert not t.duplicated(["subject", "year_from"]).any()
    assert E.ege_minimum(t, 2024, "rus") == 24 and E.ege_minimum(t, 2024, "phys") is None
