"""The identification dashboard on the small demo region: driven in Python, then in a real Voila + Chromium.

Expected values come from ``workbench.identify`` called directly on an Evidence loaded by the test itself
(not from the dashboard's cache), and from independent DuckDB queries over the store for counts and trends.
The browser test follows tests/test_browser.py (fails, never skips, under CI=true) and leaves
``tests/artifacts/identification.png`` and ``tests/artifacts/identification_timings.json``.
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.test_browser import (ARTIFACTS, UPDATE_TIMEOUT, chromium, choose, open_dashboard, served,  # noqa: F401 (fixture)
                                selected_label)
from workbench import formatting as fmt
from workbench.dashboards import identification as idmod
from workbench import identify
from workbench.cli import build_parser, main
from workbench.config import load_presets
from workbench.dashboards.overview import municipality_names
from workbench.reports.deliverables import methodology_of
from workbench.dashboards.identification import IdentificationDashboard
from workbench.privacy import MARK
from workbench.dashboards.serve import NOTEBOOK, NOTEBOOKS, voila_command

ROOT = Path(__file__).resolve().parent.parent
M = "004"
pytestmark = pytest.mark.timeout(600)
PRESETS = load_presets()


@pytest.fixture(scope="module")
def latest(demo_store):
    return int(demo_store.query("SELECT max(year) AS y FROM vpr").y[0])


@pytest.fixture(scope="module")
def ev(demo_store, latest):
    """The test's own evidence (the dashboard caches its own copy)."""
    return identify.load_evidence(demo_store, latest)


@pytest.fixture(scope="module")
def dash(demo_store):
    return IdentificationDashboard(demo_store)


def expected_flags(ev, municipality: str, name: str) -> pd.DataFrame:
    """run_methodology directly, with the municipality's overrides when it is its own methodology."""
    own, _preset, params = methodology_of(municipality)
    res = identify.run_methodology(ev, name, params if name == own else None)
    return res.flags[res.flags.municipality == municipality].set_index("school_id")


def vpr_participants(store, year: int) -> pd.Series:
    """ВПР participants per school in Russian and mathematics in the year (per subject: both subjects / 2)."""
    q = store.query("""SELECT school_id, count(*) / 2.0 AS n FROM vpr
                       WHERE NOT absent AND primary_score IS NOT NULL AND subject IN ('rus', 'math') AND year = ?
                       GROUP BY 1""", [year])
    return q.set_index("school_id").n


# ---------------------------------------------------------------- the table

def test_table_lists_the_municipality_schools_with_groups(dash, demo_store, ev, latest):
    dash.select(municipality=M, year=latest)
    own = methodology_of(M)[0]
    assert dash.methodology.value == own and dash.errors == []
    assert dict((v, k) for k, v in dash.methodology.options)[own].endswith(idmod.OWN_SUFFIX)
    schools = demo_store.query("SELECT school_id, name FROM schools WHERE municipality = ? ORDER BY 1", [M])
    table = dash.table().set_index("school_id")
    assert sorted(table.index) == schools.school_id.tolist()
    exp = expected_flags(ev, M, own)
    assert table.group.to_dict() == exp.group.to_dict()
    assert table.criteria_fired.to_dict() == exp.criteria_fired.to_dict()
    assert (table.group != "").any(), "the demo plants ШНОР/ШНСУ in Lesosibirsk"
    # flagged first, then risk zone, ШНСУ, the rest
    order = [idmod.GROUP_ORDER[g] for g in dash.table().group]
    assert order == sorted(order)
    html = dash.table_html.value.replace("&quot;", '"')
    for r in schools.itertuples():
        assert r.name in html
    shown = table[~table.headline_hidden]
    assert np.allclose(shown.value, exp.loc[shown.index, "value"], equal_nan=True)
    assert f"ШНОР: {int(exp.flagged.sum())} " in html and f"ШНСУ: {int(exp.shnsu.sum())}." in html
    # «−0,28 [−0,43; −0,07] SD»: the headline with its interval, Russian decimal comma
    r = shown.iloc[0]
    assert idmod.interval_text(r.value, r.ci_low, r.ci_high, r.unit) in html.replace("&nbsp;", "\u00a0")


