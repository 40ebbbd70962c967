"""The main job for real: notebooks executed by papermill in real kernels, deliverables opened and checked."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from workbench import runner
from workbench.paths import PARAMS_DIR

pytestmark = pytest.mark.timeout(900)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def first_run(demo_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs")
    manifest = runner.run(["004", "002"], store=demo_store.root, out=out, jobs=2, progress=False)
    return out, manifest


def test_every_municipality_gets_its_deliverables(first_run):
    out, manifest = first_run
    assert {c: m["status"] for c, m in manifest["municipalities"].items()} == {"004": "ok", "002": "ok"}
    run_dir = out / manifest["run_id"]
    assert (out / "LATEST").read_text() == manifest["run_id"] and (out / "latest").resolve() == run_dir.resolve()
    for code in ("004", "002"):
        d = run_dir / code
        assert {"report.html", "report.docx", "report.pdf", "tables.xlsx", "00_overview.ipynb", "done.json"} \
            <= {p.name for p in d.iterdir()}
        assert (d / "figures" / "vs_region.png").stat().st_size > 5000
        assert manifest["municipalities"][code]["pdf"] is True
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    assert "город Лесосибирск" in index and 'href="004/report.html"' in index and "Готово: 2 из 2" in index
    assert 'href="004/report.docx"' in index and 'href="004/report.pdf"' in index
    saved = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert saved["data_hash"] == manifest["data_hash"] and saved["notebooks"] == ["00_overview.ipynb", "01_identification.ipynb",
                                                                              "02_gap_trends.ipynb", "03_objectivity.ipynb",
                                                                              "04_risk_profiles.ipynb", "05_support_plan.ipynb",
                                                                              "99_methodology.ipynb"]
    assert 'href="004/%D0%B4%D0%BE%D1%80%D0%BE%D0%B6%D0%BD%D0%B0%D1%8F%20%D0%BA%D0%B0%D1%80%D1%82%D0%B0.xlsx"' in index


def _cells(page: str) -> list[list[str]]:
    """Rows of every table of an HTML page as cell texts (the reader sees these)."""
    import html as h
    import re

    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    return [[h.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, flags=re.S)]
            for r in rows]


def test_html_spravka_reads_as_a_document(first_run, demo_store):
    out, manifest = first_run
    page = (out / manifest["run_id"] / "004" / "report.html").read_text(encoding="utf-8")
    assert "<title>город Лесосибирск: результаты ВПР, ШНОР и ШНСУ, объективность оценивания, план поддержки — 2026 год</title>" in page
    # title block, findings first, then the sections, then the appendix
    assert page.index("Аналитическая справка") < page.index("Основные выводы") < page.index("Обзор: город Лесосибирск") \
        < page.index("Идентификация ШНОР и ШНСУ: город Лесосибирск") < page.index("Профили рисков школ: город Лесосибирск") \
        < page.index("План поддержки: город Лесосибирск, цикл 2026/27") < page.index("Методика, параметры и источники") \
        < page.index("<h2>Приложения</h2>")
    assert "Данные по состоянию на" in page and "Таблица. Результаты ВПР муниципалитета и региона" in page
    assert "Рисунок. Муниципалитет на фоне распределения школ региона" in page
    assert "эвристика по умолчанию (heuristic)" in page and "документ муниципалитета (seed)" in page
    for code_text in ("start_section", "import ", "rep.table(", "municipality = ", 'class="dataframe"', "jp-InputArea"):
        assert code_text not in page
    findings = page[page.index("Основные выводы</h2>"):page.index("Обзор: город Лесосибирск, 2026 год</h2>")]
    assert 5 <= findings.count("<li>") <= 8 and "ШНОР" in findings
    # Russian numbers in cells: the municipality's row of participants reads as an integer with a narrow space
    f = demo_store.query("""SELECT count(*) AS n FROM vpr WHERE municipality = '004' AND year = 2026 AND NOT absent
                            AND primary_score IS NOT NULL""").n.iloc[0]
    assert f"{f:,}".replace(",", "\u202f") + " работ" in page
    rows = _cells(page)
    shares = [c for r in rows for c in r if c.endswith("\u00a0%")]
    # decimal comma, never a point (probabilities are whole percents: «46 %», «> 99 %»)
    assert shares and all("." not in c for c in shares) and sum("," in c for c in shares) > len(shares) / 2
    assert not any(re.fullmatch(r"-?\d+\.\d+", c) for r in rows for c in r), "a number with a decimal point"
    # short body tables: nothing in the body longer than 15 rows; the appendix holds the long ones
    body = page[:page.index("<h2>Приложения</h2>")]
    for table in re.findall(r"<tbody>(.*?)</tbody>", body, flags=re.S):
        assert table.count("<tr>") <= 15


def test_context_indices_are_never_suppressed(first_run):
    """Suppression hides values computed from pupils by their count; context indices (no pupils) stay visible."""
    out, manifest = first_run
    wb = openpyxl.load_workbook(out / manifest["run_id"] / "004" / "tables.xlsx")
    sheet = wb["Критерии по школам"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]]
    context = [r for r in rows if r["Критерий"] and r["Критерий"].startswith("ИСБШ")]
    assert context and all(isinstance(r["Значение"], float) for r in context)


def test_docx_and_pdf_carry_the_same_spravka(first_run):
    import docx

    out, manifest = first_run
    d = out / manifest["run_id"] / "004"
    document = docx.Document(str(d / "report.docx"))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "АНАЛИТИЧЕСКАЯ СПРАВКА" in text and "Основные выводы" in text and "Приложения" in text
    assert text.index("Основные выводы") < text.index("Приложения")
    assert len(document.tables) >= 8 and len(document.inline_shapes) >= 3
    first = document.tables[0]
    assert [c.text for c in first.rows[0].cells][:2] == ["Код ОО", "Школа"]
    assert any("\u00a0%" in c.text for row in first.rows[1:] for c in row.cells)
    pdf = (d / "report.pdf").read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pdf.startswith(b"%PDF") and 5 <= pages <= 120


def test_workbook_sheets_headers_and_suppression(first_run, demo_store):
    out, manifest = first_run
    wb = openpyxl.load_workbook(out / manifest["run_id"] / "002" / "tables.xlsx")
    assert wb.sheetnames[:2] == ["Содержание", "О документе"]
    assert all(len(n) <= 31 for n in wb.sheetnames)
    toc = wb["Содержание"]
    links = {c.value: c.hyperlink.location for c in toc["A"][3:] if c.hyperlink}
    assert set(wb.sheetnames[1:]) == set(links) and all(links[n] == f"'{n}'!A1" for n in links)
    sheet = wb["Школы"]
    header = [c.value for c in sheet[1]]
    assert header == ["Код ОО", "Школа", "Тип", "Местность", "Обучающихся", "Работ ВПР", "Средний % выполнения", "Доля «2»"]
    assert sheet.freeze_panes == "A2"
    assert sheet.cell(2, 8).number_format == "0.0%" and sheet.cell(2, 6).number_format == "#,##0"
    # Every school with fewer than 5 works in 2026 is marked, never shown.
    works = demo_store.query("""SELECT school_id, count(*) FILTER (WHERE NOT absent) AS n FROM vpr
                                WHERE municipality = '002' AND year = 2026 GROUP BY 1""").set_index("school_id").n
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]}
    small = [s for s, r in rows.items() if works.get(s, 0) < 5]
    for s in small:
        assert rows[s][5:] == ("скрыто", "скрыто", "скрыто")
    for s, r in rows.items():
        if works.get(s, 0) >= 5:
            assert r[5] == works[s]
    params = wb["Параметры"]
    assert [c.value for c in params[1]] == ["Раздел", "Параметр", "Значение", "Происхождение", "Источник"]


def test_identification_in_deliverables_matches_the_package(first_run, demo_store):
    """The XLSX list of ШНОР/ШНСУ for Лесосибирск is what workbench.identify computes on the same store."""
    from workbench import identify

    out, manifest = first_run
    run_dir = out / manifest["run_id"] / "004"
    wb = openpyxl.load_workbook(run_dir / "tables.xlsx")
    sheet = wb["Список школ"]
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["Код ОО", "Школа", "Группа", "С учётом неопределённости", "Выполнено критериев", "Нужно"]
    assert "Почему" in header
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]}
    expected = identify.run_methodology(identify.load_evidence(demo_store, 2026), "lesosibirsk").for_municipality("004")
    assert set(rows) == set(expected.flags.school_id)
    for f in expected.flags.itertuples():
        assert (rows[f.school_id]["Группа"] or "") == f.group
        assert (rows[f.school_id]["С учётом неопределённости"] or "") == f.group_uncertainty
        assert rows[f.school_id]["Выполнено критериев"] == f.criteria_fired
        assert rows[f.school_id]["Почему"] == f.explanation
    names = set(wb.sheetnames)
    assert {"Критерии по школам", "Типология школ", "Совпадение методик"} <= names
    assert (run_dir / "figures" / "ident_typology_plot.png").stat().st_size > 5000
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Идентификация ШНОР и ШНСУ: город Лесосибирск, 2026 год" in page and "Сравнение методик" in page
    assert page.index("Обзор") < page.index("Идентификация ШНОР") < page.index("Методика, параметры и источники")


def test_objectivity_in_deliverables_matches_the_package(first_run, demo_store):
    """The FIS OKO agreement sheet of the workbook holds what workbench.agreement computes; signals are worded as
    signals and the heat map is drawn."""
    from workbench import agreement

    out, manifest = first_run
    run_dir = out / manifest["run_id"] / "004"
    wb = openpyxl.load_workbook(run_dir / "tables.xlsx")
    sheet = wb["Соответствие отметок"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]]
    expected = agreement.agreement_report(demo_store, 2026, "004")
    mun = expected[(expected.level == "муниципалитет") & (expected.subject == "все предметы")].iloc[0]
    got = next(r for r in rows if r["Уровень"] == "муниципалитет" and r["Класс"] == "все")
    assert got["Всего"] == mun.with_both and got["Без отметки по журналу"] == mun.without_journal
    assert got["Понизили (Отметка < Отметка по журналу)"] == mun.lowered
    assert got["Понизили (Отметка < Отметка по журналу)"] + got["Подтвердили (Отметка = Отметка по журналу)"] \
        + got["Повысили (Отметка > Отметка по журналу)"] == got["Всего"]
    assert "Признаки по школам" in wb.sheetnames
    assert (run_dir / "figures" / "obj_heatmap.png").stat().st_size > 5000
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Объективность результатов ВПР: город Лесосибирск, 2026 год" in page and "признаки" in page


def test_plan_in_deliverables_matches_the_package(first_run, demo_store):
    """The risk and plan sections: the heat map is drawn, the XLSX sheets hold the package's pairs and draft, the
    editable roadmap sits beside the справка and reads back through the importer without a problem."""
    from workbench.data.importing import import_paths
    from workbench.data.store import fingerprint
    from workbench.plan import support_plan
    from workbench.results import RegionResults
    from workbench.roadmap import FILE_NAME, SHEET

    out, manifest = first_run
    run_dir = out / manifest["run_id"] / "004"
    assert (run_dir / "figures" / "risk_heatmap.png").stat().st_size > 5000
    expected = support_plan(RegionResults(demo_store, out / "_cache_check", fingerprint(demo_store)), 2026, "004",
                            "lesosibirsk")
    wb = openpyxl.load_workbook(run_dir / "tables.xlsx")
    assert {"Факторы риска школ", "Профили рисков", "Дорожная карта", "Показатели мониторинга"} <= set(wb.sheetnames)
    if len(expected.pairs):
        sheet = wb["Сетевые пары"]
        header = [c.value for c in sheet[1]]
        got = {(r[header.index("Школа из списка")], r[header.index("Школа-лидер")])
               for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]}
        assert got == set(zip(expected.pairs["name"], expected.pairs["leader_name"]))
    sheet = wb["Дорожная карта"]
    assert sheet.max_row - 1 == len(expected.draft)
    editable = openpyxl.load_workbook(run_dir / FILE_NAME)
    assert editable[SHEET].protection.sheet and manifest["municipalities"]["004"]["roadmap"] is True
    res = import_paths([run_dir / FILE_NAME], out / "roadmap_store")
    assert [(f.table, f.accepted, f.quarantined) for f in res.files] == [("measures", len(expected.draft), 0)]
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Карта рисков: школы × факторы" in page and "Восемь показателей мониторинга по циклам" in page
    assert "эвристика" in page[page.rindex("Профили рисков школ: город"):page.rindex("План поддержки: город")]


def test_broken_municipality_fails_alone_and_is_reported(demo_store, tmp_path):
    bad = tmp_path / "bad_lesosibirsk.yaml"
    text = (PARAMS_DIR / "municipalities" / "lesosibirsk.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace('preset: "lesosibirsk"', 'preset: "lesosibirsk"\n  overrides: {years: {value: 0, tag: seed, source: "ошибка"}}'),
                   encoding="utf-8")
    region = tmp_path / "region.yaml"
    region.write_text(f'code: "t"\nname: "Т"\nyears: [2026]\nmunicipalities:\n'
                      f'  - {{code: "004", name: "город Лесосибирск"}}\n  - {{code: "002", name: "Урюпинский"}}\n',
                      encoding="utf-8")
    # The region file itself is valid; the broken municipality file is only met when 004's task resolves it.
    region_bad = tmp_path / "region_bad.yaml"
    region_bad.write_text(region.read_text(encoding="utf-8").replace('name: "город Лесосибирск"}',
                                                                     f'name: "город Лесосибирск", params: "{bad}"}}'),
                          encoding="utf-8")
    from workbench.config import ParamsError, load_municipality

    with pytest.raises(ParamsError):
        load_municipality(bad)
    manifest = runner.run(["004", "002"], store=demo_store.root, out=tmp_path / "out", jobs=2, progress=False,
                          region=str(region_bad))
    ms = manifest["municipalities"]
    assert ms["002"]["status"] == "ok" and ms["004"]["status"] == "failed"
    assert "years.value = 0" in ms["004"]["error"]
    run_dir = tmp_path / "out" / manifest["run_id"]
    assert not (run_dir / "004").exists() and (run_dir / "004.error.txt").exists()
    assert (run_dir / "002" / "report.html").exists()


def test_failed_municipality_in_a_run_is_in_manifest_and_index(demo_store, tmp_path, monkeypatch):
    real = runner.run_municipality

    def flaky(task):  # a notebook error for one municipality only (runs in the parent: pool replaced)
        if task.municipality == "002":
            task.notebooks = [str(tmp_path / "missing.ipynb")]
        return real(task)

    class Inline:
        def __init__(self, *a, **k): pass
        def __enter__(self): return self
        def __exit__(self, *a): return False
        def submit(self, fn, *a):
            import concurrent.futures as cf
            f = cf.Future()
            f.set_result(flaky(*a))
            return f

    monkeypatch.setattr(runner.cf, "ProcessPoolExecutor", Inline)
    manifest = runner.run(["004", "002"], store=demo_store.root, out=tmp_path, jobs=1, progress=False)
    ms = manifest["municipalities"]
    assert ms["004"]["status"] == "ok" and ms["002"]["status"] == "failed" and "missing.ipynb" in ms["002"]["error"]
    index = (tmp_path / manifest["run_id"] / "index.html").read_text(encoding="utf-8")
    assert "Готово: 1 из 2" in index and "missing.ipynb" in index


def test_resume_skips_finished_and_redoes_changed(demo_store, tmp_path, monkeypatch):
    first = runner.run(["004", "002"], store=demo_store.root, out=tmp_path, jobs=2, progress=False)
    run_dir = tmp_path / first["run_id"]
    stamp = (run_dir / "004" / "report.html").stat().st_mtime_ns
    import shutil

    shutil.rmtree(run_dir / "002")  # as if 002 had not finished
    second = runner.run(["004", "002"], store=demo_store.root, out=tmp_path, jobs=2, resume=True, progress=False)
    assert second["run_id"] == first["run_id"]
    assert second["municipalities"]["004"].get("skipped") is True and not second["municipalities"]["002"].get("skipped")
    assert (run_dir / "004" / "report.html").stat().st_mtime_ns == stamp and (run_dir / "002" / "report.html").exists()
    monkeypatch.setattr(runner, "params_hash", lambda: "changed-params")
    third = runner.run(["004"], store=demo_store.root, out=tmp_path, jobs=1, resume=True, progress=False)
    assert not third["municipalities"]["004"].get("skipped")
    assert (run_dir / "004" / "report.html").stat().st_mtime_ns != stamp


def test_interrupted_run_leaves_no_partial_deliverables(demo_store, tmp_path):
    proc = subprocess.Popen([str(Path(sys.executable).parent / "workbench"), "run", "--store", str(demo_store.root),
                             "--out", str(tmp_path), "--jobs", "2"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob("*/.*.partial/*.ipynb")):
        time.sleep(0.2)
    assert list(tmp_path.glob("*/.*.partial")), "the run never started a municipality"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    for run_dir in (p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for d in run_dir.iterdir():
            if d.is_dir() and not d.name.startswith("."):
                assert (d / "done.json").exists() and (d / "report.html").exists() and (d / "tables.xlsx").exists()
        assert not list(run_dir.glob("*.tmp")) and not list(run_dir.glob("*/*.tmp"))


def test_notebooks_are_paired_and_committed_without_outputs():
    import jupytext
    import nbformat

    for ipynb in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in ipynb.parts:
            continue
        py = ipynb.with_suffix(".py")
        assert py.exists(), f"{ipynb} has no paired .py"
        nb = nbformat.read(ipynb, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells), f"{ipynb} is committed with outputs"
        from_py = jupytext.read(py)
        assert [c.source for c in from_py.cells] == [c.source for c in nb.cells], f"{ipynb} and {py} differ"
        assert nb.metadata["kernelspec"]["name"] == "python3"
    params = [c for c in nbformat.read(ROOT / "notebooks" / "00_overview.ipynb", as_version=4).cells
              if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and 'municipality = "004"' in params[0].source


def test_evidence_cards_recompute_the_flag(first_run, demo_store):
    """«Почему школа в списке»: every listed school of Лесосибирск has a card (in the справка and as its own page);
    the card's criteria give the flag by the rule it prints, and its inputs are the pupils' results recomputed
    here by hand from the raw ВПР rows."""
    import pandas as pd

    from workbench import identify
    from workbench.reports.document import load_blocks, load_card

    out, manifest = first_run
    d = out / manifest["run_id"] / "004"
    expected = identify.run_methodology(identify.load_evidence(demo_store, 2026), "lesosibirsk").for_municipality("004")
    flags = expected.flags.set_index("school_id")
    listed = set(flags.index[flags.flagged | flags.risk_zone | flags.shnsu])
    cards = {b["school_id"]: load_card(d, b) for b in load_blocks(d) if b["kind"] == "card"}
    assert listed and set(cards) == listed
    assert manifest["municipalities"]["004"]["cards"] == len(listed)
    page = (d / "report.html").read_text(encoding="utf-8")
    for sid, card in cards.items():
        assert (d / "schools" / f"{sid}.html").exists() and (d / "schools" / f"{sid}.pdf").stat().st_size > 5000
        assert card.title in page
        criteria, inputs = card.tables
        main = criteria.data[criteria.data["Роль"] == "критерий ШНОР"]
        fired = int((main["Выполнен"] == "да").sum())
        assert len(main) == 7 and set(criteria.data["Роль"]) == {"критерий ШНОР", "контекст (ШНСУ, дефициты)"}
        required = int(flags.loc[sid, "criteria_required"])
        assert fired == flags.loc[sid, "criteria_fired"]
        assert (fired >= required) == bool(flags.loc[sid, "flagged"])
        assert f"не менее {required} критериев; у школы выполнено {fired} из" in " ".join(card.lines)
        # inputs by hand: pupils who wrote the work, mean percent of the maximum primary score
        raw = demo_store.query("""
            SELECT v.year, v.subject, v.grade, count(*) AS n, avg(100.0 * v.primary_score / s.max_score) AS mean
            FROM vpr v JOIN mark_scales s USING (year, subject, grade)
            WHERE v.school_id = ? AND NOT v.absent AND v.primary_score IS NOT NULL AND v.year BETWEEN 2024 AND 2026
              AND v.subject IN ('rus', 'math')
            GROUP BY ALL""", [sid])
        vpr = inputs.data[inputs.data["Оценочная процедура"] == "ВПР"]
        names = {"Русский язык": "rus", "Математика": "math"}
        got = pd.DataFrame({"year": vpr["Год"].astype(int), "subject": vpr["Предмет"].map(names),
                            "grade": vpr["Класс"].astype(int), "n": vpr["Участников"], "mean": vpr["Школа, % (балл)"],
                            "hidden": inputs.hidden[vpr.index].to_numpy()})
        merged = raw.merge(got, on=["year", "subject", "grade"], suffixes=("", "_card"))
        assert len(merged) == len(raw) == len(got)
        shown = merged[~merged["hidden"]]
        assert len(shown) and (shown["n"] == shown["n_card"]).all()
        assert (shown["mean"] - shown["mean_card"]).abs().max() < 1e-9
        assert merged.loc[merged["hidden"], "n"].lt(5).all()   # only small cells are hidden


def test_dashboards_read_what_the_run_computed(first_run, demo_store):
    """A dashboard kernel after a run computes nothing region-wide: every methodology, the typology, the trends
    and the signals come from the run's cache, and equal a fresh computation."""
    from workbench import identify
    from workbench.dashboards.identification import IdentificationDashboard
    from workbench.results import RegionResults

    out, manifest = first_run
    RegionResults._instances.clear()          # as a new kernel starts
    dash = IdentificationDashboard(demo_store.root, cache_dir=out / "_cache")
    for m in ("004", "002"):
        dash.select(municipality=m)
        dash.open_school(dash.table().school_id.iloc[0])
    assert dash.errors == [] and dash.results.computed == []
    year = manifest["year"]
    fresh = identify.run_methodology(identify.load_evidence(demo_store, year), dash.methodology.value)
    cached = dash.result()
    assert cached.flags[["school_id", "flagged"]].equals(fresh.flags[["school_id", "flagged"]])
