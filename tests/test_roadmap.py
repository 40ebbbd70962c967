"""Roadmaps: the catalogue, drafts from hand-built risk profiles, deadline states, and the editable workbook's
round trip through the ordinary importer (edit statuses, import, indicators change; malformed cells reported
cell by cell with nothing lost; the same file twice changes nothing)."""
import datetime as dt

import openpyxl
import pandas as pd
import pytest

from workbench import vocab
from workbench.data.importing import import_paths
from workbench.data.store import Store
from workbench.monitoring import roadmap_progress, supported_schools
from workbench.roadmap import (FACTOR_CODES, HEADER_ROW, LISTS_SHEET, ROADMAP_COLUMNS, SHEET, deadline_state,
                               draft_roadmap, load_catalogue, load_plan_params, write_workbook)

CAT = load_catalogue()
PLAN = load_plan_params()
BASE_SCHOOL = ["M005", "M006", "M009", "M010", "M011", "M013", "M020"]   # level «школа», no factors


def test_catalogue_covers_every_direction_and_every_factor_with_school_measures():
    assert {m.direction for m in CAT.measures} == set(vocab.ROADMAP_DIRECTIONS)
    for f in FACTOR_CODES:
        assert sum(f in m.factors for m in CAT.measures if m.level == "школа") >= 2, f
    assert [m.id for m in CAT.measures if m.level == "школа" and not m.factors] == BASE_SCHOOL
    assert all(m.seeds and len(m.seed_text) <= 300 for m in CAT.measures)
    # interim monitoring twice a year (seed 003): two municipal measures feeding «положительная динамика»
    assert [m.id for m in CAT.measures if m.level == "муниципалитет" and m.indicator == "positive_results"] == \
        ["M014", "M015"]


TARGETS = pd.DataFrame({"school_id": ["edu001003", "edu001007"], "name": ["Школа № 3", "Школа № 7"],
                        "listed_as": ["ШНОР", "ШНСУ"]})
TODO = pd.DataFrame({
    "school_id": ["edu001003"] * 3 + ["edu001007"] * 4,
    "factor": ["parent_involvement", "equipment", "motivation", "discipline", "wellbeing", "ovz", "equipment"],
    "title": ["Вовлечённость родителей", "Оснащение", "Мотивация", "Дисциплина", "Благополучие", "ОВЗ", "Оснащение"],
    "level": ["высокий", "средний", "низкий", "высокий", "высокий", "средний", "высокий"],
    "rank": [1, 2, 3, 1, 2, 3, 4], "explain": [""] * 7})
PAIRS = pd.DataFrame({"school_id": ["edu001003"], "leader_id": ["edu001012"], "leader_name": ["Школа № 12"],
                      "explain": "похожий ИСБШ, 8 км"})
ALONE = pd.DataFrame({"school_id": ["edu001007"], "reason": ["нет школы-лидера ближе 30 км"]})


@pytest.fixture(scope="module")
def draft():
    return draft_roadmap("001", 2026, TARGETS, TODO, PAIRS, ALONE, CAT, PLAN)


def test_school_draft_takes_base_measures_then_ranked_factors_without_repeats(draft):
    a = draft[draft["school_id"] == "edu001003"]
    # high and medium factors (parent involvement, equipment) get 2 measures each; the low one (motivation) none
    assert a["catalogue_id"].tolist() == BASE_SCHOOL + ["M012", "M047", "M045", "M046"]
    b = draft[draft["school_id"] == "edu001007"]
    # three factors at most (equipment, rank 4, left out); ОВЗ gets only M033: M039 and M040 are already in
    assert b["catalogue_id"].tolist() == BASE_SCHOOL + ["M040", "M042", "M012", "M039", "M033"]
    assert b.loc[b["catalogue_id"] == "M040", "basis"].iloc[0] == "Фактор риска «Дисциплина»: высокий риск"
    assert set(a["school_name"]) == {"Школа № 3"} and set(a["municipality"]) == {"001"}


def test_network_measure_names_the_partner_or_why_there_is_none(draft):
    net = draft[(draft["catalogue_id"] == "M006")].set_index("school_id")
    assert net.loc["edu001003", "measure"].endswith("школа-лидер «Школа № 12» (edu001012)")
    assert net.loc["edu001003", "basis"] == "Сетевая пара: похожий ИСБШ, 8 км"
    assert net.loc["edu001007", "measure"].endswith("подобрать школу-лидера вручную")
    assert "нет школы-лидера ближе 30 км" in net.loc["edu001007", "basis"]