def test_switching_methodology_shows_that_methodologys_flags(dash, ev, latest):
    dash.select(municipality=M, year=latest)
    own_groups = dash.table().set_index("school_id").group.to_dict()
    changed = False
    for name in PRESETS:
        dash.methodology.value = name                  # through the widget, as a user would
        assert dash.errors == [], dash.errors
        table = dash.table().set_index("school_id")
        exp = expected_flags(ev, M, name)
        assert table.group.to_dict() == exp.group.to_dict(), name
        assert table.criteria_fired.to_dict() == exp.criteria_fired.to_dict(), name
        assert table.headline.fillna("").to_dict() == exp.headline.fillna("").to_dict(), name
        small_head = exp.n.reindex(table.index).lt(dash.min_n) if "n" in exp else False
        assert table.headline_hidden.equals(table.suppressed | small_head), name
        shown = table[~table.headline_hidden]
        for col in ("value", "ci_low", "ci_high", "probability"):
            assert np.allclose(shown[col].astype(float), exp.loc[shown.index, col].astype(float), equal_nan=True)
        assert PRESETS[name].title in dash.table_html.value.replace("&quot;", '"')
        changed |= table.group.to_dict() != own_groups
    assert changed, "at least one methodology should decide differently from Lesosibirsk's own"


def test_comparison_counts_and_jaccard(dash, ev, latest):
    dash.select(municipality=M, year=latest, methodology="kamensk_uralsky")
    cmp = dash.comparison().set_index("methodology")
    assert list(cmp.index) == list(PRESETS) and cmp.loc["kamensk_uralsky", "selected"]
    assert cmp.loc[methodology_of(M)[0], "own"]
    sets = {n: set(expected_flags(ev, M, n).loc[lambda f: f.flagged].index) for n in PRESETS}
    sel = sets["kamensk_uralsky"]
    for name, flagged in sets.items():
        assert cmp.loc[name, "flagged"] == len(flagged)
        assert cmp.loc[name, "both"] == len(flagged & sel)
        union = flagged | sel
        if union:
            assert cmp.loc[name, "jaccard"] == pytest.approx(len(flagged & sel) / len(union))
        else:
            assert np.isnan(cmp.loc[name, "jaccard"])
    assert "Сравнение методик" in dash.compare_html.value and "Жаккар" in dash.compare_html.value


# ---------------------------------------------------------------- the card

def test_school_card_criteria_equal_run_methodology(dash, demo_store, ev, latest):
    own, _preset, params = methodology_of(M)
    dash.select(municipality=M, year=latest, methodology=own)
    school = dash.table().loc[lambda t: (t.group != "") & ~t.suppressed, "school_id"].iloc[0]
    dash.school.value = school                                  # through the selector
    assert dash.card_school() == school and dash.errors == []
    crit = identify.run_methodology(ev, own, params).criteria
    exp = crit[crit.school_id == school].reset_index(drop=True)
    card = dash.card_criteria()
    assert not card.suppressed.any()
    cols = ["criterion", "title", "unit", "fired", "years_held", "years_assessed"]
    assert card[cols].astype(str).equals(exp[cols].astype(str))
    for col in ("value", "threshold", "margin", "n", "ci_low", "ci_high", "probability"):
        assert np.allclose(card[col].astype(float), exp[col].astype(float), equal_nan=True), col
    html = dash.card_html.value.replace("&quot;", '"')
    name = dash.table().set_index("school_id").loc[school, "name"]
    assert f"Карточка школы: {name}" in html and "✓" in html
    assert all(t in html for t in exp.title)
    # the trend: mean over the school's pupils of (percent − region mean of the work), independent SQL
    trend = dash.card_trend().set_index("year")
    sql = demo_store.query("""
        WITH p AS (SELECT v.year, v.school_id, v.subject, v.grade, 100.0 * v.primary_score / s.max_score AS pct
                   FROM vpr v JOIN mark_scales s USING (year, subject, grade)
                   WHERE NOT v.absent AND v.primary_score IS NOT NULL AND v.subject IN ('rus', 'math')),
             r AS (SELECT year, subject, grade, avg(pct) AS m FROM p GROUP BY ALL)
        SELECT p.year, avg(p.pct - r.m) AS d, count(*) / 2.0 AS n FROM p JOIN r USING (year, subject, grade)
        WHERE p.school_id = ? AND p.year BETWEEN ? AND ? GROUP BY 1 ORDER BY 1""", [school, latest - 4, latest])
    assert trend.index.tolist() == sql.year.astype(int).tolist()
    assert np.allclose(trend.estimate, sql.d) and np.allclose(trend.n, sql.n)
    assert (trend.ci_low < trend.estimate).all() and (trend.estimate < trend.ci_high).all()
    # context indices and value added come from the evidence and the typology
    ctx = dash.card_context().set_index("index")
    row = ev.context.set_index("school_id").loc[school]
    assert ctx.loc["social", "value"] == pytest.approx(row.social_index)
    assert ctx.loc["staff", "value"] == pytest.approx(row.staff_index, nan_ok=True)
    va = dash.card_value_added()
    typ = identify.typology(ev).set_index("school_id").loc[school]
    assert va["value_added"] == pytest.approx(typ.value_added) and va["type_ru"] == typ.type_ru
    side = dash.side_html.value
    assert "Контекст школы" in side and "Добавленная ценность" in side and typ.type_ru in side


