"""The overview dashboard driven in Python on the small demo region: widget values in, real figures out.

Every expected value is computed independently with DuckDB over the store's parquet files (the dashboard
reads the same store through workbench.overview).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from workbench.dashboards import overview as dashmod
from workbench.dashboards.overview import OverviewDashboard
from workbench.privacy import MARK
from workbench.vocab import SUBJECTS

ROOT = Path(__file__).resolve().parent.parent
M = "004"
pytestmark = pytest.mark.timeout(600)

WORKS = """FROM vpr v JOIN mark_scales s USING (year, subject, grade)
           WHERE NOT v.absent AND v.primary_score IS NOT NULL"""


@pytest.fixture(scope="module")
def dash(demo_store):
    return OverviewDashboard(demo_store)


@pytest.fixture(scope="module")
def latest(demo_store):
    return int(demo_store.query("SELECT max(year) AS y FROM vpr").y[0])


def sql_schools(store, year, subject, grade, municipality=M) -> pd.DataFrame:
    """Independent per-school counts and means of one work."""
    return store.query(f"""
        SELECT v.school_id, count(*) AS n, avg(100.0 * v.primary_score / s.max_score) AS pct
        {WORKS} AND v.municipality = ? AND v.year = ? AND v.subject = ? AND v.grade = ?
        GROUP BY 1 ORDER BY 1""", [municipality, year, subject, grade])


def test_options_come_from_the_store(dash, demo_store, latest):
    codes = sorted(demo_store.query("SELECT DISTINCT municipality FROM vpr").municipality)
    assert [v for _, v in dash.municipality.options] == codes
    assert dict(dash.municipality.options)[f"{M} — город Лесосибирск"] == M  # name from params/regions/demo.yaml
    assert dash.year.value == latest and dash.year.options[0] == (str(latest), latest)
    assert all(label == SUBJECTS[code] for label, code in dash.subject.options)
    assert dash.errors == []


def test_table_and_key_figures_match_independent_counts(dash, demo_store, latest):
    dash.select(municipality=M, year=latest, subject="math", grade=5)
    expected = sql_schools(demo_store, latest, "math", 5)
    table = dash.table()
    assert sorted(table.school_id) == sorted(expected.school_id)  # exactly the schools with results
    f = dash.key_figures()
    assert f["participants"] == expected.n.sum()
    assert f["schools"] == len(expected)
    mean = demo_store.query(f"SELECT avg(100.0 * v.primary_score / s.max_score) AS m {WORKS} AND v.municipality = ? "
                            "AND v.year = ? AND v.subject = 'math' AND v.grade = 5", [M, latest]).m[0]
    assert f["mean_pct"] == pytest.approx(mean)
    shown = table[~table.suppressed].set_index("school_id")
    big = expected[expected.n >= dash.min_n].set_index("school_id")
    assert shown.mean_pct.sort_index().round(6).tolist() == big.pct.sort_index().round(6).tolist()
    html = dash.figures_html.value
    assert "Ключевые показатели: Математика, 5 класс" in html and f">{int(expected.n.sum())}<" in html
    # the chart plots the same, unsuppressed schools against the region's school means
    chart = dash.chart_data()
    assert sorted(chart["schools"].school_id) == sorted(big.index)
    assert len(chart["region"]) >= len(big) and "Математика, 5 класс" in chart["title"]


def test_changing_a_dropdown_changes_the_table(dash, demo_store, latest):
    dash.select(municipality=M, year=latest, subject="math", grade=5)
    before = dash.table()
    dash.subject.value = "rus"          # through the widget, as a user would
    after = dash.table()
    expected = sql_schools(demo_store, latest, "rus", dash.grade.value)
    assert sorted(after.school_id) == sorted(expected.school_id)
    assert dash.key_figures()["participants"] == expected.n.sum()
    assert not before[["school_id", "mean_pct"]].equals(after[["school_id", "mean_pct"]])
    assert "Русский язык" in dash.table_html.value or "Русский язык" in dash.figures_html.value
    assert dash.errors == []


def test_small_cells_are_suppressed_and_marked(dash, demo_store):
    small = demo_store.query(f"""
        SELECT v.year, v.subject, v.grade, v.school_id, count(*) AS n {WORKS} AND v.municipality = ?
        GROUP BY ALL HAVING count(*) < 5 ORDER BY v.year DESC, v.subject, v.grade LIMIT 1""", [M])
    assert not small.empty, "the demo region should have a school with fewer than 5 participants"
    y, s, g, school = int(small.year[0]), small.subject[0], int(small.grade[0]), small.school_id[0]
    dash.select(municipality=M, year=y, subject=s, grade=g)
    row = dash.table().set_index("school_id").loc[school]
    assert row.suppressed and pd.isna(row.participants) and pd.isna(row.mean_pct) and pd.isna(row.share_2)
    assert MARK in dash.table_html.value and "wb-hidden" in dash.table_html.value
    assert "менее чем по 5 участникам" in dash.table_html.value
    assert school not in set(dash.chart_data()["schools"].school_id)


def test_missing_combination_shows_a_friendly_message(dash, demo_store):
    missing = demo_store.query("""
        WITH g AS (SELECT DISTINCT subject, grade FROM vpr), y AS (SELECT DISTINCT year FROM vpr)
        SELECT y.year, g.subject, g.grade FROM g CROSS JOIN y
        EXCEPT SELECT year, subject, grade FROM vpr WHERE municipality = ?
        ORDER BY 1 DESC, 2, 3 LIMIT 1""", [M])
    assert not missing.empty
    y, s, g = int(missing.year[0]), missing.subject[0], int(missing.grade[0])
    dash.select(municipality=M, year=y, subject=s, grade=g)
    assert dash.table().empty and dash.key_figures() is None
    assert "Нет результатов ВПР" in dash.figures_html.value and "Выберите другой" in dash.figures_html.value
    assert dash.errors == []


def test_school_card(dash, demo_store, latest):
    dash.select(municipality=M, year=latest, subject="rus", grade=4)
    school = dash.table().loc[lambda t: ~t.suppressed, "school_id"].iloc[0]
    dash.school.value = school                 # through the selector
    assert dash.card_school() == school
    card = dash.card_table()
    years = demo_store.query(f"""SELECT DISTINCT v.year {WORKS} AND v.school_id = ? AND v.subject = 'rus'
                                 AND v.grade = 4 ORDER BY 1""", [school]).year.astype(int).tolist()
    assert card.year.astype(int).tolist() == years
    mun = demo_store.query(f"""SELECT avg(100.0 * v.primary_score / s.max_score) AS m {WORKS} AND v.municipality = ?
                               AND v.year = ? AND v.subject = 'rus' AND v.grade = 4""", [M, latest]).m[0]
    assert card.set_index("year").loc[latest, "mun_mean_pct"] == pytest.approx(mun)
    name = dict((v, k) for k, v in dash.school.options)[school]
    assert f"Карточка школы: {name}" in dash.card_html.value.replace("&quot;", '"')
    assert "Муниципалитет" in dash.card_table_html.value
    # another municipality does not list the school: the card closes instead of showing stale numbers
    other = next(v for _, v in dash.municipality.options if v != M)
    dash.municipality.value = other
    assert dash.card_school() is None and dash.card_table().empty


def test_open_school_via_select(dash, latest):
    dash.select(municipality=M, year=latest, subject="math", grade=4)
    school = dash.table().school_id.iloc[-1]
    dash.select(school=school)
    assert dash.card_school() == school and not dash.card_table().empty


def test_callback_errors_become_russian_messages(demo_store, monkeypatch):
    d = OverviewDashboard(demo_store)

    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(dashmod.overview, "results_vs_region", broken)
    d._cache.clear()
    d.select(municipality=M, subject="math", grade=5)
    assert d.errors and all("Не удалось построить раздел" in e for e in d.errors)
    assert "Не удалось построить раздел «ключевые показатели»" in d.figures_html.value
    assert "Traceback" not in d.figures_html.value and "boom" not in d.figures_html.value
    assert not d.table().empty  # the other sections still work
    monkeypatch.undo()
    d._cache.clear()
    d.subject.value = "rus"
    assert d.errors == [] and d.key_figures() is not None and d.status.value == ""
    # glue outside the sections (the grade list of a new subject) ends in the status line, in Russian
    monkeypatch.setattr(d, "_fill_grades", broken)
    d.subject.value = "math"
    assert "Не удалось построить раздел «список классов»" in d.status.value and "boom" not in d.status.value


def test_store_resolution_and_empty_store(demo_store, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_STORE", str(demo_store.root))
    assert OverviewDashboard().store.root == demo_store.root
    monkeypatch.delenv("WORKBENCH_STORE")
    from workbench.dashboards.base import resolve_store
    from workbench.paths import DATA_DIR

    assert resolve_store().root == DATA_DIR / "store"
    empty = OverviewDashboard(str(tmp_path / "nothing"))
    assert empty.errors == [] and empty.table().empty
    assert "нет ни одной завершённой загрузки" in empty.figures_html.value and "make run" in empty.figures_html.value
    assert empty.widget is not None


def test_dashboard_refuses_a_store_without_completed_import_and_warns_after_an_interrupted_one(demo_store, tmp_path):
    import json
    import shutil

    half = tmp_path / "half"
    (half / "staging" / "x").mkdir(parents=True)   # the first import died: nothing published
    (half / "import.json").write_text(json.dumps({"version": "x", "pid": 1, "started": "2026-12-01T10:00:00"}))
    refused = OverviewDashboard(str(half))
    assert refused.table().empty and refused.municipality.options == ()
    assert "была прервана" in refused.figures_html.value and "завершённых загрузок в нём нет" in refused.figures_html.value
    copy = tmp_path / "copy"
    shutil.copytree(demo_store.root, copy, symlinks=True)
    (copy / "import.json").write_text(json.dumps({"version": "y", "pid": 1, "started": "2026-12-01T10:00:00"}))
    warned = OverviewDashboard(str(copy))
    assert not warned.table().empty                            # the last completed import is shown …
    assert "была прервана" in warned.header.value               # … and the page says the newer one is missing


def test_widget_tree_and_russian_labels(dash):
    assert dash.widget.__class__.__name__ == "VBox"
    labels = [dash.municipality.description, dash.year.description, dash.subject.description,
              dash.grade.description, dash.school.description]
    assert labels == ["Муниципалитет:", "Год:", "Предмет:", "Класс:", "Карточка школы:"]
    assert dashmod.TITLE in dash.header.value
    assert dash.timings["refresh"] < 10
    # DuckDB's progress bar would appear as a stray widget (a black bar) above the dashboard in Voila
    assert not dash.data.query("SELECT current_setting('enable_progress_bar') AS p").p[0]


def test_importing_the_dashboard_keeps_the_inline_backend():
    """Forcing agg would make figures vanish in Voila (CONVENTIONS)."""
    inline = "module://matplotlib_inline.backend_inline"
    code = "import workbench.dashboards.overview, matplotlib; print(matplotlib.get_backend())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={**os.environ, "MPLBACKEND": inline})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(inline)
    src = (ROOT / "workbench" / "dashboards" / "overview.py").read_text(encoding="utf-8")
    assert "matplotlib.use(" not in src and "MPLBACKEND" not in src


def test_notebook_only_displays_the_dashboard():
    import jupytext
    import nbformat

    nb_path = ROOT / "notebooks" / "dashboards" / "overview.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 1 and "OverviewDashboard()" in code[0].source
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert [c.source for c in jupytext.read(nb_path.with_suffix(".py")).cells] == [c.source for c in nb.cells]
    assert json.loads(nb_path.read_text(encoding="utf-8"))["metadata"]["title"] == dashmod.TITLE
