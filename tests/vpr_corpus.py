"""Small ВПР test files built in a temporary folder: clean works for round trips and malformed files.

Nothing here is committed data: every file is written by the tests into ``tmp_path``. A malformed file is
described by a :class:`Case` holding what the reader must report (rule, row, column) and how many
non-empty data rows were written, so each test can check row conservation.

The basic school form written by :func:`form_grid` (user row numbers on the left)::

    1  Форма сбора результатов ВПР
    2  Год: 2022 | Предмет: Математика | Класс: 4 | Логин ОО: edu000001
    3
    4  Код | Вариант | 1 (1б) | 2 (1б) | 3 (2б) | 4 (2б) | Класс | Пол | Отметка за предыдущую четверть | Первичный балл | Отметка
    5  00101 ... (five pupils, rows 5–9; row 7 is absent)
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from workbench.scales import ScaleBook


class Formula(NamedTuple):
    """An xlsx formula cell with its cached value (as Excel or xlsxwriter ``value=`` stores it)."""

    text: str
    value: Any


@dataclass
class Case:
    """A malformed file and every problem the reader must report for it, as (rule, row, column, value)."""

    path: Path
    expected: list[tuple[str, int | None, str | None, str]]
    n_rows: int              # non-empty data rows written
    sheet: str | None = None   # sheet named in the problems (None for CSV)


# --------------------------------------------------------------------------------------------------
# Clean data for round trips
# --------------------------------------------------------------------------------------------------

# 2022 math grade 4 (max 20): labels in the spellings the reader canonicalises to.
MATH4_TASKS = [("1", 1, "Б"), ("2", 1, "Б"), ("3", 2, "Б"), ("4", 2, "Б"), ("5", 2, "Б"), ("6", 2, "П"),
               ("7", 2, "Б"), ("8", 2, "П"), ("9.1", 1, "Б"), ("9.2", 1, "П"), ("К1", 2, "В"), ("11.3 К1", 2, "В")]


def make_tasks(year: int = 2022, subject: str = "math", grade: int = 4, spec=MATH4_TASKS,
               with_levels: bool = True) -> pd.DataFrame:
    """A vpr_tasks frame typed as the reader returns it."""
    n = len(spec)
    return pd.DataFrame({
        "year": pd.Series([year] * n, dtype="Int64"),
        "subject": pd.Series([subject] * n, dtype="str"),
        "grade": pd.Series([grade] * n, dtype="Int64"),
        "position": pd.Series(range(1, n + 1), dtype="Int64"),
        "task": pd.Series([t for t, _, _ in spec], dtype="str"),
        "max_score": pd.Series([m for _, m, _ in spec], dtype="Int64"),
        "level": pd.Series([lv if with_levels else None for _, _, lv in spec], dtype="str"),
        "skill": pd.Series([None] * n, dtype="str"),
    })


def make_works(tasks: pd.DataFrame, scales: ScaleBook, *, n: int = 12, schools=("edu000001",),
               municipalities=("0301",), seed: int = 0) -> pd.DataFrame:
    """Works typed exactly as the reader returns them (without source_*): leading-zero codes, absent
    pupils with NA scores, tasks not done (NA), missing journal marks, recomputed primary score and mark."""
    rng = np.random.default_rng(seed)
    year, subject, grade = int(tasks["year"].iat[0]), str(tasks["subject"].iat[0]), int(tasks["grade"].iat[0])
    rows = []
    for s, school in enumerate(schools):
        for i in range(n):
            absent = i % 5 == 3
            maxima = tasks["max_score"].astype(int).tolist()
            scores = [None if absent or rng.random() < 0.1 else int(rng.integers(0, m + 1)) for m in maxima]
            rows.append({
                "school_id": school, "municipality": municipalities[s % len(municipalities)],
                "class_label": f"{grade}{'АБ'[i % 2]}", "participant": f"{s * 1000 + i * 7 + 1:05d}",
                "variant": None if absent else 1 + i % 2, "absent": absent, "sex": [None, "М", "Ж"][i % 3] if i else "М",
                "journal_mark": None if i % 4 == 2 else int(rng.integers(2, 6)), "scores": scores,
            })
    df = pd.DataFrame(rows)
    out = pd.DataFrame({
        "year": pd.Series([year] * len(df), dtype="Int64"),
        "municipality": df["municipality"].astype("str"),
        "school_id": df["school_id"].astype("str"),
        "subject": pd.Series([subject] * len(df), dtype="str"),
        "grade": pd.Series([grade] * len(df), dtype="Int64"),
        "class_label": df["class_label"].astype("str"),
        "participant": df["participant"].astype("str"),
        "variant": df["variant"].astype("Int64"),
        "absent": df["absent"].astype("boolean"),
        "sex": df["sex"].astype("str"),
        "journal_mark": df["journal_mark"].astype("Int64"),
    })
    slots = {f"task_{k + 1:02d}": pd.Series([r[k] for r in df["scores"]], dtype="Int64") for k in range(len(tasks))}
    primary = pd.DataFrame(slots).sum(axis=1).astype("Int64").where(~out["absent"], pd.NA)
    out["primary_score"] = primary
    out["mark"] = scales.marks(year, subject, grade, primary).astype("Int64")
    out["primary_score_reported"] = primary.copy()
    out["mark_reported"] = out["mark"].copy()
    for k, v in slots.items():
        out[k] = v
    return out


# --------------------------------------------------------------------------------------------------
# Raw files
# --------------------------------------------------------------------------------------------------

def write_grid(path: Path, rows: list[list[Any]], *, sheet: str = "Результаты", merges=(),
               extra_sheets: dict[str, list[list[Any]]] | None = None, first: bool = False,
               encoding: str = "utf-8", sep: str = ";") -> Path:
    """Write rows of cells as .xlsx (xlsxwriter: numbers as numbers, text as text, merges, formulas with
    cached values; ``extra_sheets`` before the data sheet when ``first``) or .csv (encoding, separator)."""
    if path.suffix == ".csv":
        with path.open("w", encoding=encoding, newline="") as f:
            csv.writer(f, delimiter=sep, lineterminator="\n").writerows(
                [["" if v is None else v.value if isinstance(v, Formula) else v for v in r] for r in rows])
        return path
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    extra = extra_sheets or {}
    order = ([*extra, sheet] if first else [sheet, *extra])
    for name in order:
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows if name == sheet else extra[name]):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, Formula):
                    ws.write_formula(r, c, v.text, None, v.value)
                elif isinstance(v, str):
                    ws.write_string(r, c, v)
                else:
                    ws.write_number(r, c, v)
        if name == sheet:
            for (r1, c1, r2, c2) in merges:
                ws.merge_range(r1, c1, r2, c2, rows[r1][c1])
    wb.close()
    return path


HEADER = ["Код", "Вариант", "1 (1б)", "2 (1б)", "3 (2б)", "4 (2б)", "Класс", "Пол",
          "Отметка за предыдущую четверть", "Первичный балл", "Отметка"]
DATA_START = 5   # user row of the first pupil in form_grid()


def form_rows() -> list[list[Any]]:
    """Five pupils (rows 5–9); totals and marks agree with the 2022 math 4 scale; row 7 is absent."""
    return [
        ["00101", 1, 1, 0, 2, 1, "4А", "М", 4, 4, 2],
        ["00102", 2, 1, 1, 2, 2, "4А", "Ж", 5, 6, 3],
        ["00103", "отсутствовал", None, None, None, None, "4А", "М", 3, None, None],
        ["00104", 1, "X", 1, 1, 0, "4Б", "Ж", 3, 2, 2],
        ["00105", 2, 0, 0, 0, 1, "4Б", "М", 2, 1, 2],
    ]


def form_grid(data: list[list[Any]] | None = None, header: list[str] | None = None,
              title: bool = True) -> list[list[Any]]:
    """Title block (rows 1–3), header (row 4) and data (from row 5)."""
    top = [["Форма сбора результатов ВПР"],
           ["Год: 2022", "Предмет: Математика", "Класс: 4", "Логин ОО: edu000001"], []] if title else [[], [], []]
    return top + [list(header or HEADER)] + [list(r) for r in (form_rows() if data is None else data)]


def _set(data: list[list[Any]], row: int, column: str, value: Any, header=HEADER) -> list[list[Any]]:
    data[row - DATA_START][header.index(column)] = value
    return data


# --------------------------------------------------------------------------------------------------
# Malformed files: one builder per case
# --------------------------------------------------------------------------------------------------

def missing_participant(tmp: Path) -> Case:
    header = HEADER[1:]
    data = [r[1:] for r in form_rows()]
    path = write_grid(tmp / "no_code.xlsx", form_grid(data, header))
    return Case(path, [("missing_column", None, "Код участника", "Код участника")], 5, "Результаты")


def unknown_header(tmp: Path) -> Case:
    header = HEADER + ["Комментарий учителя"]
    data = [r + ["болел"] if i == 1 else r + [None] for i, r in enumerate(form_rows())]
    path = write_grid(tmp / "unknown.xlsx", form_grid(data, header))
    return Case(path, [("unknown_column", 4, "Комментарий учителя", "Комментарий учителя")], 5, "Результаты")


def text_score(tmp: Path) -> Case:
    data = _set(form_rows(), 6, "3 (2б)", "два")
    path = write_grid(tmp / "text_score.xlsx", form_grid(data))
    return Case(path, [("not_an_integer", 6, "3 (2б)", "два")], 5, "Результаты")


def score_above_max(tmp: Path) -> Case:
    data = _set(form_rows(), 8, "1 (1б)", 3)
    data = _set(data, 8, "Первичный балл", 5)
    path = write_grid(tmp / "above_max.csv", form_grid(data))
    return Case(path, [("score_above_max", 8, "1 (1б)", "3")], 5, None)


def mark_outside(tmp: Path) -> Case:
    data = _set(form_rows(), 5, "Отметка за предыдущую четверть", 6)
    path = write_grid(tmp / "mark6.xlsx", form_grid(data))
    return Case(path, [("mark_outside_scale", 5, "Отметка за предыдущую четверть", "6")], 5, "Результаты")


def duplicate_code(tmp: Path) -> Case:
    data = _set(form_rows(), 9, "Код", "00104")
    data = _set(data, 9, "Класс", "4Б")
    path = write_grid(tmp / "dup.csv", form_grid(data))
    return Case(path, [("duplicate_key", 9, "Код", "00104")], 5, None)


def empty_rows(tmp: Path) -> Case:
    """Two empty rows (7, 8) between pupils and trailing blank lines; data rows 5, 6, 9, 10, 11."""
    rows = form_rows()
    data = rows[:2] + [[None] * len(HEADER), [""] * len(HEADER)] + rows[2:]
    path = write_grid(tmp / "empty.csv", form_grid(data) + [[], [""] * 3])
    return Case(path, [("empty_row", 7, None, ""), ("empty_row", 8, None, "")], 5, None)


def cp1251_comma(tmp: Path) -> Case:
    """cp1251, «,» separator, header variants, a decimal «1,5» score (quoted) in row 6."""
    header = ["Код участника", "Вариант", "1 (1б)", "2 (1б)", "3 (2б)", "4 (2б)", "Класс", "Пол",
              "Отметка за предыдущий триместр", "Итого баллов", "Отметка"]
    data = _set(form_rows(), 6, "3 (2б)", "1,5")
    path = write_grid(tmp / "cp1251.csv", form_grid(data, header), encoding="cp1251", sep=",")
    return Case(path, [("not_an_integer", 6, "3 (2б)", "1,5")], 5, None)


def ids_as_numbers(tmp: Path) -> Case:
    data = _set(form_rows(), 5, "Код", 1234)
    data = _set(data, 6, "Код", 101.0)
    path = write_grid(tmp / "ids_numbers.xlsx", form_grid(data))
    return Case(path, [("id_as_number", 5, "Код", "1234"), ("id_as_number", 6, "Код", "101")], 5, "Результаты")


def merged_header(tmp: Path) -> Case:
    """Two-row header: names merged vertically over rows 4–5, «Баллы за задания» merged over the tasks;
    data from row 6; a score above the maximum in row 8."""
    up = ["Код", "Вариант", "Баллы за задания", None, None, None, "Класс", "Пол",
          "Отметка за предыдущую четверть", "Первичный балл", "Отметка"]
    low = [None, None, "1 (1б)", "2 (1б)", "3 (2б)", "4 (2б)", None, None, None, None, None]
    data = form_rows()
    data[2] = ["00103", 1, 1, 1, 5, 1, "4А", "М", 3, 8, 3]   # row 8: task «3 (2б)» = 5
    top = [["Форма сбора результатов ВПР"], ["Год: 2022", "Предмет: Математика", "Класс: 4", "Логин ОО: edu000001"], []]
    merges = [(3, c, 4, c) for c in (0, 1, 6, 7, 8, 9, 10)] + [(3, 2, 3, 5)]
    path = write_grid(tmp / "merged.xlsx", top + [up, low] + data, merges=merges)
    return Case(path, [("score_above_max", 8, "3 (2б)", "5")], 5, "Результаты")


def extra_sheet(tmp: Path) -> Case:
    instructions = [["Инструкция по заполнению формы"], ["1. Внесите баллы за каждое задание."],
                    ["2. Для невыполненного задания поставьте X."]]
    path = write_grid(tmp / "extra.xlsx", form_grid(), extra_sheets={"Инструкция": instructions}, first=True)
    return Case(path, [("extra_sheet", None, None, "Инструкция")], 5, "Инструкция")


def formula_total(tmp: Path) -> Case:
    """«Первичный балл» as =SUM() with cached values; the cached value of row 6 (7) disagrees with the tasks (6)."""
    data = form_rows()
    for i, r in enumerate(data):
        row = DATA_START + i
        if r[9] is not None:
            cached = 7 if row == 6 else r[9]
            r[9] = Formula(f"=SUM(C{row}:F{row})", cached)
    path = write_grid(tmp / "formula.xlsx", form_grid(data))
    return Case(path, [("primary_mismatch", 6, "Первичный балл", "7")], 5, "Результаты")


def absent_with_scores(tmp: Path) -> Case:
    data = _set(form_rows(), 7, "2 (1б)", 1)
    path = write_grid(tmp / "absent_scores.csv", form_grid(data))
    return Case(path, [("absent_with_scores", 7, "2 (1б)", "1")], 5, None)


def mark_mismatch(tmp: Path) -> Case:
    data = _set(form_rows(), 6, "Отметка", 4)   # 6 points is «3» on the 2022 math 4 scale
    path = write_grid(tmp / "mark_mismatch.csv", form_grid(data))
    return Case(path, [("mark_mismatch", 6, "Отметка", "4")], 5, None)


def no_metadata(tmp: Path) -> Case:
    """No title block and a file name without year/subject/grade/school."""
    path = write_grid(tmp / "results.csv", form_grid(title=False))
    return Case(path, [("missing_metadata", None, v, v) for v in ("Год", "Предмет", "Класс (параллель)", "Логин ОО")],
                5, None)


MALFORMED = [missing_participant, unknown_header, text_score, score_above_max, mark_outside, duplicate_code,
             empty_rows, cp1251_comma, ids_as_numbers, merged_header, extra_sheet, formula_total,
             absent_with_scores, mark_mismatch, no_metadata]


def region_login_number(tmp: Path) -> Case:
    """Region protocol (xlsx) whose «Логин ОО» of row 6 is an Excel number; «Код АТЕ» kept as text."""
    header = ["Код АТЕ", "Логин ОО"] + HEADER
    logins = ["0301007", 301008, "edu000001", "edu000001", "edu000001"]
    data = [["0301", login] + r for login, r in zip(logins, form_rows())]
    top = [["Протокол проверки результатов ВПР"], ["Год: 2022", "Предмет: Математика", "Класс: 4"], []]
    path = write_grid(tmp / "region.xlsx", top + [header] + data, sheet="Протокол")
    return Case(path, [("id_as_number", 6, "Логин ОО", "301008")], 5, "Протокол")


def f1_max_mismatch(tmp: Path) -> Case:
    """F1 export whose «Максимальный первичный балл» (7, row 4) disagrees with the task maxima (6)."""
    top = [["Ф1. Индивидуальные результаты участников"], ["Всероссийские проверочные работы 2022"],
           ["Предмет: Математика", "Класс: 4"], ["Максимальный первичный балл: 7"], ["Дата: 19.04.2022"],
           ["(edu000001) МБОУ «СОШ № 1» Кол-во участников: 4"],
           ["Уровень", None, "Б", "Б", "П", "В"]]
    path = write_grid(tmp / "f1.csv", top + [HEADER] + form_rows())
    return Case(path, [("task_list_mismatch", 4, None, "7")], 5, None)


def bad_cells(tmp: Path) -> Case:
    """Unknown sex, text variant, negative total, a mark «1» and not-done spellings X/Х/x/-/– (fine)."""
    data = form_rows()
    data[0][2:6] = ["X", "Х", "x", "-"]
    data[0][9], data[0][10] = 0, 2
    data[1][7] = "Мужской"
    data[3][1] = "третий"
    data[4][7] = "?"
    data[4][9], data[4][10] = -1, 1
    path = write_grid(tmp / "cells.csv", form_grid(data))
    return Case(path, [("not_an_integer", 8, "Вариант", "третий"), ("not_allowed", 9, "Пол", "?"),
                       ("out_of_range", 9, "Первичный балл", "-1"), ("mark_outside_scale", 9, "Отметка", "1")], 5, None)


def duplicate_task_header(tmp: Path) -> Case:
    """«2 (1б)» twice (fatal); «Вариант» twice is allowed and coalesced, but two numbers disagree in row 6."""
    header = HEADER[:2] + ["Вариант"] + HEADER[2:4] + ["2 (1б)"] + HEADER[4:]
    data = [r[:2] + [None] + r[2:4] + [0] + r[4:] for r in form_rows()]
    data[1][2] = 1          # row 6: «2» in the first «Вариант», «1» in the second
    path = write_grid(tmp / "dup_header.csv", form_grid(data, header))
    return Case(path, [("duplicate_column", 4, "2 (1б)", "2 (1б)"), ("row_rule", 6, "Вариант", "1")], 5, None)


MALFORMED += [region_login_number, f1_max_mismatch, bad_cells, duplicate_task_header]


def fast_works(tasks: pd.DataFrame, scales: ScaleBook, n_schools: int, per_school: int, seed: int = 1) -> pd.DataFrame:
    """Many pupils quickly (vectorised), typed like make_works(); for size and speed tests."""
    rng = np.random.default_rng(seed)
    n = n_schools * per_school
    year, subject, grade = int(tasks["year"].iat[0]), str(tasks["subject"].iat[0]), int(tasks["grade"].iat[0])
    absent = rng.random(n) < 0.05
    school = np.repeat([f"edu{i:06d}" for i in range(n_schools)], per_school)
    out = pd.DataFrame({
        "year": pd.array([year] * n, dtype="Int64"),
        "municipality": pd.array(np.where(np.arange(n) % 2, "0301", "0302"), dtype="str"),
        "school_id": pd.array(school, dtype="str"),
        "subject": pd.array([subject] * n, dtype="str"),
        "grade": pd.array([grade] * n, dtype="Int64"),
        "class_label": pd.array(np.where(np.arange(n) % 2, f"{grade}А", f"{grade}Б"), dtype="str"),
        "participant": pd.array([f"{i % per_school:05d}" for i in range(n)], dtype="str"),
        "variant": pd.array(np.where(absent, np.nan, 1 + np.arange(n) % 2), dtype="Int64"),
        "absent": pd.array(absent, dtype="boolean"),
        "sex": pd.array(np.where(np.arange(n) % 2, "М", "Ж"), dtype="str"),
        "journal_mark": pd.array(rng.integers(2, 6, n), dtype="Int64"),
    })
    maxima = tasks["max_score"].to_numpy(dtype=int)
    scores = np.floor(rng.random((n, len(maxima))) * (maxima + 1))
    scores[rng.random(scores.shape) < 0.08] = np.nan
    scores[absent] = np.nan
    primary = pd.array(np.where(absent, np.nan, np.nansum(scores, axis=1)), dtype="Int64")
    out["primary_score"] = primary
    out["mark"] = scales.marks(year, subject, grade, out["primary_score"]).astype("Int64")
    out["primary_score_reported"] = out["primary_score"].copy()
    out["mark_reported"] = out["mark"].copy()
    for j in range(len(maxima)):
        out[f"task_{j + 1:02d}"] = pd.array(scores[:, j], dtype="Int64")
    return out


# --------------------------------------------------------------------------------------------------
# The same sheets in other formats (.xls, .ods), encrypted and broken workbooks — built at run time
# --------------------------------------------------------------------------------------------------

Grid = dict[str, list[list[Any]]]                       # sheet name -> rows of cells (None = empty)
Merges = dict[str, list[tuple[int, int, int, int]]]     # sheet name -> (row1, col1, row2, col2), 0-based inclusive


def xlsx_grid(path: Path) -> tuple[Grid, Merges]:
    """Cells (values as stored) and merged ranges of every sheet of an .xlsx, read with openpyxl."""
    import openpyxl

    wb = openpyxl.load_workbook(path, data_only=True)
    sheets = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    merges = {ws.title: [(m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1) for m in ws.merged_cells.ranges]
              for ws in wb.worksheets}
    return sheets, merges


def write_xls(path: Path, sheets: Grid, merges: Merges | None = None) -> Path:
    """Old-format Excel (BIFF8) through xlwt: text as text, numbers as numbers, dates as dates, merges kept."""
    import datetime as dt

    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="DD.MM.YYYY")
    for name, rows in sheets.items():
        ws = wb.add_sheet(name)
        spans = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in (merges or {}).get(name, [])}
        covered = {(r, c) for (r1, c1), (r2, c2) in spans.items() for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if (r, c) in spans:
                    ws.write_merge(r, spans[r, c][0], c, spans[r, c][1], v)
                elif (r, c) in covered or v is None:
                    continue
                elif isinstance(v, (dt.date, dt.datetime)):
                    ws.write(r, c, v, date_style)
                else:
                    ws.write(r, c, v)
    wb.save(str(path))
    return path


def write_ods_pandas(path: Path, sheets: Grid) -> Path:
    """OpenDocument through pandas (engine odf): every sheet without a header or index; merges are lost."""
    with pd.ExcelWriter(path, engine="odf") as writer:
        for name, rows in sheets.items():
            width = max((len(r) for r in rows), default=0)
            pd.DataFrame([list(r) + [None] * (width - len(r)) for r in rows]).to_excel(
                writer, sheet_name=name, header=False, index=False)
    return path


def write_ods_merged(path: Path, sheets: Grid, merges: Merges) -> Path:
    """OpenDocument through odfpy with merged cells (number-columns-spanned / covered cells, as LibreOffice)."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        spans = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in merges.get(name, [])}
        covered = {(r, c) for (r1, c1), (r2, c2) in spans.items() for r in range(r1, r2 + 1)
                   for c in range(c1, c2 + 1)} - set(spans)
        for r, row in enumerate(rows):
            tr = TableRow()
            for c, v in enumerate(row):
                if (r, c) in covered:
                    tr.addElement(CoveredTableCell())
                    continue
                kw = {}
                if (r, c) in spans:
                    kw = {"numberrowsspanned": spans[r, c][0] - r + 1, "numbercolumnsspanned": spans[r, c][1] - c + 1}
                if v is None:
                    cell = TableCell(**kw)
                elif isinstance(v, str):
                    cell = TableCell(valuetype="string", **kw)
                    cell.addElement(P(text=v))
                else:
                    cell = TableCell(valuetype="float", value=v, **kw)
                    cell.addElement(P(text=str(v)))
                tr.addElement(cell)
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


def encrypt_xlsx(src: Path, dst: Path, password: str = "секрет") -> Path:
    """A password-protected copy of an .xlsx (Agile encryption, as Excel «Зашифровать с использованием пароля»)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    with src.open("rb") as f, dst.open("wb") as out:
        OOXMLFile(f).encrypt(password, out)
    return dst