def test_filters(dash, demo_store, ev, latest):
    dash.select(municipality=M, year=latest, methodology=methodology_of(M)[0], group="all", search="")
    full = dash.table()
    for group, members in idmod.GROUP_MEMBERS.items():
        dash.group.value = group
        assert set(dash.table().school_id) == set(full.loc[full.group.isin(members), "school_id"]), group
        assert [v for _, v in dash.school.options][1:] == dash.table().school_id.tolist()
    dash.group.value = "all"
    dash.search.value = "сош № 1"                                  # case-insensitive part of the name
    assert dash.table().name.tolist() == [n for n in full.name if "сош № 1" in n.casefold()]
    dash.search.value = "нет такой школы"
    assert dash.table().empty and "Нет школ, подходящих под выбранные фильтры" in dash.table_html.value
    dash.search.value = ""
    # types come from the typology; Uryupinsky has ШНСУ-type schools in the demo
    dash.select(municipality="002")
    typ = identify.typology(ev)
    shnsu = set(typ.loc[(typ.municipality == "002") & (typ.type == "shnsu"), "school_id"])
    assert shnsu and "shnsu" in [v for _, v in dash.school_type.options]
    dash.school_type.value = "shnsu"
    assert set(dash.table().school_id) == shnsu
    dash.select(group="shnsu")
    assert set(dash.table().school_id) <= shnsu
    dash.select(group="all", school_type=idmod.ALL_TYPES)
    assert len(dash.table()) == len(dash.full_table())


def test_small_schools_show_no_numbers(dash, demo_store, ev, latest):
    n = vpr_participants(demo_store, latest)
    dash.select(municipality="002", year=latest, group="all", search="", school_type=idmod.ALL_TYPES)
    table = dash.table().set_index("school_id")
    small = [s for s in table.index if n.get(s, 0) < dash.min_n]
    big = [s for s in table.index if n.get(s, 0) >= dash.min_n]
    assert small, "the demo region should have a school with fewer than 5 ВПР participants"
    assert table.loc[small, "suppressed"].all() and not table.loc[big, "suppressed"].any()
    assert table.loc[small, ["value", "ci_low", "ci_high", "probability", "participants"]].isna().all().all()
    assert np.allclose(table.loc[big, "participants"], n[big])
    html = dash.table_html.value
    assert MARK in html and "wb-hidden" in html and "менее чем по 5 участникам" in html
    school = small[0]
    dash.open_school(school)
    assert dash.card_school() == school
    card = dash.card_criteria()
    assert card.empty or card[["value", "margin", "ci_low", "ci_high", "n"]].isna().all().all()
    assert dash.card_trend().suppressed.all() and dash.card_trend().estimate.isna().all()
    assert dash.card_context().value.isna().all()
    assert np.isnan(dash.card_value_added().get("value_added", np.nan))
    assert "Пояснение скрыто" in dash.card_html.value and "все числа скрыты" in dash.side_html.value
    # a higher threshold hides more schools, the same rule
    strict = IdentificationDashboard(demo_store, min_n=25)
    strict.select(municipality="002", year=latest)
    hidden = set(strict.table().loc[lambda t: t.suppressed, "school_id"])
    assert hidden == {s for s in table.index if n.get(s, 0) < 25}


