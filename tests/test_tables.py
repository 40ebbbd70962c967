"""Non-ВПР tables through the template headers and municipality mappings, on real and hand-built files."""
from pathlib import Path

import pandas as pd
import pytest

from workbench.config import TableMapping, load_yaml_model
from workbench.data.importing import import_paths
from workbench.paths import PARAMS_DIR
from workbench.data.store import Store
from workbench.data.tables import read_table

MOSCOW = Path(__file__).resolve().parent / "data" / "moscow_ege_by_school_2015-16.csv"
MAPPING = PARAMS_DIR / "mappings" / "moscow_open_data_ege.yaml"


@pytest.fixture(scope="module")
def moscow_store(tmp_path_factory):
    if not MOSCOW.exists():
        pytest.fail(f"real data file missing: {MOSCOW}")
    store = tmp_path_factory.mktemp("moscow")
    mapping = load_yaml_model(TableMapping, MAPPING)
    res = import_paths([MOSCOW], store, table="exams", mapping=mapping)
    return res, Store(store)


def test_moscow_ege_imports_every_row(moscow_store):
    res, store = moscow_store
    (f,) = res.files
    assert (f.rows_read, f.accepted, f.quarantined, res.exit_code) == (626, 626, 0, 0)
    agg = store.query("SELECT count(*) n, sum(participants) p, min(year) y0, max(year) y1, "
                      "count(DISTINCT municipality) m FROM exams").iloc[0]
    assert (int(agg.n), int(agg.y0), int(agg.y1), int(agg.m)) == (626, 2016, 2016, 10)


def test_moscow_known_school_values(moscow_store):
    """First data row of the file: school 179 (ID 5093), 109 graduates, 80 over 220, 101 with 160+."""
    _, store = moscow_store
    row = store.query("SELECT * FROM exams WHERE school_id = '5093'").iloc[0]
    assert (row.municipality, int(row.participants), int(row.n_high), int(row.n_good)) == ("САО", 109, 80, 101)
    assert (row.exam, row.subject, row.good_threshold, row.high_threshold) == ("ЕГЭ", "sum3", 160, 220)
    assert isinstance(row.school_id, str)


def test_misleading_column_name_is_caught_when_mapped_literally(tmp_path):
    """Mapping PASSER_UNDER_160 as 'under 160' (n_below) would break n_high <= n_good: every such row is flagged."""
    mapping = load_yaml_model(TableMapping, MAPPING)
    swapped = mapping.model_copy(update={"columns": {**mapping.columns, "PASSES_OVER_220": "n_good", "PASSER_UNDER_160": "n_high"}})
    res = import_paths([MOSCOW], tmp_path, table="exams", mapping=swapped)
    (f,) = res.files
    raw = pd.read_csv(MOSCOW, sep=";", dtype=str)
    expected_bad = int((raw.PASSER_UNDER_160.astype(int) > raw.PASSES_OVER_220.astype(int)).sum())
    assert f.quarantined == expected_bad > 500 and f.accepted + f.quarantined == 626
    assert set(res.problems.rule) == {"row_rule"}


def test_template_headers_cp1251_and_percent_mapping(tmp_path):
    p = tmp_path / "context.csv"
    p.write_bytes("Год,Код муниципалитета,Код ОО,Неполные семьи,ОВЗ\n2024,004,edu004001,\"12,5\",3\n".encode("cp1251"))
    mapping = TableMapping(parse={"share_single_parent": "percent", "share_ovz": "percent"})
    r = read_table(p, "context", mapping)
    assert r.problems.empty
    row = r.frame.iloc[0]
    assert (row.municipality, row.school_id, row.share_single_parent, row.share_ovz) == ("004", "edu004001", 0.125, 0.03)
    assert pd.isna(row.share_low_income)


def test_excel_ids_as_numbers_and_extra_sheet(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Кадры"
    ws.append(["Год", "Код муниципалитета", "Код ОО", "Учителей", "Есть психолог"])
    ws.append([2024, "004", "edu004001", 35, "да"])
    ws.append([2024, 4, "edu004002", 20, "нет"])  # municipality stored as a number: leading zeros lost
    wb.create_sheet("Инструкция").append(["Заполните таблицу"])
    p = tmp_path / "staff.xlsx"
    wb.save(p)
    r = read_table(p, "staff")
    probs = r.problems.set_index("rule")
    assert probs.loc["id_as_number", ["row", "column", "value"]].tolist() == [3, "Код муниципалитета", "4"]
    assert probs.loc["extra_sheet", "value"] == "Инструкция"
    assert r.frame.has_psychologist.tolist() == [True, False]


def test_missing_required_column_rejects_the_file_and_keeps_rows(tmp_path):
    p = tmp_path / "staff.csv"
    p.write_text("Год;Код ОО;Учителей\n2024;edu1;3\n2024;edu2;4\n\n", encoding="utf-8")
    res = import_paths([p], tmp_path / "store", table="staff")
    (f,) = res.files
    assert (f.rows_read, f.accepted, f.quarantined, f.fatal, res.exit_code) == (2, 0, 2, True, 2)
    miss = res.problems[res.problems.rule == "missing_column"]
    assert miss[["column", "value"]].values.tolist() == [["municipality", "Код муниципалитета"]]
    q = Store(tmp_path / "store").query("SELECT source_row, rule FROM quarantine_staff ORDER BY source_row")
    assert q.values.tolist() == [["2", "file_rejected"], ["3", "file_rejected"]]


def test_municipality_own_export_is_recognised_through_its_mapping(tmp_path):
    """Лесосибирск's staff export (own headers, percents, no municipality column) imports via its params file."""
    from workbench.config import load_region

    p = tmp_path / "кадры_Лесосибирск.csv"
    p.write_text("Год;Логин ОО;Всего педагогов;Вакантные ставки;Подтвердили/повысили категорию за 3 года, %;"
                 "Работают на 1,5 ставки и более, %;Участвовали в конкурсах за 3 года, %;Ведут предмет не по диплому, %\n"
                 "2025;edu004001;61;2;45,5;12;8;3\n", encoding="utf-8")
    res = import_paths([p], tmp_path / "store", region=load_region("regions/demo.yaml"))
    (f,) = res.files
    assert (f.table, f.accepted, res.exit_code) == ("staff", 1, 0), res.problems
    row = Store(tmp_path / "store").read("staff").iloc[0]
    assert (row.municipality, row.teachers, row.vacancies) == ("004", 61, 2)
    assert row.share_category_3y == pytest.approx(0.455) and row.share_outside_diploma == pytest.approx(0.03)