def test_municipal_draft_has_base_measures_and_those_against_factors_at_work(draft):
    mun = draft[draft["school_id"].isna()]
    base = [m.id for m in CAT.measures if m.level == "муниципалитет" and not m.factors]
    assert mun["catalogue_id"].tolist() == base + ["M038", "M044", "M049"]
    assert mun.set_index("catalogue_id").loc["M038", "basis"] == \
        "Фактор риска в работе у школ списка: «Благополучие» — 1 из 2 школ; «ОВЗ» — 1 из 2 школ; «Дисциплина» — 1 из 2 школ"


def test_draft_dates_follow_the_annual_cycle(draft):
    a = draft[draft["school_id"] == "edu001003"].set_index("catalogue_id")
    assert (a.loc["M005", "start"], a.loc["M005", "deadline"]) == (pd.Timestamp("2026-12-01"), pd.Timestamp("2027-01-31"))
    assert a.loc["M046", "deadline"] == pd.Timestamp("2027-12-31")
    assert draft["measure_id"].is_unique and (draft["status"] == "запланировано").all()
    assert a.loc["M005", "measure_id"] == "edu001003-2026-M005"
    assert list(draft.columns) == ROADMAP_COLUMNS


def test_deadline_state_at_a_report_date():
    m = pd.DataFrame({"status": ["выполнено", "отменено", "выполняется", "запланировано", "запланировано",
                                 "выполняется"],
                      "deadline": pd.to_datetime(["2026-01-31", "2026-01-31", "2026-12-03", "2027-01-03",
                                                  "2027-01-04", "2026-12-04"])})
    # on 4.12.2026 with 30 days: 3.12 passed, 3.01 is 30 days ahead (soon), 4.01 is 31 days (not yet), today is due
    assert deadline_state(m, "2026-12-04", 30).tolist() == \
        ["выполнено", "отменено", "просрочено", "срок подходит", "запланировано", "срок подходит"]


def _edit(path, edits):
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET]
    col = {c.value: c.column for c in ws[HEADER_ROW + 1]}
    for i, header, value in edits:
        ws.cell(row=HEADER_ROW + 2 + i, column=col[header]).value = value
    wb.save(path)


@pytest.fixture
def workbook(tmp_path, draft):
    return write_workbook(draft, tmp_path / "дорожная карта.xlsx", title="Дорожная карта: Город", on="2026-12-04")


def test_workbook_is_protected_with_lists_and_hidden_ids(workbook, draft):
    wb = openpyxl.load_workbook(workbook)
    assert wb.sheetnames == [LISTS_SHEET, SHEET] and wb[LISTS_SHEET].sheet_state == "hidden"
    ws = wb[SHEET]
    assert ws.protection.sheet and ws["B2"].value == dt.datetime(2026, 12, 4)
    col = {c.value: c for c in ws[HEADER_ROW + 1]}
    assert ws.column_dimensions[col["Код мероприятия"].column_letter].hidden
    assert col["Статус"].protection.locked and not ws.cell(HEADER_ROW + 2, col["Статус"].column).protection.locked
    assert ws.cell(HEADER_ROW + 2, col["Мероприятие"].column).protection.locked
    rules = {str(v.sqref): v for v in ws.data_validations.dataValidation}
    status = rules[f"{col['Статус'].column_letter}{HEADER_ROW + 2}:{col['Статус'].column_letter}{HEADER_ROW + 1 + len(draft)}"]
    assert status.formula1 == f"{LISTS_SHEET}!$A$2:$A$5" and status.errorStyle in (None, "stop")
    assert [wb[LISTS_SHEET].cell(i, 1).value for i in range(2, 6)] == list(vocab.MEASURE_STATUSES)
    state = ws.cell(HEADER_ROW + 2, col["Состояние"].column).value
    assert state.startswith("=IF(") and "$B$2" in state   # computed from the report date, never typed


def _measures(store_dir):
    m = Store(store_dir).read("measures")
    return m.drop(columns=["source_id"]).sort_values("measure_id").reset_index(drop=True)