def test_own_methodology_is_what_deliverables_resolves():
    from workbench.config import load_region

    for m in load_region(idmod.REGION_FILE).municipalities:
        name, _preset, params = methodology_of(m.code)
        assert idmod.own_methodology(m.code) == (name, params), m.code
    assert idmod.own_methodology("999")[0] == methodology_of("999")[0]      # not in the region: the default


def test_own_methodology_follows_the_municipality(dash, latest):
    for code in ("002", M):
        dash.select(municipality=code, year=latest)
        assert dash.methodology.value == methodology_of(code)[0]
        assert dash.methodology.label.endswith(idmod.OWN_SUFFIX)
    dash.select(methodology="rosobrnadzor_2025")
    dash.municipality.value = "002"                                 # a new municipality: its own methodology
    assert dash.methodology.value == methodology_of("002")[0]
    with pytest.raises(ValueError, match="неизвестная методика"):
        dash.select(methodology="nope")


def test_callback_errors_become_russian_messages(demo_store, latest, monkeypatch):
    d = IdentificationDashboard(demo_store)

    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(idmod, "comparison_table", broken)
    d.select(municipality=M, year=latest, methodology="ekaterinburg")
    assert d.errors == ["Не удалось построить раздел «сравнение методик» для выбранных значений (RuntimeError). "
                        "Попробуйте другой выбор; если ошибка повторяется, сообщите администратору."]
    assert "boom" not in d.compare_html.value and "Traceback" not in d.compare_html.value
    assert not d.table().empty                                       # the other sections still work
    monkeypatch.undo()
    d.methodology.value = "bottom_percentile"
    assert d.errors == [] and d.status.value == "" and not d.comparison().empty


def test_empty_store_and_widget_labels(tmp_path, dash):
    empty = IdentificationDashboard(str(tmp_path / "nothing"))
    assert empty.errors == [] and empty.table().empty
    assert "нет ни одной завершённой загрузки" in empty.table_html.value and empty.widget is not None
    labels = [dash.municipality.description, dash.year.description, dash.methodology.description,
              dash.group.description, dash.school_type.description, dash.search.description, dash.school.description]
    assert labels == ["Муниципалитет:", "Год:", "Методика:", "Группа:", "Тип школы:", "Поиск школы:", "Карточка школы:"]
    assert idmod.TITLE in dash.header.value
    assert dash.timings["first_render"] < 60 and dash.timings["refresh"] < 10


def test_doctests():
    import doctest

    assert doctest.testmod(idmod).failed == 0


def test_number_formatting():
    assert idmod.interval_text(-12.3, -15.0, -9.6, "п.п.") == "−12,3 [−15,0; −9,6]\u00a0п.п."
    assert idmod.interval_text(0.25, 0.2, 0.31, "доля") == "25,0 [20,0; 31,0]\u00a0%"
    assert idmod.value_text(-0.05, "доля") == "−5,0\u00a0%" and idmod.value_text(1.234, "z") == "+1,23"
    # probabilities: one formatting for the dashboard, the справка and the workbook
    assert fmt.probability(0.996) == ">\u00a099\u00a0%" and fmt.probability(np.nan) == "—"


# ---------------------------------------------------------------- notebook, server, command line

