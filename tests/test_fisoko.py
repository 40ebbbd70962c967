"""FIS OKO ВПР reader and writer: round trips, recomputation by hand, and a corpus of malformed files."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import vpr_corpus as vc
from workbench.data.fisoko import (SOURCE_COLUMNS, VprStyle, meta_from_filename, normalise_header, parse_task_header,
                              read_vpr, sniff_vpr, subject_code, write_vpr)
from workbench.data.problems import PROBLEM_COLUMNS
from workbench.scales import ScaleBook, load_scales
from workbench.data.schemas import Vpr, VprTasks


@pytest.fixture(scope="module")
def book() -> ScaleBook:
    return ScaleBook(load_scales())


@pytest.fixture(scope="module")
def tasks() -> pd.DataFrame:
    return vc.make_tasks()


STYLES = {
    "default": VprStyle(),
    "variants": VprStyle(journal_header="Отметка за предыдущий триместр", not_done="Х", absent_word="не присутствовал",
                         two_variant_columns=True, formula_totals=True, encoding="utf-8-sig", sep=",",
                         total_header="Итого баллов"),
    "cp1251": VprStyle(journal_header="Отметка за предыдущее полугодие", not_done="-", encoding="cp1251",
                       formula_totals=True, work_date="19.04.2022"),
}


def _problem_tuples(problems: pd.DataFrame) -> list[tuple]:
    return [(p.rule, None if pd.isna(p.row) else int(p.row), p.column, p.value) for p in problems.itertuples()]


# --------------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
@pytest.mark.parametrize("fmt", ["school_form", "f1", "region_protocol"])
def test_round_trip(tmp_path, book, tasks, fmt, suffix, style):
    schools = ("edu000001", "edu000002", "0301007") if fmt == "region_protocol" else ("edu000001",)
    works = vc.make_works(tasks, book, n=12, schools=schools, municipalities=("0301", "0302"))
    path = tmp_path / f"{fmt}{suffix}"
    write_vpr(works, tasks, path, fmt, style=STYLES[style])

    read = read_vpr(path, book)

    assert read.format == fmt
    assert read.problems.empty, read.problems.to_string()
    assert read.rows_read == len(read.works) == len(works)
    pd.testing.assert_frame_equal(read.works.drop(columns=SOURCE_COLUMNS), works)
    expected_tasks = tasks if fmt == "f1" else tasks.assign(level=pd.array([None] * len(tasks), dtype="str"))
    pd.testing.assert_frame_equal(read.tasks, expected_tasks)
    # what the round trip must preserve, spelled out
    assert read.works["participant"].iloc[0] == "00001"
    absent = read.works["absent"].to_numpy(dtype=bool)
    assert absent.sum() == works["absent"].sum() > 0
    task_cols = [c for c in read.works if c.startswith("task_")]
    assert read.works.loc[absent, task_cols + ["primary_score", "mark", "variant"]].isna().all().all()
    assert (read.works["source_file"] == path.name).all()
    assert read.works["source_sheet"].isna().all() if suffix == ".csv" else (read.works["source_sheet"].notna()).all()
    assert read.works["source_row"].is_monotonic_increasing
    if fmt == "region_protocol":
        assert set(read.works["school_id"]) == set(schools)


def test_round_trip_validates_against_schemas(tmp_path, book, tasks):
    works = vc.make_works(tasks, book, n=10)
    path = tmp_path / "form.xlsx"
    write_vpr(works, tasks, path, "f1")
    read = read_vpr(path, book)
    Vpr.validate(read.works, lazy=True)
    VprTasks.validate(read.tasks, lazy=True)


def test_reported_values_are_written_and_disagreements_reported(tmp_path, book, tasks):
    works = vc.make_works(tasks, book, n=6)
    first = int(np.flatnonzero(~works["absent"].to_numpy(dtype=bool))[0])
    works.loc[first, "primary_score_reported"] = works.loc[first, "primary_score"] + 1
    path = tmp_path / "form.csv"
    write_vpr(works, tasks, path, "school_form")
    read = read_vpr(path, book)
    pd.testing.assert_frame_equal(read.works.drop(columns=SOURCE_COLUMNS), works)
    header_row = 4   # title (1–3), header 4, data from 5
    assert _problem_tuples(read.problems) == [("primary_mismatch", header_row + 1 + first, "Первичный балл",
                                               str(works.loc[first, "primary_score"] + 1))]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_round_trip_property_csv(tmp_path, book, data):
    """Any codes (leading zeros), scores within maxima, not-done and absent pupils survive a CSV round trip."""
    spec = [("1", 2, "Б"), ("2.1", 1, "П"), ("К1", 3, "В")]
    tasks = vc.make_tasks(2022, "math", 5, spec)
    n = data.draw(st.integers(1, 8))
    codes = data.draw(st.lists(st.from_regex(r"\A0{0,3}[0-9]{1,5}\Z"), min_size=n, max_size=n, unique=True))
    absent = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    scores = [[None if a else data.draw(st.one_of(st.none(), st.integers(0, m))) for _, m, _ in spec] for a in absent]
    style = VprStyle(not_done=data.draw(st.sampled_from(["X", "Х", "-"])), sep=data.draw(st.sampled_from([";", ","])),
                     encoding=data.draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251"])),
                     two_variant_columns=data.draw(st.booleans()))
    primary = pd.array([None if a else sum(v or 0 for v in s) for a, s in zip(absent, scores)], dtype="Int64")
    works = pd.DataFrame({
        "year": pd.array([2022] * n, dtype="Int64"), "municipality": pd.array(["0301"] * n, dtype="str"),
        "school_id": pd.array(["edu000009"] * n, dtype="str"), "subject": pd.array(["math"] * n, dtype="str"),
        "grade": pd.array([5] * n, dtype="Int64"), "class_label": pd.array(["5А"] * n, dtype="str"),
        "participant": pd.array(codes, dtype="str"),
        "variant": pd.array([None if a else 1 for a in absent], dtype="Int64"),
        "absent": pd.array(absent, dtype="boolean"), "sex": pd.array([None] * n, dtype="str"),
        "journal_mark": pd.array([None] * n, dtype="Int64"), "primary_score": primary,
    })
    works["mark"] = book.marks(2022, "math", 5, works["primary_score"]).astype("Int64")
    works["primary_score_reported"] = works["primary_score"].copy()
    works["mark_reported"] = works["mark"].copy()
    for j in range(len(spec)):
        works[f"task_{j + 1:02d}"] = pd.array([s[j] for s in scores], dtype="Int64")
    path = tmp_path / "prop.csv"
    write_vpr(works, tasks, path, "school_form", style=style)
    read = read_vpr(path, book)
    assert read.problems.empty, read.problems.to_string()
    pd.testing.assert_frame_equal(read.works.drop(columns=SOURCE_COLUMNS), works)


def test_large_region_protocol_is_fast(tmp_path, book, tasks):
    works = vc.fast_works(tasks, book, n_schools=100, per_school=200)   # 20 000 rows
    path = tmp_path / "region.csv"
    start = time.perf_counter()
    write_vpr(works, tasks, path, "region_protocol", style=VprStyle(sep=","))
    read = read_vpr(path, book)
    elapsed = time.perf_counter() - start
    assert read.rows_read == 20_000 and read.problems.empty
    pd.testing.assert_frame_equal(read.works.drop(columns=SOURCE_COLUMNS), works)
    assert elapsed < 10, f"write + read of 20 000 rows took {elapsed:.1f} s"


def test_writer_rejects_two_schools_in_a_school_form(tmp_path, book, tasks):
    works = vc.make_works(tasks, book, n=3, schools=("edu000001", "edu000002"))
    with pytest.raises(ValueError, match="school_id"):
        write_vpr(works, tasks, tmp_path / "x.csv", "school_form")
    with pytest.raises(ValueError, match="suffix"):
        write_vpr(works, tasks, tmp_path / "x.xls", "region_protocol")


# --------------------------------------------------------------------------------------------------
# Recomputation by hand: 2022 mathematics, grade 4 (max 20): 0–5 → 2, 6–9 → 3, 10–14 → 4, 15–20 → 5
# --------------------------------------------------------------------------------------------------

def test_known_answer_math4_2022(tmp_path, book):
    header = ["Код"] + [f"{t} ({m}б)" for t, m, _ in vc.MATH4_TASKS] + ["Первичный балл", "Отметка"]
    #       maxima: 1  1  2  2  2  2  2  2  1  1  2  2
    pupils = [
        ["00001", 1, 1, 2, 2, 2, 2, 2, 2, 1, 1, 2, 2, 20, 5],       # 20 → 5
        ["00002", 1, 1, 2, 2, 2, 2, 2, 2, 1, "X", "X", "X", 15, 5],  # 15 → 5 (lowest «5»)
        ["00003", 1, 1, 2, 2, 2, 2, 2, 2, "Х", 0, 0, 0, 14, 4],      # 14 → 4
        ["00004", 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 10, 4],        # 10 → 4 (lowest «4»)
        ["00005", 1, 0, 2, 2, 2, 2, 0, 0, 0, "-", 0, 0, 9, 3],       # 9 → 3
        ["00006", 0, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 6, 3],         # 6 → 3 (lowest «3»)
        ["00007", 1, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 5, 2],         # 5 → 2
        ["00008", "X", "X", "X", "X", "X", "X", "X", "X", "X", "X", "X", "X", 0, 2],   # nothing done → 0 → 2
        ["00009", 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 11, 3],        # 12 → 4; the file says 11 and «3»
    ]
    path = vc.write_grid(tmp_path / "VPR_2022_math_4_edu000001.csv", [header] + pupils)
    read = read_vpr(path, book)
    assert read.works["primary_score"].tolist() == [20, 15, 14, 10, 9, 6, 5, 0, 12]
    assert read.works["mark"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 4]
    assert read.works["primary_score_reported"].tolist() == [20, 15, 14, 10, 9, 6, 5, 0, 11]
    assert read.works["mark_reported"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 3]
    assert read.works["task_12"].isna().tolist() == [False, True, False, False, False, False, False, True, False]
    assert _problem_tuples(read.problems) == [("no_journal_mark", None, "Отметка по журналу", "Отметка по журналу"),
                                              ("primary_mismatch", 10, "Первичный балл", "11"),
                                              ("mark_mismatch", 10, "Отметка", "3")]
    assert read.problems["message"].tolist() == [
        "В файле нет столбца отметки по журналу: объективность по этому файлу не будет рассчитана",
        "Первичный балл в файле «11» не равен сумме баллов за задания (сумма по заданиям 12)",
        "Отметка в файле «3» не соответствует шкале перевода (по шкале 4)"]
    assert (read.works["year"].tolist(), read.works["subject"].iat[0], read.works["grade"].iat[0]) == ([2022] * 9, "math", 4)


# --------------------------------------------------------------------------------------------------
# Malformed files: exact problems and row conservation
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("build", vc.MALFORMED, ids=lambda f: f.__name__)
def test_malformed_file(tmp_path, book, build):
    case = build(tmp_path)
    read = read_vpr(case.path, book)
    key = lambda t: (-1 if t[1] is None else t[1], t)   # noqa: E731
    assert sorted(_problem_tuples(read.problems), key=key) == sorted(case.expected, key=key)
    assert read.problems["row"].fillna(-1).is_monotonic_increasing
    assert (read.problems["file"] == case.path.name).all()
    assert read.problems["sheet"].tolist() == [case.sheet] * len(case.expected)
    assert list(read.problems.columns) == PROBLEM_COLUMNS
    assert read.rows_read == len(read.works) == case.n_rows


def test_missing_column_is_fatal_but_rows_are_kept(tmp_path, book):
    read = read_vpr(vc.missing_participant(tmp_path).path, book)
    assert read.problems["severity"].tolist() == ["fatal"]
    assert read.works["participant"].isna().all()
    assert read.works["source_row"].tolist() == [5, 6, 7, 8, 9]
    assert read.works["primary_score"].tolist()[:2] == [4, 6]


def test_empty_rows_are_not_data_rows(tmp_path, book):
    read = read_vpr(vc.empty_rows(tmp_path).path, book)
    assert read.works["source_row"].tolist() == [5, 6, 9, 10, 11]
    assert read.problems["severity"].tolist() == ["info", "info"]


def test_absent_pupil_is_absent_not_zero(tmp_path, book):
    read = read_vpr(vc.absent_with_scores(tmp_path).path, book)
    row = read.works.set_index("source_row").loc[7]
    assert bool(row["absent"]) is True
    assert pd.isna(row["variant"]) and pd.isna(row["primary_score"]) and pd.isna(row["mark"])
    assert pd.isna(row["task_02"])            # the stray «1» is not kept as a score
    assert row["journal_mark"] == 3            # the journal mark is a fact about the pupil: kept


def test_not_done_spellings_count_zero(tmp_path, book):
    read = read_vpr(vc.bad_cells(tmp_path).path, book)
    first = read.works.iloc[0]
    assert [first[f"task_0{i}"] for i in range(1, 5)] == [pd.NA] * 4
    assert first["primary_score"] == 0 and first["mark"] == 2
    assert read.works["sex"].tolist()[:2] == ["М", "М"]         # «Мужской» → М
    assert pd.isna(read.works["sex"].iat[4])                     # «?» reported, not kept


def test_ids_keep_leading_zeros_and_numbers_are_flagged(tmp_path, book):
    csv_read = read_vpr(vc.duplicate_code(tmp_path).path, book)
    assert csv_read.works["participant"].tolist() == ["00101", "00102", "00103", "00104", "00104"]
    xlsx_read = read_vpr(vc.ids_as_numbers(tmp_path).path, book)
    assert xlsx_read.works["participant"].tolist() == ["1234", "101", "00103", "00104", "00105"]
    assert xlsx_read.problems["message"].iat[0] == "Код «1234» записан в Excel как число: ведущие нули могли потеряться"
    region = read_vpr(vc.region_login_number(tmp_path).path, book)
    assert region.format == "region_protocol"
    assert region.works["school_id"].tolist() == ["0301007", "301008", "edu000001", "edu000001", "edu000001"]
    assert region.works["municipality"].tolist() == ["0301"] * 5


def test_duplicate_key_names_the_first_row(tmp_path, book):
    read = read_vpr(vc.duplicate_code(tmp_path).path, book)
    assert read.problems["message"].iat[0] == \
        "Повтор ключа (ОО edu000001, класс 4Б, код участника 00104): строка дублирует строку 8"


def test_same_code_in_another_class_is_not_a_duplicate(tmp_path, book):
    data = vc.form_rows()
    data[4][0], data[4][6] = "00101", "4Б"   # 00101 is in 4А in row 5
    read = read_vpr(vc.write_grid(tmp_path / "f.csv", vc.form_grid(data)), book)
    assert read.problems.empty


def test_merged_two_row_header(tmp_path, book):
    read = read_vpr(vc.merged_header(tmp_path).path, book)
    assert read.tasks["task"].tolist() == ["1", "2", "3", "4"]
    assert read.tasks["max_score"].tolist() == [1, 1, 2, 2]
    assert read.works["source_row"].tolist() == [6, 7, 8, 9, 10]
    assert read.works["participant"].iat[0] == "00101" and read.works["class_label"].iat[0] == "4А"


def test_extra_sheet_is_skipped_and_data_sheet_read(tmp_path, book):
    read = read_vpr(vc.extra_sheet(tmp_path).path, book)
    assert read.problems["message"].tolist() == ["Лист «Инструкция» не содержит данных ВПР и пропущен"]
    assert (read.works["source_sheet"] == "Результаты").all()


def test_formula_total_uses_cached_value(tmp_path, book):
    read = read_vpr(vc.formula_total(tmp_path).path, book)
    assert read.works["primary_score_reported"].tolist() == [4, 7, pd.NA, 2, 1]
    assert read.works["primary_score"].tolist() == [4, 6, pd.NA, 2, 1]


def test_cp1251_comma_csv_with_header_variants(tmp_path, book):
    read = read_vpr(vc.cp1251_comma(tmp_path).path, book)
    assert read.works["subject"].iat[0] == "math"
    assert read.works["journal_mark"].tolist() == [4, 5, 3, 3, 2]
    assert read.works["primary_score_reported"].tolist() == [4, 6, pd.NA, 2, 1]


def test_f1_levels_and_school_line(tmp_path, book):
    case = vc.f1_max_mismatch(tmp_path)
    read = read_vpr(case.path, book)
    assert read.format == "f1"
    assert read.tasks["level"].tolist() == ["Б", "Б", "П", "В"]
    assert read.works["school_id"].iat[0] == "edu000001"
    assert read.works["year"].iat[0] == 2022


# --------------------------------------------------------------------------------------------------
# Where year / subject / grade / school come from
# --------------------------------------------------------------------------------------------------

def test_metadata_from_file_name(tmp_path, book):
    path = vc.write_grid(tmp_path / "VPR_2022_math_4_edu000001.csv", vc.form_grid(title=False))
    read = read_vpr(path, book)
    assert read.problems.empty
    assert read.works[["year", "subject", "grade", "school_id"]].iloc[0].tolist() == [2022, "math", 4, "edu000001"]
    assert read.works["municipality"].isna().all()     # the caller fills it from the registry


def test_metadata_from_kwargs_override_title(tmp_path, book):
    path = vc.write_grid(tmp_path / "form.csv", vc.form_grid())
    read = read_vpr(path, book, year=2023, subject="Математика", grade=4, school_id="edu000777")
    assert read.works[["year", "subject", "school_id"]].iloc[0].tolist() == [2023, "math", "edu000777"]
    assert _problem_tuples(read.problems) == [("no_scale", None, None, "")]
    assert read.problems["message"].iat[0] == "Нет шкалы перевода для 2023 год, Математика, 4 класс: отметка не пересчитана"
    assert read.works["mark"].isna().all() and read.works["primary_score"].notna().sum() == 4


def test_unknown_subject_is_fatal(tmp_path, book):
    path = vc.write_grid(tmp_path / "form.csv", vc.form_grid())
    read = read_vpr(path, book, subject="Астрономия")
    assert _problem_tuples(read.problems) == [("missing_metadata", None, "Предмет", "Предмет")]
    assert "«Астрономия» не распознано" in read.problems["message"].iat[0]
    assert read.rows_read == 5


@pytest.mark.parametrize("header", ["Отметка за предыдущую четверть", "Отметка за предыдущий триместр",
                                    "Отметка за предыдущее полугодие", "Отметка за предыдущий год",
                                    "Отметка по журналу", "ОТМЕТКА  ЗА ПРЕДЫДУЩУЮ ЧЕТВЕРТЬ",
                                    "Отметка за предыдущий учебный год", "Отметка по журналу за 3 четверть"])
def test_journal_header_variants(tmp_path, book, header):
    head = list(vc.HEADER)
    head[8] = header
    read = read_vpr(vc.write_grid(tmp_path / "f.csv", vc.form_grid(header=head)), book)
    assert read.problems.empty
    assert read.works["journal_mark"].tolist() == [4, 5, 3, 3, 2]


def test_header_spelling():
    assert normalise_header("  11.3 K1\xa0(2Б) ") == "11.3 к1 (2б)"
    assert parse_task_header("11.3 k1 (2б)") == ("11.3 К1", 2)
    assert parse_task_header("K1(3б)") == ("К1", 3)
    assert parse_task_header("9.1 (1 балл)") == ("9.1", 1)
    assert parse_task_header("Первичный балл") is None
    assert subject_code("Русский язык") == "rus" and subject_code("математика") == "math"
    assert meta_from_filename("ВПР_Математика_5кл_2024.csv") == {"subject": "math", "grade": 5, "year": 2024}


# --------------------------------------------------------------------------------------------------
# Sniffing and unreadable files
# --------------------------------------------------------------------------------------------------

def test_sniff(tmp_path, book, tasks):
    works = vc.make_works(tasks, book, n=4)
    for fmt in ("school_form", "f1", "region_protocol"):
        for suffix in (".xlsx", ".csv"):
            path = tmp_path / f"{fmt}{suffix}"
            write_vpr(works, tasks, path, fmt, style=VprStyle(encoding="cp1251"))
            assert sniff_vpr(path), path.name
    # the sniffer reads 64 KiB: a Cyrillic letter cut in half there must not turn UTF-8 into cp1251
    head = ";".join(vc.HEADER) + "\n"
    filler = "x" * (65535 - len(head.encode()) - 1) + "\n"
    cut = tmp_path / "cut.csv"
    cut.write_text(head + filler + "Ж;1\n", encoding="utf-8")
    assert len((head + filler).encode()) == 65535 and sniff_vpr(cut)
    registry = tmp_path / "schools.csv"
    registry.write_text("school_id;name;municipality\nedu000001;СОШ № 1;0301\n", encoding="utf-8")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    assert not sniff_vpr(registry)
    assert not sniff_vpr(broken)
    assert not sniff_vpr(tmp_path / "missing.csv")


def test_unreadable_and_headerless_files(tmp_path, book):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    read = read_vpr(broken, book)
    assert _problem_tuples(read.problems) == [("corrupt_file", None, None, "broken.xlsx")]
    assert read.problems["severity"].tolist() == ["fatal"]
    assert read.rows_read == 0 and read.works.empty and "participant" in read.works
    registry = tmp_path / "schools.csv"
    registry.write_text("school_id;name\nedu000001;СОШ № 1\n", encoding="utf-8")
    read = read_vpr(registry, book)
    assert read.problems["rule"].tolist() == ["no_header"] and read.rows_read == 0


# ---------------------------------------------------------------- the fast CSV grid equals the general one

_CELL = st.sampled_from(["", "1", " 2 ", "X", "-", "edu004001", "7А", "\xa0Ж\xa0", "Отметка", "01234", "1,5", "н/а"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(_CELL, min_size=0, max_size=6), min_size=1, max_size=12),
       sep=st.sampled_from([";", ",", "\t"]), crlf=st.booleans())
def test_arrow_csv_grid_equals_the_pandas_grid(rows, sep, crlf):
    # Arrow reads unquoted exports (most of an import's rows); lines with fewer fields (title block, blank
    # lines, short rows) go back to their place: every cell must be where pandas' parser puts it
    from workbench.data.fisoko import _csv_codes_arrow, _csv_codes_pandas, _max_fields

    text = ("\r\n" if crlf else "\n").join(sep.join(r) for r in rows) + "\n"
    width = max(line.count(sep) for line in text.splitlines()) + 1
    assert _max_fields(text.encode(), sep) == width
    fast = _csv_codes_arrow(text.encode(), sep, width)
    codes, values = _csv_codes_pandas(text, sep, width)
    assert fast is not None
    assert fast[1][fast[0]].tolist() == values[codes].tolist()
