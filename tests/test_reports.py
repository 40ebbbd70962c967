"""The справка writers on a hand-built run folder: what the reader sees in HTML, DOCX and XLSX cells."""
import re

import docx
import matplotlib
import openpyxl
import numpy as np
import pandas as pd
import pytest

from workbench import formatting as fmt
from workbench.paths import PARAMS_DIR as PARAMS
from workbench.reports.findings import gap_sentence, identification_sentences, support_sentence
from workbench.reports.builder import Report
from workbench.reports.docx import write_docx
from workbench.reports.document import load_document
from workbench.reports.html import document_html
from workbench.reports.document import sheet_name
from workbench.reports.xlsx import write_workbook

matplotlib.use("Agg")


@pytest.fixture
def folder(tmp_path):
    rep = Report(tmp_path, section="Обзор", min_n=5, show=False)
    rep.findings(["Первый вывод.", "Второй вывод."])
    rep.heading("Школы")
    schools = pd.DataFrame({"school_id": ["a", "b", "c"], "participants": [1428, 3, 40],
                            "share_2": [0.1234, 0.5, 0.0], "year": [2026, 2026, 2026]})
    rep.table(schools, "schools", "Школы муниципалитета", "Доля «2» по школам.",
              columns={"school_id": "Код ОО", "year": "Год", "participants": "Работ", "share_2": "Доля «2»"},
              count="participants", values=["share_2"], kinds={"share_2": "share"}, sheet="Школы")
    long = pd.DataFrame({"k": range(40), "diff": [i - 20.25 for i in range(40)]})
    rep.table(long, "long", "Длинная таблица: сорок строк и очень длинное название листа", "Сорок строк.",
              columns={"k": "Номер", "diff": "Разница"}, kinds={"diff": "pp"})
    crit = pd.DataFrame({"title": ["Доля «2»", "ИСБШ"], "n": [3, None], "value": [0.4, -1.2]})
    rep.table(crit, "crit", "Критерии", "Один показатель из работ учеников, один — индекс контекста.",
              columns={"title": "Критерий", "n": "Участников", "value": "Значение"}, count="n", values=["value"],
              pupil_rows=crit["n"].notna(), kinds={"value": "num2"}, appendix_only=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    rep.figure(fig, "line", "Линия", "Две точки.")
    return tmp_path


def test_document_orders_findings_body_and_numbered_appendix(folder):
    doc = load_document(folder, title="Справка", municipality="Город (код 1)", year=2026, data_as_of="01.12.2026 10:00")
    assert doc.findings == ["Первый вывод.", "Второй вывод."]
    assert [b["kind"] for b in doc.body] == ["heading", "table", "table", "figure"]
    assert [(t.key, t.number) for t in doc.appendix] == [("long", "П.1"), ("crit", "П.2")]
    assert doc.contents() == [(1, "Основные выводы"), (1, "Школы"), (1, "Приложения")]


def test_html_cells_are_formatted_suppressed_and_short(folder):
    page = document_html(load_document(folder, title="Справка", municipality="Город", year=2026))
    data = page[page.index('<table class="data">'):]   # after the title block
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", data)]
    # the school table: counts with a narrow space, shares with a comma, the small school hidden, the year a label
    assert cells[:4] == ["a", "2026", "1\u202f428", "12,3\u00a0%"]
    assert cells[4:8] == ["b", "2026", "скрыто", "скрыто"] and cells[8:12] == ["c", "2026", "40", "0,0\u00a0%"]
    assert "Значения, рассчитанные менее чем по 5 участникам, скрыты" in page
    # the long table: 15 rows in the body, all 40 in the appendix, differences in п.п. with a true minus
    body, appendix = page.split("<h2>Приложения</h2>")
    assert body.count("−20,3\u00a0п.п.") == 1 and "Показаны первые 15 строк из 40; полностью — в приложении П.1" in body
    assert appendix.count("<tr>") == 1 + 40 + 1 + 2 and "+18,8\u00a0п.п." in appendix
    # the context index keeps its value; the pupil statistic from 3 pupils is hidden
    crit = appendix[appendix.index("Приложение П.2"):]
    crit_cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", crit)]
    assert crit_cells == ["Доля «2»", "скрыто", "скрыто", "ИСБШ", "—", "−1,20"]
    assert 'src="data:image/png;base64,' in page and "Рисунок. Линия." in page
    assert "dataframe" not in page


def test_docx_is_editable_and_says_the_same(folder, tmp_path):
    doc = load_document(folder, title="Справка", municipality="Город", year=2026)
    path = write_docx(doc, tmp_path / "r.docx")
    d = docx.Document(str(path))
    text = [p.text for p in d.paragraphs]
    assert "Основные выводы" in text and "Первый вывод." in text and "Приложения" in text
    first = d.tables[0]
    assert [[c.text for c in r.cells] for r in first.rows] == [
        ["Код ОО", "Год", "Работ", "Доля «2»"], ["a", "2026", "1\u202f428", "12,3\u00a0%"],
        ["b", "2026", "скрыто", "скрыто"], ["c", "2026", "40", "0,0\u00a0%"]]
    assert len(d.tables[1].rows) == 16 and len(d.tables[2].rows) == 41   # body 15 rows, appendix all 40
    assert len(d.inline_shapes) == 1


def test_workbook_has_contents_short_sheet_names_and_formats(folder, tmp_path):
    doc = load_document(folder, title="Справка", municipality="Город", year=2026)
    path = write_workbook(doc, tmp_path / "t.xlsx", about=[("Документ", "Справка")])
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Содержание", "О документе", "Школы", "Длинная таблица сорок строк и", "Критерии"]
    sh = wb["Школы"]
    assert [c.value for c in sh[1]] == ["Код ОО", "Год", "Работ", "Доля «2»"]
    assert [c.value for c in sh[3]] == ["b", 2026, "скрыто", "скрыто"]
    assert sh["D2"].value == pytest.approx(0.1234) and sh["D2"].number_format == "0.0%"
    assert sh["C2"].number_format == "#,##0"
    assert wb["Длинная таблица сорок строк и"].max_row == 41
    assert wb["Длинная таблица сорок строк и"]["B2"].number_format == fmt.EXCEL_FORMATS["pp"]
    toc = wb["Содержание"]
    assert [c.hyperlink.location for c in toc["A"] if c.hyperlink][1:] == ["'Школы'!A1", "'Длинная таблица сорок строк и'!A1",
                                                                          "'Критерии'!A1"]


def test_sheet_names_cut_at_words_and_unique():
    used: set[str] = set()
    names = [sheet_name(t, used) for t in ("Школы", "школы", "Критерии: значение, порог, запас и годы", "А" * 40)]
    assert names == ["Школы", "школы 2", "Критерии значение порог запас и", "А" * 31]
    assert all(len(n) <= 31 for n in names)


def test_findings_count_and_name_the_schools():
    flags = pd.DataFrame({"school_id": list("abcde"), "name": ["Школа А", "Школа Б", "Школа В", "Школа Г", "Школа Д"],
                          "flagged": [True, True, False, False, False], "risk_zone": [False, True, True, False, False],
                          "shnsu": [False, False, False, True, False]})
    prev = flags.assign(flagged=[True, False, False, False, True])
    s = identification_sentences(flags, prev, "Лесосибирск")
    assert s[0] == "По методике «Лесосибирск» признаки школы с низкими образовательными результатами (ШНОР) выявлены у 2 школ из 5: Школа А, Школа Б."
    assert s[1] == "Кроме того, в зоне риска — 1 школа (Школа В); в неблагоприятных социальных условиях (ШНСУ) — 1 школа."
    assert s[2].startswith("По сравнению с предыдущим годом: в списке ШНОР остались 1, добавились 1, вышли из него 1")
    sig = pd.DataFrame({"school_id": ["a", "b"], "signals_fired": [2, 0]})
    assert "для 2 школ с признаками ШНОР" in support_sentence(flags, sig) and "в 1 школе" in support_sentence(flags, sig)


def test_findings_say_how_many_rule_flags_hold_under_uncertainty():
    flags = pd.DataFrame({"school_id": list("abc"), "name": ["Школа А", "Школа Б", "Школа В"],
                          "flagged": [True, True, False], "risk_zone": False, "shnsu": False, "decision": "point",
                          "flagged_uncertainty": [True, False, False]})
    s = identification_sentences(flags, None, "Рособрнадзор 2025")
    assert s[1] == ("Флаги поставлены по правилу методики, как оно записано; с учётом статистической неопределённости "
                    "выделяются 1 из 2, у остальных превышение порога может быть случайным (мало участников или "
                    "значение у порога).")
    assert len(identification_sentences(flags.assign(decision="probability"), None, "Р")) == 1


def test_gap_sentence_gives_the_corrected_gap_and_its_direction():
    def table(unit, gaps_by_year):
        return pd.DataFrame([{"unit": unit, "year": y, "subject": "math", "grade": g, "p90_p10": v + g / 10}
                             for y, v in gaps_by_year.items() for g in (4, 5)])
    mine = table("004", {2022: 30.0, 2023: 29.0, 2024: 28.0, 2025: 27.2, 2026: 26.0})
    region = table("region", {2022: 27.0, 2023: 27.5, 2024: 26.5, 2025: 27.2, 2026: 26.8})
    # math, grades 4 and 5: 26,4 and 26,5 → 26,45 in 2026; the region 27,25; the municipality's trend −1,0 a year
    assert gap_sentence(mine, region, ["math", "rus"], 2026) == (
        "Разрыв между школами с высокими и низкими результатами (P90 − P10 истинных средних школ, с поправкой на "
        "шум малых школ, в среднем по классам): математика — 26,5 п.п. (по региону 27,3), сокращается.")
    assert gap_sentence(mine, region, ["rus"], 2026) is None


def test_dynamics_sentence_names_the_definitions_it_counts():
    from workbench.gaps import dynamics_summary
    from workbench.reports.findings import dynamics_sentence

    d = pd.DataFrame({"excluded": [False, False, True], "exit": pd.array([True, False, pd.NA], "boolean"),
                      "beyond_interval": pd.array([True, False, pd.NA], "boolean"),
                      "percentile": pd.array([False, False, pd.NA], "boolean"),
                      "residual": pd.array([True, True, pd.NA], "boolean"), "change": [4.0, 1.0, 9.0],
                      "expected_change": [2.0, 2.0, 2.5], "negative": pd.array([False, False, pd.NA], "boolean")})
    assert dynamics_sentence(dynamics_summary(d, 2025, 2026), 2025, 2026) == (
        "положительную динамику (рост результата больше погрешности) показали 1 из 2 школ списка 2025 года, ещё 1 не "
        "оценивались из-за признаков необъективности; другие определения и возврат к среднему — в разделе о "
        "разрывах")


def test_evaluation_sentences_follow_the_evaluation():
    from workbench.evaluation import Evaluation
    from workbench.reports.gaps import evaluation_sentences

    att = pd.DataFrame({"cohort": [2024, 2024], "year": [2023, 2025], "event": [-1, 1], "att": [0.1, 3.0],
                        "treated": [21, 21]})
    ev = Evaluation(att, pd.DataFrame(), {"att": 3.0, "ci_low": 1.0, "ci_high": 5.0}, {"df": 1, "p_value": 0.4},
                    pd.DataFrame(), 0.95, matches=3)
    first, check, limits = evaluation_sentences(ev, 2, "город Лесосибирск")
    assert "21 школа программы, в муниципалитете «город Лесосибирск» — 2" in first
    assert "по 3 на каждую школу программы" in first and "выросли больше" in first
    assert check.startswith("Проверка до начала поддержки (1 год,") and "не опровергается" in check
    assert "неучтённые различия" in limits


def test_decision_note_says_what_the_uncertainty_view_adds_or_keeps():
    from workbench.config import load_defaults
    from workbench.reports.identification import decision_note

    unc = load_defaults().uncertainty
    f = pd.DataFrame({"decision": ["point"] * 3, "flagged": [True, True, False], "flagged_uncertainty": [True, True, True]})
    text = decision_note(f, unc)
    assert "все 2 выделенные школы выделяются и так" in text and "У остальных" not in text
    assert "Ещё 1 школа выделяется только с учётом неопределённости" in text
    f2 = f.assign(flagged_uncertainty=[True, False, False])
    assert "из 2 выделенных школ так выделяются 1. У остальных" in decision_note(f2, unc)


def test_municipal_agreement_statistics_use_the_parameter_minimum_and_control_the_fdr():
    import numpy as np
    from statsmodels.stats.multitest import multipletests

    from workbench.objectivity import load_objectivity_params
    from workbench.reports.objectivity import municipality_statistics

    assert load_objectivity_params().agreement_min_cases.value == 20
    rng = np.random.default_rng(0)
    rows = []
    for grade, n in ((4, 15), (5, 60), (6, 60), (7, 60)):
        mark = rng.integers(2, 6, n)
        journal = np.clip(mark + (rng.random(n) < (0.6 if grade == 7 else 0.2)), 2, 5)   # grade 7: ВПР far lower
        rows.append(pd.DataFrame({"year": 2026, "subject": "rus", "grade": grade, "mark": mark, "journal_mark": journal}))
    st = municipality_statistics(pd.concat(rows)).set_index("grade")
    assert np.isnan(st.loc[4, "kappa"]) and not np.isnan(st.loc[5, "kappa"])      # 15 < 20 pupils with both marks
    assert np.isnan(municipality_statistics(pd.concat(rows), min_n=70)["kappa"]).all()
    tested = st["bowker_p"].notna()
    q = multipletests(st.loc[tested, "bowker_p"], method="fdr_bh")[1]
    assert st.loc[tested, "bowker_q"].to_numpy() == pytest.approx(q)
    assert st.loc[7, "stuart_maxwell_q"] < 0.05


def test_a_municipality_may_suppress_more_but_never_less(tmp_path):
    """A municipality's own privacy block is honoured when it is stricter than the project's default (5 pupils);
    a laxer one is not (the default protects the pupils whatever a file says)."""
    from workbench.config import load_region
    from workbench.reports.deliverables import parameters_table, publication_minimum

    region = load_region("regions/demo.yaml")
    own = (PARAMS / "municipalities" / "lesosibirsk.yaml").read_text(encoding="utf-8")
    for value, expected in ((12, 12), (3, 5)):
        f = tmp_path / f"m{value}.yaml"
        f.write_text(own + "\nprivacy:\n  min_pupils_publication: {value: %d, tag: heuristic, source: \"решение "
                     "муниципалитета\"}\n" % value, encoding="utf-8")
        mine = region.model_copy(update={"municipalities": [
            m.model_copy(update={"params": str(f)}) if m.code == "004" else m for m in region.municipalities]})
        assert publication_minimum("004", mine) == expected
        shown = parameters_table("004", mine).query("Параметр == 'min_pupils_publication'")["Значение"].tolist()
        assert shown == [str(expected)]          # the справка's parameter list says the threshold in force
    assert publication_minimum("004", region) == 5 and publication_minimum("001", region) == 5


def test_an_appendix_table_too_long_to_print_points_to_its_sheet(tmp_path):
    """A table of hundreds of rows (the agreement report per school and work: 30 printed pages for one district)
    is printed in the appendix with its first APPENDIX_ROWS rows and names the workbook sheet that holds it all;
    the workbook keeps every row."""
    from workbench.reports.document import APPENDIX_ROWS
    from workbench.reports.xlsx import write_workbook

    rep = Report(tmp_path, section="Обзор", min_n=5, show=False)
    rep.heading("Школы")
    big = pd.DataFrame({"k": range(APPENDIX_ROWS + 40), "v": 1.5})
    rep.table(big, "big", "Очень длинная таблица", "Много строк.", columns={"k": "Номер", "v": "Значение"},
              kinds={"v": "num1"}, sheet="Длинная")
    doc = load_document(tmp_path, title="Справка", municipality="Город", year=2026)
    page = document_html(doc)
    appendix = page.split("<h2>Приложения</h2>")[1]
    assert appendix.count("<tr>") == 1 + APPENDIX_ROWS
    note = f"Показаны первые {APPENDIX_ROWS} строк из {APPENDIX_ROWS + 40}; полностью — в файле Excel, лист «Длинная»"
    assert note in appendix
    d = docx.Document(str(write_docx(doc, tmp_path / "r.docx")))
    assert len(d.tables[-1].rows) == 1 + APPENDIX_ROWS and any(note in p.text for p in d.paragraphs)
    wb = openpyxl.load_workbook(write_workbook(doc, tmp_path / "t.xlsx", about=[]))
    assert wb["Длинная"].max_row == 1 + APPENDIX_ROWS + 40


def test_gap_findings_of_a_municipality_without_a_trend_say_no_trend_instead_of_failing():
    """Municipality 039 of the demo has too few schools in most years for a gap: the gap exists for two years,
    the trend cannot be estimated, and the section must still be written (it crashed the run)."""
    from workbench import gaps
    from workbench.reports import gaps as R

    def table(unit, values):
        return pd.DataFrame([{"unit": unit, "year": y, "subject": "math", "grade": 5, "p90_p10": v,
                              "raw_p90_p10": v + 2} for y, v in values.items()])
    mine = pd.concat([table("039", {2022: np.nan, 2023: np.nan, 2024: np.nan, 2025: 20.0, 2026: 21.0}),
                      table("039", {y: np.nan for y in range(2022, 2027)}).assign(grade=6)])
    region = table("region", {2022: 27.0, 2023: 27.5, 2024: 26.5, 2025: 27.2, 2026: 26.8})
    trends = gaps.gap_trends(pd.concat([mine, region]))
    text = R.gap_findings(mine, region, trends, ["math"], "Дятловское МО", 2026)
    assert len(text) == 1 and "21,0 п.п." in text[0] and "годы он" not in text[0] and not text[0].endswith("..")
    assert "только 5 кл." in text[0]           # grade 6 has too few schools for a gap
    assert gap_sentence(mine, region, ["math"], 2026).endswith("математика — 21,0 п.п. (по региону 26,8).")