def test_notebook_serve_and_cli():
    import jupytext
    import nbformat

    nb_path = NOTEBOOKS["identification"]
    assert NOTEBOOK == NOTEBOOKS["overview"] and NOTEBOOK.exists() and nb_path.exists()
    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 1 and "IdentificationDashboard()" in code[0].source
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert [c.source for c in jupytext.read(nb_path.with_suffix(".py")).cells] == [c.source for c in nb.cells]
    assert nb.metadata["kernelspec"]["name"] == "python3" and nb.metadata["title"] == idmod.TITLE
    argv, _env = voila_command(nb_path, 8999)
    assert str(nb_path) in argv and "--Voila.ip=127.0.0.1" in argv
    assert build_parser().parse_args(["dashboard"]).view == "app"
    assert build_parser().parse_args(["dashboard", "--view", "identification"]).view == "identification"
    out = subprocess.run([str(Path(__import__("sys").executable).parent / "workbench"), "dashboard", "--view", "x"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 2 and "неизвестная панель" in out.stderr and "identification" in out.stderr
    assert main(["dashboard", "--view", "nope"]) == 2


def test_importing_keeps_the_inline_backend():
    src = (ROOT / "workbench" / "dashboards" / "identification.py").read_text(encoding="utf-8")
    assert "matplotlib.use(" not in src and "MPLBACKEND" not in src


# ---------------------------------------------------------------- a real Voila and Chromium

@pytest.fixture(scope="module")
def voila_ident(demo_store, tmp_path_factory):
    """(url, log path, seconds to listen) of a real Voila serving the identification dashboard on the demo store."""
    with served(NOTEBOOKS["identification"], demo_store.root, tmp_path_factory.mktemp("voila_ident")) as v:
        yield v


def summary_of(flags: pd.DataFrame) -> str:
    """The counts sentence the table's summary line must show for these flags."""
    return (f"Школ: {len(flags)}; ШНОР: {int(flags.flagged.sum())} (из них также ШНСУ: "
            f"{int((flags.flagged & flags.shnsu).sum())}); зона риска: {int(flags.risk_zone.sum())}; "
            f"ШНСУ: {int(flags.shnsu.sum())}.")


def wait_summary(page, text: str) -> None:
    page.locator(".wb-ident-summary", has_text=text).wait_for(timeout=UPDATE_TIMEOUT * 1000)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_identification_in_a_real_browser(voila_ident, chromium, ev, latest):  # noqa: F811
    url, log, listen = voila_ident
    timings = {"voila_listen_s": round(listen, 2)}
    page, timings["first_render_s"] = open_dashboard(chromium, url, [f"text={idmod.TITLE}", ".wb-ident-table table"],
                                                     timings)
    assert page.title() == idmod.TITLE
    assert int(selected_label(page, "wb-year")) == latest

    # the municipality: Lesosibirsk, whose own methodology is chosen for it
    names = municipality_names()
    own = methodology_of(M)[0]
    start = time.monotonic()
    if not selected_label(page, "wb-municipality").startswith(M):
        choose(page, "wb-municipality", f"{M} — {names[M]}")
    wait_summary(page, summary_of(expected_flags(ev, M, own)))
    timings["municipality_update_s"] = round(time.monotonic() - start, 2)
    assert selected_label(page, "wb-methodology") == PRESETS[own].title + idmod.OWN_SUFFIX

    # another methodology, chosen in the page: the summary and the ШНОР rows follow run_methodology
    target = next(n for n in PRESETS if n != own and expected_flags(ev, M, n).flagged.any()
                  and summary_of(expected_flags(ev, M, n)) != summary_of(expected_flags(ev, M, own)))
    exp = expected_flags(ev, M, target)
    start = time.monotonic()
    choose(page, "wb-methodology", PRESETS[target].title)
    wait_summary(page, summary_of(exp))
    timings["methodology_update_s"] = round(time.monotonic() - start, 2)
    assert f"Методика: {PRESETS[target].title}" in page.locator(".wb-ident-summary").inner_text()
    start = time.monotonic()
    page.locator(".wb-group").get_by_role("button", name="ШНОР", exact=True).click()
    flagged = exp.loc[exp.flagged, "name"].tolist()
    page.locator(".wb-ident-table h3", has_text=f"показано {len(flagged)} из {len(exp)}").wait_for()
    timings["filter_update_s"] = round(time.monotonic() - start, 2)
    rows = page.locator(".wb-ident-table tbody tr")
    assert rows.count() == len(flagged)
    assert sorted(rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())) == sorted(flagged)
    cmp_text = page.locator(".wb-compare").inner_text()
    assert "Сравнение методик" in cmp_text and PRESETS[target].title in cmp_text

    # the school card of a flagged school: criteria, trend chart, context, value added
    school_id = exp.index[exp.flagged][0]
    school = exp.loc[school_id, "name"]
    crit = identify.run_methodology(ev, target).criteria.loc[lambda c: c.school_id == school_id]
    start = time.monotonic()
    choose(page, "wb-school", school)
    page.get_by_text(f"Карточка школы: {school}").wait_for()
    page.locator(".wb-trend img").wait_for()
    timings["card_open_s"] = round(time.monotonic() - start, 2)
    card = page.locator(".wb-card-title").inner_text()
    assert all(t in card for t in crit.title) and "✓" in card
    side = page.locator(".wb-card-context").inner_text()
    assert "Контекст школы" in side and "Добавленная ценность" in side

    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "Не удалось построить" not in body

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = page.locator(".wb-root").bounding_box()["height"]
    page.set_viewport_size({"width": 1280, "height": int(height) + 100})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "identification.png"), full_page=True)
    (ARTIFACTS / "identification_timings.json").write_text(json.dumps(timings, indent=1), encoding="utf-8")
    print("timings:", timings)
    page.close()


