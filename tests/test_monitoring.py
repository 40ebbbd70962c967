"""Monitoring (seed 004, DOMAIN §9): the list over the years with exits and re-entries, and the eight indicators
of one cycle computed by hand from small event tables."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.config import override
from workbench.monitoring import (cycle_window, indicator_trend, indicators, list_history, list_summary,
                                  roadmap_progress, supported_schools)
from workbench.roadmap import load_plan_params

PLAN = load_plan_params()
YEARS = [2021, 2022, 2023, 2024, 2025, 2026]


def test_exit_after_the_streak_and_reentry_counted():
    listed = pd.DataFrame({"year": [2021, 2022, 2025, 2022, 2023], "school_id": ["a", "a", "a", "b", "b"]})
    h = list_history(listed, YEARS, exit_years=2)
    a = h[h.school_id == "a"]
    assert a["state"].tolist() == ["включена", "в списке", "вне списка (наблюдение)", "вышла", "включена повторно",
                                   "вне списка (наблюдение)"]
    assert a["reentries"].tolist() == [0, 0, 0, 0, 1, 1]
    b = h[h.school_id == "b"]
    assert b["year"].tolist() == [2022, 2023, 2024, 2025, 2026]          # no rows before the first listing
    assert b["state"].tolist() == ["включена", "в списке", "вне списка (наблюдение)", "вышла", "вне списка"]
    s = list_summary(h).set_index("year")
    assert s.loc[2025].tolist() == [1, 0, 1, 1] and s.loc[2022].tolist() == [2, 1, 0, 0]


def test_exit_rule_is_a_parameter():
    listed = pd.DataFrame({"year": [2021, 2023], "school_id": ["a", "a"]})
    assert list_history(listed, YEARS[:3], exit_years=1)["state"].tolist() == ["включена", "вышла", "включена повторно"]
    assert list_history(listed, YEARS[:3], exit_years=2)["state"].tolist() == \
        ["включена", "вне списка (наблюдение)", "в списке"]


@given(st.sets(st.tuples(st.sampled_from(YEARS), st.sampled_from(["a", "b", "c"])), min_size=1),
       st.integers(1, 4))
def test_history_is_consistent_with_the_lists(pairs, exit_years):
    listed = pd.DataFrame(sorted(pairs), columns=["year", "school_id"])
    h = list_history(listed, YEARS, exit_years)
    assert set(zip(h.loc[h.listed, "year"], h.loc[h.listed, "school_id"])) == set(pairs)
    for _, g in h.groupby("school_id"):
        assert (g["state"] == "включена").sum() == 1
        assert g["reentries"].iloc[-1] == (g["state"] == "включена повторно").sum()
        assert (g["state"] == "вышла").sum() >= g["reentries"].iloc[-1]


def _events():
    courses = pd.DataFrame({"school_id": ["a", "a", "b", "c", "d"],
                            "date": pd.to_datetime(["2025-10-10", "2026-03-01", "2025-11-20", "2025-08-31",
                                                    "2026-02-02"]),
                            "kind": ["КПК", "семинар", "консультация", "семинар", "круглый стол"]})
    partnerships = pd.DataFrame({"school_id": ["a", "c", "b"], "partner_id": ["x", "y", "z"],
                                 "start": pd.to_datetime(["2024-09-01", "2025-12-01", "2025-10-01"]),
                                 "end": pd.to_datetime(["2025-06-30", None, None]),
                                 "kind": ["сетевая пара", "наставничество", "экскурсия"]})
    measures = pd.DataFrame({"school_id": ["b", "c", None, "d"], "status": ["выполнено", "выполняется", "выполнено",
                                                                            "выполнено"],
                             "deadline": pd.to_datetime(["2026-05-31", "2026-05-31", "2026-05-31", "2026-12-31"]),
                             "indicator": ["network", "targeted_help", "seminars", "targeted_help"]})
    deficits = pd.DataFrame({"school_id": ["a", "a", "a", "b", "b"],
                             "date": pd.to_datetime(["2024-11-01", "2025-11-01", "2025-11-01", "2025-12-01",
                                                     "2026-04-01"]),
                             "kind": ["диагностика"] * 5,
                             "teachers_tested": [10, 6, 6, 30, 4], "teachers_with_deficits": [6, 2, 1, 9, 1]})
    return courses, partnerships, measures, deficits


def test_count_indicators_of_one_cycle_by_hand():
    courses, partnerships, measures, _ = _events()
    got = supported_schools(2025, courses, partnerships, measures, PLAN)
    # cycle 2025/26 = 1.09.2025–31.08.2026: c's seminar on 31.08.2025 is in the previous cycle; a's pair ended
    # before it; b's «экскурсия» is not a partnership kind; b's network measure was done; c's help is not done yet;
    # d's measure is due after the cycle; the municipal seminar measure (no school) reaches no school
    assert got == {"methodical_support": {"a", "b", "d"}, "targeted_help": {"b"}, "seminars": {"a", "d"},
                   "network": {"b", "c"}}


def test_eight_indicators_by_hand():
    courses, partnerships, measures, deficits = _events()
    teachers = pd.Series({"a": 20, "b": 25, "c": 15})
    dynamics = pd.DataFrame({"school_id": ["a", "b", "c"], "beyond_interval": [True, False, None]})
    t = indicators(2025, {"a", "b", "c"}, teachers=teachers, deficits=deficits, courses=courses,
                   partnerships=partnerships, measures=measures, dynamics=dynamics, params=PLAN).set_index("indicator")
    assert t.loc["positive_results", ["value", "numerator", "denominator"]].tolist() == [50.0, 1, 2]
    # a: last diagnostics 1.11.2025 pools 12 tested (above none of the staff cap); b: last one 1.04.2026 = 4 tested
    # (the December 30 is per subject and an earlier date); c: none. 16 of 60 teachers.
    assert t.loc["deficit_diagnostics", ["numerator", "denominator"]].tolist() == [16, 60]
    assert t.loc["deficit_diagnostics", "value"] == pytest.approx(100 * 16 / 60)
    # only a has a diagnostics before the cycle: 6/10 → 3/12, lower
    assert t.loc["positive_competences", ["value", "numerator", "denominator"]].tolist() == [100.0, 1, 1]
    assert t.loc["deficit_dynamics", "value"] == pytest.approx(100 * (0.6 - 0.25) * 12 / 12)
    assert t.loc[["methodical_support", "network", "targeted_help", "seminars"], "value"].tolist() == [2, 2, 1, 1]
    assert (t.loc[["network", "seminars"], "denominator"] == 3).all()


def test_positive_results_wait_for_next_year_results():
    courses, partnerships, measures, deficits = _events()
    t = indicators(2026, {"a"}, teachers=pd.Series({"a": 20}), deficits=deficits, courses=courses,
                   partnerships=partnerships, measures=measures, dynamics=None, params=PLAN).set_index("indicator")
    assert np.isnan(t.loc["positive_results", "value"]) and t.loc["positive_results", "note"] == "нет результатов ВПР 2027 года"


def test_cycle_start_is_a_parameter():
    assert cycle_window(2025, 1) == (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31"))
    courses, partnerships, measures, _ = _events()
    calendar = override(PLAN, cycle_start_month=1)
    assert supported_schools(2025, courses, partnerships, measures, calendar)["seminars"] == {"c"}


def test_trend_and_progress():
    table = pd.DataFrame({"year": [2024, 2025, 2024, 2025], "indicator": ["network", "network", "seminars", "seminars"],
                          "value": [1.0, 3.0, 2.0, 2.0]})
    tr = indicator_trend(table)
    last = tr[tr.year == 2025].set_index("indicator")
    assert last.loc["network", ["change", "direction"]].tolist() == [2.0, "рост"]
    assert last.loc["seminars", ["change", "direction"]].tolist() == [0.0, "без изменений"]
    assert tr.loc[tr.year == 2024, "direction"].eq("").all()
    m = pd.DataFrame({"direction": ["кадровое", "кадровое", "работа с родителями"],
                      "status": ["выполнено", "выполняется", "запланировано"],
                      "deadline": pd.to_datetime(["2026-06-30", "2026-11-30", "2026-12-20"])})
    p = roadmap_progress(m, "2026-12-04").set_index("direction")
    assert p.loc["кадровое", ["items", "done", "overdue", "done_share"]].tolist() == [2, 1, 1, 0.5]
    assert p.loc["работа с родителями", "soon"] == 1 and p.loc["Всего", "items"] == 3
