"""The main job for real: notebooks executed by papermill in real kernels, deliverables opened and checked."""
import json
import os
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
        assert {"report.html", "tables.xlsx", "00_overview.ipynb", "done.json"} <= {p.name for p in d.iterdir()}
        assert (d / "figures" / "vs_region.png").stat().st_size > 5000
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    assert "город Лесосибирск" in index and 'href="004/report.html"' in index and "Готово: 2 из 2" in index
    saved = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert saved["data_hash"] == manifest["data_hash"] and saved["notebooks"] == ["00_overview.ipynb", "01_identification.ipynb",
                                                                              "03_objectivity.ipynb", "99_methodology.ipynb"]


def test_html_report_has_no_code_and_says_what_it_shows(first_run):
    out, manifest = first_run
    page = (out / manifest["run_id"] / "004" / "report.html").read_text(encoding="utf-8")
    assert "<title>город Лесосибирск: анализ результатов, 2026 год</title>" in page
    assert "Содержание" in page and "Таблица. Результаты ВПР муниципалитета и региона" in page
    assert "Рисунок. Муниципалитет на фоне распределения школ региона" in page
    assert "эвристика по умолчанию (heuristic)" in page and "документ муниципалитета (seed)" in page
    for code_text in ("start_section", "import ", "rep.table(", "municipality = "):
        assert code_text not in page
    assert 'class="jp-InputArea-editor' not in page


def test_workbook_sheets_headers_and_suppression(first_run, demo_store):
    out, manifest = first_run
    wb = openpyxl.load_workbook(out / manifest["run_id"] / "002" / "tables.xlsx")
    assert wb.sheetnames[0] == "О документе"
    sheet = next(wb[n] for n in wb.sheetnames if n.startswith("Школы"))
    header = [c.value for c in sheet[1]]
    assert header == ["Код ОО", "Школа", "Тип", "Местность", "Обучающихся", "Работ ВПР", "Средний % выполнения", "Доля «2»"]
    assert sheet.freeze_panes == "A2"
    # Every school with fewer than 5 works in 2026 is marked, never shown.
    works = demo_store.query("""SELECT school_id, count(*) FILTER (WHERE NOT absent) AS n FROM vpr
                                WHERE municipality = '002' AND year = 2026 GROUP BY 1""").set_index("school_id").n
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    small = [s for s, r in rows.items() if works.get(s, 0) < 5]
    for s in small:
        assert rows[s][5:] == ("скрыто", "скрыто", "скрыто")
    for s, r in rows.items():
        if works.get(s, 0) >= 5:
            assert r[5] == works[s]
    params = next(wb[n] for n in wb.sheetnames if n.startswith("Параметры"))
    assert [c.value for c in params[1]] == ["Раздел", "Параметр", "Значение", "Происхождение", "Источник"]


def test_identification_in_deliverables_matches_the_package(first_run, demo_store):
    """The XLSX list of ШНОР/ШНСУ for Лесосибирск is what workbench.identify computes on the same store."""
    from workbench import identify

    out, manifest = first_run
    run_dir = out / manifest["run_id"] / "004"
    wb = openpyxl.load_workbook(run_dir / "tables.xlsx")
    sheet = next(wb[n] for n in wb.sheetnames if n.startswith("Список школ"))
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["Код ОО", "Школа", "Группа", "Выполнено критериев", "Нужно"] and "Почему" in header
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    expected = identify.run_methodology(identify.load_evidence(demo_store, 2026), "lesosibirsk").for_municipality("004")
    assert set(rows) == set(expected.flags.school_id)
    for f in expected.flags.itertuples():
        assert (rows[f.school_id]["Группа"] or "") == f.group
        assert rows[f.school_id]["Выполнено критериев"] == f.criteria_fired
        assert rows[f.school_id]["Почему"] == f.explanation
    names = set(wb.sheetnames)
    assert any(n.startswith("Критерии") for n in names) and any(n.startswith("Типология") for n in names)
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
    sheet = next(wb[n] for n in wb.sheetnames if n.startswith("Соответствие отметок"))
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    expected = agreement.agreement_report(demo_store, 2026, "004")
    mun = expected[(expected.level == "муниципалитет") & (expected.subject == "все предметы")].iloc[0]
    got = next(r for r in rows if r["Уровень"] == "муниципалитет" and r["Класс"] == "все")
    assert got["Всего"] == mun.with_both and got["Без отметки по журналу"] == mun.without_journal
    assert got["Понизили (Отметка < Отметка по журналу)"] == mun.lowered
    assert got["Понизили (Отметка < Отметка по журналу)"] + got["Подтвердили (Отметка = Отметка по журналу)"] \
        + got["Повысили (Отметка > Отметка по журналу)"] == got["Всего"]
    assert any(n.startswith("Признаки по школам") for n in wb.sheetnames)
    assert (run_dir / "figures" / "obj_heatmap.png").stat().st_size > 5000
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Объективность результатов ВПР: город Лесосибирск, 2026 год" in page and "признаки" in page


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