# ---------------------------------------------------------------- objectivity (Python-driven)

@pytest.fixture(scope="module")
def sig(demo_store, latest):
    """The test's own region-wide objectivity signals (the dashboard caches its own copy)."""
    from workbench.objectivity import signals

    return signals(demo_store, latest)


def test_objectivity_overview_equals_agreement_report(dash, demo_store, sig, latest):
    from workbench.agreement import ALL_SUBJECTS, agreement_report
    from workbench.objectivity import school_signals

    fired = sig.loc[sig.fired, "municipality"]
    assert len(fired), "the demo region should have fired objectivity signals"
    m = fired.iloc[0]
    dash.select(municipality=m, year=latest, group="all", search="", school_type=idmod.ALL_TYPES)
    assert dash.errors == []
    rep = agreement_report(demo_store, latest, m)
    rep = rep[rep.subject == ALL_SUBJECTS].set_index("level")
    ov = dash.objectivity_overview().set_index("level")
    assert list(ov.index) == ["муниципалитет", "регион"] and not ov.suppressed.any()
    cols = ["lowered_share", "confirmed_share", "raised_share", "diff2_share", "with_both", "without_journal"]
    for level in ov.index:
        assert np.allclose(ov.loc[level, cols].astype(float), rep.loc[level, cols].astype(float)), level
    html = dash.objectivity_html.value.replace("&nbsp;", "\u00a0")
    assert "Объективность ВПР" in html and "Без отметки по журналу" in html
    assert idmod.share_text(rep.loc["муниципалитет", "lowered_share"]) in html
    # the schools with signals: school_signals of the municipality, fired only
    exp = school_signals(sig[sig.municipality == m]).loc[lambda s: s.rows_fired > 0].set_index("school_id")
    got = dash.objectivity_schools().set_index("school_id")
    assert sorted(got.index) == sorted(exp.index) and len(got)
    assert got.signals_fired.to_dict() == exp.signals_fired.to_dict()
    assert got.rows_fired.to_dict() == exp.rows_fired.to_dict()
    shown = got[~got.suppressed]
    assert np.allclose(shown.min_q, exp.loc[shown.index, "min_q"])
    assert (shown.summary_ru == exp.loc[shown.index, "summary_ru"]).all()
    assert all(s.startswith("Признаки") for s in got.summary_ru)
    names = dash.full_table().set_index("school_id").name
    for s in got.index:
        assert names[s] in html.replace("&quot;", '"')
    assert "признаки" in html.lower() and "нарушени" in html            # «не вывод о нарушениях»
    # the region-wide signals are computed once per year
    assert dash.signals() is dash.signals()
    dash.select(municipality=M)
    assert dash.signals() is dash.results.signals(latest)          # read once: the region-wide result is shared


