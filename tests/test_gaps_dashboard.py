"""The «Разрывы» view on the small demo region: its figures against an independent computation, the school card."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench import gaps


@pytest.fixture(scope="module")
def dash(demo_store, tmp_path_factory):
    from workbench.dashboards.gaps import GapsDashboard

    return GapsDashboard(demo_store, tmp_path_factory.mktemp("gaps_cache"))


def test_summary_is_the_corrected_gap_of_the_municipality(dash, demo_store):
    year = int(demo_store.query("SELECT max(year) AS y FROM vpr").y[0])
    code = dash.municipality.options[0][1]
    dash.select(municipality=code, year=year, subject="math")
    assert dash.errors == []
    # independently: school means of each grade from the pupils, the region's pooled within-school SD, the model
    pupils = demo_store.query("""SELECT v.municipality, v.school_id, v.grade, 100.0 * v.primary_score / s.max_score AS pct
                                 FROM vpr v JOIN mark_scales s USING (year, subject, grade)
                                 WHERE v.year = ? AND v.subject = 'math' AND NOT v.absent
                                   AND v.primary_score IS NOT NULL""", [year])
    cells = pupils.groupby(["municipality", "school_id", "grade"])["pct"].agg(["size", "mean", "var"]).reset_index()
    within = cells.assign(ss=cells["var"].fillna(0) * (cells["size"] - 1), dof=cells["size"] - 1).groupby("grade")
    sdw = np.sqrt(within["ss"].sum() / within["dof"].sum())
    mine = cells[(cells.municipality == code) & (cells["size"] >= 5)]
    per_grade = {}
    for g, c in mine.groupby("grade"):
        if len(c) >= 6:
            per_grade[g] = gaps.work_gaps(c.rename(columns={"size": "n"}).assign(sdw=sdw[g], n2=0))["p90_p10"]
    every = dash._mine.groupby("grade")["year"].nunique()
    grades = [g for g in per_grade if every.get(g, 0) == dash._mine["year"].nunique()]
    assert grades, "no grade assessed in every year"
    assert dash.summary()["gap"] == pytest.approx(np.mean([per_grade[g] for g in grades]), rel=1e-6)
    assert dash.summary()["direction"] in ("сокращается", "растёт", "значимо не меняется")
    assert "Разрыв P90 − P10" in dash.summary_html.value and dash.chart_out.outputs


def test_school_card_shows_trajectory_and_support(dash, demo_store):
    supported = demo_store.query("SELECT p.school_id, s.municipality FROM partnerships p JOIN schools s USING (school_id) "
                                 "WHERE p.kind = 'сетевая пара' ORDER BY p.start LIMIT 1")
    sid, code = supported.school_id[0], supported.municipality[0]
    dash.select(municipality=code, school=sid)
    assert dash.errors == []
    card = dash.card_html.value
    start = gaps.support_start(demo_store)[sid]
    assert start == 2024          # the demo's pairs start in September 2023: the spring 2024 ВПР
    assert f"с {int(start)} года" in card and "сетевая пара" in card and "Траектория" in card
    assert dash.card_out.outputs     # the trajectory figure
    dash.select(school="")
    assert "Выберите школу" in dash.card_html.value


def test_support_start_follows_the_spring_assessment():
    class Fake:
        def tables(self):
            return ["partnerships", "measures"]

        def query(self, sql, args=None):
            if "partnerships" in sql:
                assert args == ["сетевая пара"]       # ordinary cooperation agreements are not support
                return pd.DataFrame({"school_id": ["a", "b"], "start": pd.to_datetime(["2023-09-10", "2024-03-01"])})
            return pd.DataFrame({"school_id": ["b", "c"], "start": pd.to_datetime(["2023-11-01", "2025-06-01"])})
    # September 2023 reaches the spring 2024 ВПР, March 2024 the same spring
    assert gaps.support_start(Fake()).to_dict() == {"a": 2024, "b": 2024}
    # with measures: b's November 2023 measure is earlier than its pair; June 2025 misses the 2025 assessment
    assert gaps.support_start(Fake(), from_measures=True).to_dict() == {"a": 2024, "b": 2024, "c": 2026}