def test_round_trip_edits_come_back_and_move_the_indicators(tmp_path, workbook, draft):
    store = tmp_path / "store"
    first = import_paths([workbook], store)
    assert [(f.rows_read, f.accepted, f.quarantined) for f in first.files] == [(len(draft), len(draft), 0)]
    before = _measures(store)
    assert before.set_index("measure_id").loc["edu001003-2026-M006", "status"] == "запланировано"
    reached = supported_schools(2026, _no_courses(), _no_partners(), before, PLAN)
    assert "edu001003" not in reached["network"]

    rows = draft.reset_index(drop=True)
    i_net = int(rows.index[rows["measure_id"] == "edu001003-2026-M006"][0])
    i_045 = int(rows.index[rows["measure_id"] == "edu001003-2026-M045"][0])
    _edit(workbook, [(i_net, "Статус", "выполнено"), (i_net, "Комментарий", "договор № 5 от 20.11.2026"),
                     (i_045, "Срок", "Декабрь 2027 г., Март 2028 г."), (i_045, "Статус", "выполняется"),
                     (0, "Ответственный", "Заместитель главы по социальным вопросам")])
    second = import_paths([workbook], store)
    assert second.problems.query("severity == 'error'").empty
    after = _measures(store).set_index("measure_id")
    assert after.loc["edu001003-2026-M006", ["status", "comment"]].tolist() == ["выполнено", "договор № 5 от 20.11.2026"]
    assert after.loc["edu001003-2026-M045", "deadline"] == pd.Timestamp("2028-03-31")   # end of the last part
    assert after.loc[rows.loc[0, "measure_id"], "responsible"] == "Заместитель главы по социальным вопросам"
    assert len(after) == len(draft)
    reached = supported_schools(2026, _no_courses(), _no_partners(), after.reset_index(), PLAN)
    assert reached["network"] == {"edu001003"}
    total = roadmap_progress(after.reset_index(), "2026-12-04").set_index("direction").loc["Всего"]
    assert (total["items"], total["done"]) == (len(draft), 1)

    third = import_paths([workbook], store)            # the same file again: nothing changes
    assert _measures(store).drop(columns=["source_file"]).equals(after.reset_index().drop(columns=["source_file"]))
    assert [(f.accepted, f.quarantined) for f in third.files] == [(len(draft), 0)]


def _no_courses():
    return pd.DataFrame(columns=["school_id", "date", "kind"])


def _no_partners():
    return pd.DataFrame(columns=["school_id", "start", "end", "kind"])


def test_malformed_workbook_is_reported_cell_by_cell_and_nothing_is_lost(tmp_path, workbook, draft):
    _edit(workbook, [(1, "Статус", "готово"), (3, "Срок", "постоянно"), (4, "Начало", "31.02.2027"),
                     (5, "Код мероприятия", None), (6, "Срок", "в течение 2027 г.")])
    res = import_paths([workbook], tmp_path / "store")
    f = res.files[0]
    assert (f.rows_read, f.accepted + f.quarantined, f.quarantined) == (len(draft), len(draft), 4)
    errors = res.problems.query("severity == 'error'")
    got = set(zip(errors["sheet"], errors["row"].astype(int), errors["column"], errors["value"].fillna(""),
                  errors["rule"]))
    first = HEADER_ROW + 2   # Excel row of the first measure
    assert got == {(SHEET, first + 1, "Статус", "готово", "not_allowed"),
                   (SHEET, first + 3, "Срок", "постоянно", "not_a_term"),
                   (SHEET, first + 4, "Начало", "31.02.2027", "not_a_term"),
                   (SHEET, first + 5, "Код мероприятия", "", "required_empty")}
    assert errors.set_index("rule").loc["not_a_term", "message"].str.contains("«постоянно» — не дата и не срок").any()
    q = pd.read_parquet(Store(tmp_path / "store").quarantine_file("measures"))
    assert sorted(q["source_row"].astype(int)) == [first + 1, first + 3, first + 4, first + 5]
    assert q["reason"].notna().all()
    kept = _measures(tmp_path / "store").set_index("measure_id")
    assert kept.loc[draft["measure_id"].iloc[6], "deadline"] == pd.Timestamp("2027-12-31")