def test_card_objectivity_equals_signals(dash, demo_store, sig, latest):
    from workbench.agreement import ALL_SUBJECTS, agreement_report

    f = sig[sig.fired]
    m = f.municipality.iloc[0]
    dash.select(municipality=m, year=latest, group="all", search="", school_type=idmod.ALL_TYPES)
    school = f.school_id.iloc[0]
    dash.open_school(school)
    assert dash.errors == [] and dash.card_school() == school
    card = dash.card_objectivity()
    exp = f[f.school_id == school]
    key = ["signal", "component", "level", "subject", "grade"]

    def keyed(df):   # a missing subject is None when computed, NaN when read back from the shared cache
        return df.assign(**{c: df[c].astype(object).where(df[c].notna(), None) for c in key})

    card, exp = keyed(card), keyed(exp)
    assert sorted(map(str, card[key].itertuples(index=False))) == sorted(map(str, exp[key].itertuples(index=False)))
    merged = card.merge(exp, on=key, suffixes=("", "_exp"))
    assert len(merged) == len(exp) and not card.suppressed.any()
    for col in ("n", "effect", "threshold", "q_value"):
        assert np.allclose(merged[col].astype(float), merged[f"{col}_exp"].astype(float)), col
    assert (merged.description_ru == merged.description_ru_exp).all()
    html = dash.card_obj_html.value.replace("&quot;", '"').replace("&nbsp;", "\u00a0")
    assert "Объективность" in html and all(t in html for t in exp.title_ru) and all(
        d in html.replace("&#x27;", "'") for d in exp.description_ru)
    assert idmod.effect_text(exp.effect.iloc[0], exp.unit.iloc[0]) in html
    # the agreement of the school vs the municipality and the region, «все предметы»
    rep = agreement_report(demo_store, latest, m)
    rep = rep[rep.subject == ALL_SUBJECTS]
    agr = dash.card_agreement()
    assert agr.level.tolist() == ["школа", "муниципалитет", "регион"]
    row = rep[(rep.level == "школа") & (rep.school_id == school)].iloc[0]
    assert np.allclose(agr.iloc[0][["lowered_share", "confirmed_share", "raised_share"]].astype(float),
                       row[["lowered_share", "confirmed_share", "raised_share"]].astype(float))


def test_card_without_signals_and_small_school(dash, demo_store, sig, latest):
    dash.select(municipality=M, year=latest, group="all", search="", school_type=idmod.ALL_TYPES)
    ids = set(dash.full_table().loc[lambda t: ~t.suppressed, "school_id"])
    quiet = sig[sig.school_id.isin(ids)].groupby("school_id").agg(fired=("fired", "any"), tested=("tested", "any"))
    school = quiet[~quiet.fired & quiet.tested].index[0]
    dash.open_school(school)
    assert dash.errors == [] and dash.card_objectivity().empty
    assert "не выявлено" in dash.card_obj_html.value and "Признаки" in dash.card_obj_html.value
    assert not dash.card_agreement().suppressed.any()
    # a school with fewer than min_n participants: no agreement figure of the school
    dash.select(municipality="002")
    small = dash.full_table().loc[lambda t: t.suppressed, "school_id"].iloc[0]
    dash.open_school(small)
    agr = dash.card_agreement().set_index("level")
    assert agr.loc["школа", "suppressed"] and agr.loc["школа", ["lowered_share", "with_both"]].isna().all()
    card = dash.card_objectivity()
    assert card.empty or card[["n", "effect", "q_value"]].isna().all().all()
    assert MARK in dash.card_obj_html.value


def test_objectivity_helpers():
    s = pd.DataFrame({"school_id": ["a", "a", "b"], "municipality": "x", "year": 2026, "subject": [None, "math", None],
                      "grade": pd.array([pd.NA, 5, pd.NA], dtype="Int64"), "level": ["school", "cell", "school"],
                      "signal": "journal_discrepancy", "component": "lowered", "title_ru": "Т", "n": [40, 3, 30],
                      "effect": [20.0, 30.0, 1.0], "unit": "п.п.", "threshold": 10.0, "statistic": 3.0,
                      "p_value": 0.001, "q_value": [0.01, 0.02, 0.5], "fired": [True, True, False],
                      "tested": True, "sample_size": "x", "description_ru": "Признак"})
    t = idmod.card_signal_table(s, "a", 5)
    assert t.work.tolist() == ["все работы школы", "Математика, 5 кл."] and t.suppressed.tolist() == [False, True]
    assert np.isnan(t.effect.iloc[1]) and t.effect.iloc[0] == 20.0
    assert idmod.card_signal_table(s, "a", 5, hidden=True)[["n", "effect", "q_value"]].isna().all().all()
    assert idmod.card_signal_table(s, "b", 5).empty
    assert idmod.effect_text(49.71, "п.п.") == "+49,7\u00a0п.п." and idmod.effect_text(0.623, "SD") == "+0,62\u00a0SD"
