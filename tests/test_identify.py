"""Identification presets on small hand-built regions (answers worked out by hand), invariance, noise, the demo.

Hand-built regions use the "point" decision so the answers follow from the arithmetic in the comments; the
uncertainty tests switch to "probability".
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import identify as I
from workbench.config import (BelowRegionalMeanRule, BottomPercentileRule, ContextAdjustedRule, LesosibirskRule,
                              RiskGroupRule, StableLowRule, Tagged, Uncertainty, load_presets)


def T(v):
    return Tagged(value=v, tag="heuristic", source="тест")


def unc(decision="point", min_n=1, p=0.8):
    return Uncertainty(decision=T(decision), min_probability=T(p), level=T(0.95), min_participants=T(min_n),
                       prior=T("npmle"), prior_min_units=T(100))


def pupils(school, year, subject, grade, pcts, marks=None, municipality="001"):
    marks = marks if marks is not None else [3] * len(pcts)
    return pd.DataFrame({"year": year, "municipality": municipality, "school_id": school, "subject": subject,
                         "grade": grade, "pct": [float(x) for x in pcts], "mark": marks})


def evidence(pup, year=2026, exams=None, outcomes=None, context=None, schools=None, excluded=None):
    cells = I.vpr_cells_from_pupils(pd.concat(pup, ignore_index=True))
    ex = I.exam_results(exams) if exams is not None else None
    results = pd.concat([I.vpr_results(cells)] + ([ex] if ex is not None else []), ignore_index=True)
    ids = sorted(set(cells["school_id"]) | (set(schools["school_id"]) if schools is not None else set()))
    if schools is None:
        mun = cells.groupby("school_id")["municipality"].first()
        schools = pd.DataFrame({"school_id": ids, "municipality": [mun[i] for i in ids], "name": [f"Школа {i}" for i in ids],
                                "school_type": "СОШ", "settlement": "город", "enrolment": 100, "small_class": False})
    if context is None:
        context = pd.DataFrame({"school_id": ids, "social_index": 0.0, "staff_index": 0.0, "resources_index": 0.0,
                                "social_index_region": 0.0})
    if outcomes is None:
        outcomes = pd.DataFrame(columns=["year", "school_id", "grade9_graduates", "continued_grade10",
                                         "olympiad_participants", "noko_satisfaction"])
    return I.Evidence(year, results, schools, outcomes, context, None if excluded is None else frozenset(excluded))


def flag(res, sid, col="flagged"):
    return bool(res.flags.set_index("school_id").loc[sid, col])


# ---------------------------------------------------------------- Kamensk-Uralsky: below the regional mean

def kamensk_region():
    # four schools × 4 pupils in rus grade 5; school D is 45 in 2024-25 and 55 in 2026
    rows = []
    for y in (2024, 2025, 2026):
        for s, v in {"A": 40, "B": 60, "C": 50, "D": 55 if y == 2026 else 45}.items():
            rows.append(pupils(s, y, "rus", 5, [v] * 4))
    return evidence(rows)


def test_kamensk_flags_below_mean_every_year_and_risk_zone():
    # region means: 2024 and 2025 (40+60+50+45)/4 = 48.75; 2026 (40+60+50+55)/4 = 51.25
    # A below 3/3 → ШНОР; D below in 2024, 2025 → зона риска (2 of 3); C below only in 2026 → nothing
    p = BelowRegionalMeanRule(years=T(3), subjects=T(["rus"]), risk_zone_years=T(2), min_participants=T(1))
    res = I.rule_below_regional_mean(kamensk_region(), p, unc(), "kamensk_uralsky")
    assert [flag(res, s) for s in "ABCD"] == [True, False, False, False]
    assert [flag(res, s, "risk_zone") for s in "ABCD"] == [False, False, False, True]
    c = res.criteria.set_index("school_id").loc["A"]
    assert c["value"] == pytest.approx(40 - 51.25) and c["threshold"] == 0 and c["years_held"] == "2024, 2025, 2026"
    assert res.criteria.set_index("school_id").loc["C", "years_held"] == "2026"
    assert "Выделена" in res.flags.set_index("school_id").loc["A", "explanation"]
    assert "Зона риска" in res.flags.set_index("school_id").loc["D", "explanation"]


# ---------------------------------------------------------------- bottom-percentile persistence

def decile_region():
    # ten schools, 5 pupils each, rus and math alike: school i scores 30 + 5i; s1 jumps to 90 in 2025 and 2026
    rows = []
    for y in (2024, 2025, 2026):
        for i in range(10):
            v = 90 if (i == 1 and y >= 2025) else 30 + 5 * i
            for subj in ("rus", "math"):
                rows.append(pupils(f"s{i}", y, subj, 5, [v] * 5))
    return rows


def test_bottom_percentile_years_required_and_exclusion():
    # bottom 20 % of 10 schools = 2 per year: 2024 {s0, s1}; 2025 and 2026 {s0, s2}
    p = BottomPercentileRule(percentile=T(0.2), years=T(3), years_required=T(2), subjects=T(["rus", "math"]),
                             min_participants=T(1), exclude_objectivity_flags=T(True), reference=T("region"))
    res = I.rule_bottom_percentile(evidence(decile_region()), p, unc(), "bottom_percentile")
    assert sorted(res.flags.loc[res.flags.flagged, "school_id"]) == ["s0", "s2"]
    held = res.criteria.set_index("school_id")["years_held"]
    assert held["s0"] == "2024, 2025, 2026" and held["s1"] == "2024" and held["s2"] == "2025, 2026"
    assert res.notes  # no objectivity checks passed: the report says the exclusion was not applied
    excl = I.rule_bottom_percentile(evidence(decile_region(), excluded={"s0"}), p, unc(), "bottom_percentile")
    assert sorted(excl.flags.loc[excl.flags.flagged, "school_id"]) == ["s2"]
    assert "необъективности" in excl.flags.set_index("school_id").loc["s0", "explanation"]


def test_min_participants_excludes_small_schools():
    rows = decile_region() + [pupils("tiny", y, subj, 5, [5] * 3) for y in (2024, 2025, 2026) for subj in ("rus", "math")]
    p = BottomPercentileRule(percentile=T(0.2), years=T(3), years_required=T(2), subjects=T(["rus", "math"]),
                             min_participants=T(4), exclude_objectivity_flags=T(False), reference=T("region"))
    res = I.rule_bottom_percentile(evidence(rows), p, unc(), "bottom_percentile")
    assert not flag(res, "tiny")
    assert "Нет данных" in res.flags.set_index("school_id").loc["tiny", "explanation"]


# ---------------------------------------------------------------- Rosobrnadzor 2025 risk group

def test_rosobrnadzor_two_assessments_and_two_years():
    two = lambda k, n=10: [2] * k + [4] * (n - k)   # noqa: E731  marks with k «2» out of n
    rows = []
    for s, spec in {
        # X: 2026 rus 5 and math 5 at 50 % «2»; 2025 rus 5 at 50 % → flagged
        "X": {2026: {("rus", 5): 5, ("math", 5): 5}, 2025: {("rus", 5): 5, ("math", 5): 0}},
        # Y: two assessments in 2026 but nothing in 2025 → not flagged
        "Y": {2026: {("rus", 5): 5, ("math", 5): 5}, 2025: {("rus", 5): 0, ("math", 5): 0}},
        # Z: one assessment in both years → not flagged (needs two this year)
        "Z": {2026: {("rus", 5): 6, ("math", 5): 1}, 2025: {("rus", 5): 6, ("math", 5): 1}},
        # W: exactly 30 % («не менее») on both, both years → flagged
        "W": {2026: {("rus", 5): 3, ("math", 5): 3}, 2025: {("rus", 5): 3, ("math", 5): 3}},
    }.items():
        for y, works in spec.items():
            for (subj, g), k in works.items():
                rows.append(pupils(s, y, subj, g, [50] * 10, two(k)))
    p = RiskGroupRule(share_mark2_min=T(0.30), assessments_min=T(2), consecutive_years=T(2))
    res = I.rule_mark2_risk_group(evidence(rows), p, unc(min_n=10), "rosobrnadzor_2025")
    assert [flag(res, s) for s in "XYZW"] == [True, False, False, True]
    crit = res.criteria.set_index(["school_id", "criterion"])
    assert crit.loc[("X", "share2_rus_5"), "value"] == pytest.approx(0.5)
    assert crit.loc[("X", "share2_rus_5"), "years_held"] == "2025, 2026"
    assert res.flags.set_index("school_id").loc["X", "criteria_fired"] == 2


# ---------------------------------------------------------------- Lesosibirsk multi-criteria

def test_lesosibirsk_seven_indicators_by_hand():
    rows = []
    for y in (2024, 2025, 2026):
        # L: rus 20 %, marks 2,2,3,4 (4–5 share 1/4, 3–5 share 2/4); others 60 %, marks 3,4,4,5 (3/4, 4/4)
        rows.append(pupils("L", y, "rus", 5, [15, 25] * 2, [2, 2, 3, 4]))
        for s in ("M", "N", "O"):
            rows.append(pupils(s, y, "rus", 5, [55, 65] * 2, [3, 4, 4, 5]))
    outcomes = pd.DataFrame({"year": 2026, "school_id": ["L", "M", "N", "O"], "grade9_graduates": [20, 20, 20, 20],
                             "continued_grade10": [10, 15, 16, 17], "olympiad_participants": [0, 5, 5, 5],
                             "noko_satisfaction": [0.30, 0.8, 0.8, 0.8]})
    p = LesosibirskRule(years=T(3), subjects=T(["rus"]), bottom_share=T(0.25), continue_grade10_min=T(0.6),
                        below_region_points=T(20), olympiad_share_max=T(0.005), noko_satisfaction_max=T(0.4),
                        quality_deviation=T(0.10), success_deviation=T(0.05), criteria_required=T(3),
                        index_bottom_share=T(0.25), reference=T("municipality"))
    ctx = pd.DataFrame({"school_id": ["L", "M", "N", "O"], "social_index": [-1.0, 0.5, 0.2, 0.3],
                        "staff_index": [0.0, 0.1, 0.2, -0.5], "resources_index": [0.1, 0.2, 0.3, 0.4],
                        "social_index_region": [-1.0, 0.5, 0.2, 0.3]})
    res = I.rule_multi_criteria(evidence(rows, outcomes=outcomes, context=ctx), p, unc(), "lesosibirsk")
    c = res.criteria[res.criteria.school_id == "L"].set_index("criterion")
    # region mean 2024–26: (20 + 3·60)/4 = 50 → L is 30 points below (> 20): criterion 3
    assert c.loc["below_points", "value"] == pytest.approx(-30) and c.loc["below_points", "fired"]
    # continuing: 10/20 = 0.5 < 0.6, margin −0.1
    assert c.loc["continue10", "value"] == pytest.approx(0.5) and c.loc["continue10", "margin"] == pytest.approx(-0.1)
    # olympiad 0 participants (one year reported, brought to three: still 0) ≤ 0.5 %; НОКО 0.30 ≤ 0.40
    assert c.loc["olympiad", "fired"] and c.loc["noko", "fired"]
    # quality: municipal share of 4–5 in 2026 = (1 + 3·3)/16 = 10/16; L 1/4 → −0.375 ≤ −0.10
    assert c.loc["quality", "value"] == pytest.approx(0.25 - 10 / 16) and c.loc["quality", "fired"]
    # success: L has «3», «4» = 2/4; municipal (2 + 3·4)/16 = 14/16 → 0.5 − 0.875 = −0.375 ≤ −0.05
    assert c.loc["success", "value"] == pytest.approx(0.5 - 14 / 16) and c.loc["success", "fired"]
    assert c.loc["bottom_all", "fired"]   # the lowest of 4 schools = bottom 25 %
    assert int(c.loc[["bottom_all", "continue10", "below_points", "olympiad", "noko", "quality", "success"], "fired"].sum()) == 7
    f = res.flags.set_index("school_id")
    assert f.loc["L", "flagged"] and f.loc["L", "shnsu"] and f.loc["L", "group"] == "ШНОР и ШНСУ"
    assert not f.loc["M", "flagged"] and f.loc["M", "criteria_fired"] == 0   # M: 15/20 = 0.75 ≥ 0.6
    assert "7 из 7" in f.loc["L", "explanation"]
    # staff deficit reported (O has the lowest staff index) but not a flag
    assert bool(res.criteria.set_index(["school_id", "criterion"]).loc[("O", "staff_index"), "fired"])



def test_lesosibirsk_counts_only_the_criteria_it_could_assess():
    """A school without outcome data (grade 9 graduates, olympiads, НОКО) can be assessed on 4 of the 7 criteria:
    its explanation says «из 4 оценённых» and names what is missing, never «из 7»."""
    rows = []
    for y in (2024, 2025, 2026):
        rows.append(pupils("L", y, "rus", 5, [15, 25] * 2, [2, 2, 3, 4]))
        for s in ("M", "N", "O"):
            rows.append(pupils(s, y, "rus", 5, [55, 65] * 2, [3, 4, 4, 5]))
    outcomes = pd.DataFrame({"year": 2026, "school_id": ["M", "N", "O"], "grade9_graduates": 20,
                             "continued_grade10": [15, 16, 17], "olympiad_participants": 5, "noko_satisfaction": 0.8})
    p = LesosibirskRule(years=T(3), subjects=T(["rus"]), bottom_share=T(0.25), continue_grade10_min=T(0.6),
                        below_region_points=T(20), olympiad_share_max=T(0.005), noko_satisfaction_max=T(0.4),
                        quality_deviation=T(0.10), success_deviation=T(0.05), criteria_required=T(3),
                        index_bottom_share=T(0.25), reference=T("municipality"))
    res = I.rule_multi_criteria(evidence(rows, outcomes=outcomes), p, unc(), "lesosibirsk")
    f = res.flags.set_index("school_id")
    # L: bottom 25 %, 30 points below the region, quality and success below the municipality: 4 of the 4 assessed
    assert f.loc["L", "flagged"] and f.loc["L", "criteria_fired"] == 4
    text = f.loc["L", "explanation"]
    assert "4 из 4 оценённых" in text and "из 7" not in text.split("(")[0], text
    assert "нет данных" in text and "НОКО" in text, text
    assert "0 из 7" in f.loc["M", "explanation"] or "ни один из 7" in f.loc["M", "explanation"]


def test_lesosibirsk_olympiad_share_is_over_the_three_years_as_the_seed_writes():
    """Seed 003 §2.1 п.4: «0,5 % и ниже учащихся за последние 3 года, принимавших участие в олимпиадах» is the
    share over the three years together, not per year: 7 participants in 2024–26 of 500 pupils is 1,4 % (not
    0,47 %) and does not fire. A school with fewer years reported is brought to three years and told so."""
    rows = [pupils(s, y, "rus", 5, [60] * 4) for y in (2024, 2025, 2026) for s in ("P", "Q", "R", "S")]
    outcomes = pd.DataFrame({"year": [2024, 2025, 2026] * 3 + [2026],
                             "school_id": ["P"] * 3 + ["Q"] * 3 + ["S"] * 3 + ["R"],
                             "grade9_graduates": 20, "continued_grade10": 15,
                             "olympiad_participants": [2, 2, 3, 1, 0, 1, 30, 30, 30, 1], "noko_satisfaction": 0.8})
    schools = pd.DataFrame({"school_id": ["P", "Q", "R", "S"], "municipality": "001", "name": ["P", "Q", "R", "S"],
                            "school_type": "СОШ", "settlement": "город", "enrolment": 500, "small_class": False})
    p = LesosibirskRule(years=T(3), subjects=T(["rus"]), bottom_share=T(0.25), continue_grade10_min=T(0.6),
                        below_region_points=T(20), olympiad_share_max=T(0.005), noko_satisfaction_max=T(0.4),
                        quality_deviation=T(0.10), success_deviation=T(0.05), criteria_required=T(3),
                        index_bottom_share=T(0.25), reference=T("municipality"))
    res = I.rule_multi_criteria(evidence(rows, outcomes=outcomes, schools=schools), p, unc(), "lesosibirsk")
    c = res.criteria[res.criteria.criterion == "olympiad"].set_index("school_id")
    assert c.loc["P", "value"] == pytest.approx(7 / 500) and not c.loc["P", "fired"]        # 1,4 % > 0,5 %
    assert c.loc["Q", "value"] == pytest.approx(2 / 500) and c.loc["Q", "fired"]            # 0,4 % ≤ 0,5 %
    assert c.loc["R", "value"] == pytest.approx(1 * 3 / 500) and not c.loc["R", "fired"]    # 1 year → ×3 = 0,6 %
    assert "за 1 год из 3" in c.loc["R", "note"] and "за 3 года" in c.loc["P", "note"]


# ---------------------------------------------------------------- Ekaterinburg: stable low on all levels

def test_ekaterinburg_levels_deprivation_and_polarised_intake():
    rows = []
    for y in (2024, 2025, 2026):
        for subj in ("rus", "math"):
            rows.append(pupils("P", y, subj, 4, [5, 15] * 2))                       # НОШ, lowest every year
            rows.append(pupils("Q", y, subj, 4, [45, 55] * 2))
            rows.append(pupils("Q", y, subj, 5, [15, 25] * 2))                       # low on ООО only
            rows.append(pupils("R", y, subj, 4, [55, 65] * 2))
            rows.append(pupils("R", y, subj, 5, [55, 65] * 2, [2, 2, 5, 5]))         # polarised marks
            rows.append(pupils("S", y, subj, 4, [65, 75] * 2))
            rows.append(pupils("S", y, subj, 5, [65, 75] * 2))
    ctx = pd.DataFrame({"school_id": list("PQRS"), "social_index": [0.0, -2.0, 0.5, 1.0], "staff_index": 0.0,
                        "resources_index": 0.0, "social_index_region": [0.0, -2.0, 0.5, 1.0]})
    p = StableLowRule(years=T(3), bottom_share=T(0.34), levels_required=T(3), deprivation_bottom_share=T(0.25),
                      polarised_low_share=T(0.2), polarised_high_share=T(0.2), reference=T("region"),
                      subjects=T(["rus", "math"]), min_years_assessed=T(2))
    res = I.rule_stable_low_deprivation(evidence(rows, context=ctx), p, unc(), "ekaterinburg")
    f = res.flags.set_index("school_id")
    # НОО: 4 schools, bottom 34 % → 1 school = P every year; P has one level → 1 of 1 → flagged
    # ООО: 3 schools (Q, R, S), 1 at the bottom = Q every year; Q has two levels, low on one → not flagged
    assert f.loc["P", "flagged"] and not f.loc["Q", "flagged"] and not f.loc["S", "flagged"]
    assert f.loc["Q", "shnsu"] and f.loc["Q", "group"] == "ШНСУ"
    crit = res.criteria.set_index(["school_id", "criterion"])
    assert crit.loc[("R", "polarised"), "fired"] and not crit.loc[("S", "polarised"), "fired"]
    assert "Поляризованный" in f.loc["R", "explanation"]


def test_ekaterinburg_subjects_are_a_parameter():
    """Seed 000 names no subjects: they are a parameter (default Russian and mathematics), not fixed in code.
    P is the lowest school in mathematics only; judged on Russian alone it is not in the bottom quarter."""
    rows = []
    for y in (2024, 2025, 2026):
        for s, rus, math in (("P", 50, 5), ("Q", 40, 50), ("R", 60, 60), ("S", 70, 70)):
            rows.append(pupils(s, y, "rus", 4, [rus - 5, rus + 5] * 2))
            rows.append(pupils(s, y, "math", 4, [math - 5, math + 5] * 2))
    kw = dict(years=T(3), bottom_share=T(0.25), levels_required=T(3), deprivation_bottom_share=T(0.25),
              polarised_low_share=T(0.2), polarised_high_share=T(0.2), reference=T("region"), min_years_assessed=T(2))
    both = I.rule_stable_low_deprivation(evidence(rows), StableLowRule(subjects=T(["rus", "math"]), **kw), unc(), "e")
    rus = I.rule_stable_low_deprivation(evidence(rows), StableLowRule(subjects=T(["rus"]), **kw), unc(), "e")
    assert set(both.flags.loc[both.flags["flagged"], "school_id"]) == {"P"}
    assert set(rus.flags.loc[rus.flags["flagged"], "school_id"]) == {"Q"}
    assert load_presets()["ekaterinburg"].params.subjects.value == ["rus", "math"]


def test_ekaterinburg_minimum_of_assessed_years_is_a_parameter():
    """«Стабильно» needs at least ``min_years_assessed`` assessed years (heuristic, default 2): P, lowest but with
    results in only two of the three years, is stable under 2 and not under 3."""
    rows = []
    for y in (2024, 2025, 2026):
        for s, pct in (("P", 10), ("Q", 40), ("R", 60), ("S", 70)):
            if s == "P" and y == 2024:
                continue
            for subj in ("rus", "math"):
                rows.append(pupils(s, y, subj, 4, [pct - 5, pct + 5] * 2))
    kw = dict(years=T(3), bottom_share=T(0.25), levels_required=T(3), deprivation_bottom_share=T(0.25),
              polarised_low_share=T(0.2), polarised_high_share=T(0.2), reference=T("region"),
              subjects=T(["rus", "math"]))
    two = I.rule_stable_low_deprivation(evidence(rows), StableLowRule(min_years_assessed=T(2), **kw), unc(), "e")
    three = I.rule_stable_low_deprivation(evidence(rows), StableLowRule(min_years_assessed=T(3), **kw), unc(), "e")
    assert set(two.flags.loc[two.flags["flagged"], "school_id"]) == {"P"}
    assert not three.flags["flagged"].any()
    assert load_presets()["ekaterinburg"].params.min_years_assessed.value == 2


# ---------------------------------------------------------------- context-adjusted (St Petersburg style)

def test_context_adjusted_ranks_within_clusters():
    # eight schools; two clusters by ИСБШ: {a..d} low context, {e..h} high context; 5 pupils each
    res_pct = {"a": 20, "b": 25, "c": 30, "d": 35, "e": 40, "f": 60, "g": 70, "h": 80}
    rows = [pupils(s, y, subj, 5, [v] * 5) for s, v in res_pct.items() for y in (2024, 2025, 2026) for subj in ("rus", "math")]
    ctx = pd.DataFrame({"school_id": list(res_pct), "social_index": 0.0, "staff_index": 0.0, "resources_index": 0.0,
                        "social_index_region": [-2, -1.5, -1, -0.5, 0.5, 1, 1.5, 2]})
    p = ContextAdjustedRule(clusters=T(2), bottom_share=T(0.25), years=T(3), subjects=T(["rus", "math"]))
    res = I.rule_context_adjusted(evidence(rows, context=ctx), p, unc(), "context_adjusted")
    # bottom 25 % of 4 = 1 per cluster: a (20) among the low-context schools, e (40) among the high-context ones;
    # b (25) is lower than e in absolute terms but not in its cluster
    assert sorted(res.flags.loc[res.flags.flagged, "school_id"]) == ["a", "e"]
    assert "кластер 2 из 2" in res.flags.set_index("school_id").loc["e", "explanation"]


# ---------------------------------------------------------------- properties

def test_flags_do_not_depend_on_row_order():
    rows = decile_region()
    ev = evidence(rows)
    rng = np.random.default_rng(3)
    shuffled = I.Evidence(ev.year, ev.results.sample(frac=1, random_state=4).reset_index(drop=True),
                          ev.schools.iloc[rng.permutation(len(ev.schools))].reset_index(drop=True),
                          ev.outcomes, ev.context.sample(frac=1, random_state=5).reset_index(drop=True))
    for name, preset in load_presets().items():
        a = I.RULES[preset.params.rule](ev, preset.params, unc("probability"), name).flags
        b = I.RULES[preset.params.rule](shuffled, preset.params, unc("probability"), name).flags
        key = ["school_id"]
        pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True),
                                      check_dtype=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(3, 200), min_size=25, max_size=40), seed=st.integers(0, 10_000))
def test_small_schools_are_not_flagged_by_noise(sizes, seed):
    """No real differences between schools: with the probability rule no school of ≤ 8 pupils is flagged (and
    hardly any other), although the point rule on raw means names the bottom 10 % whatever the sizes."""
    rng = np.random.default_rng(seed)
    rows = [pupils(f"s{i:02d}", y, subj, 5, rng.normal(50, 15, n).clip(0, 100))
            for i, n in enumerate(sizes) for y in (2024, 2025, 2026) for subj in ("rus", "math")]
    ev = evidence(rows)
    p = BottomPercentileRule(percentile=T(0.10), years=T(3), years_required=T(2), subjects=T(["rus", "math"]),
                             min_participants=T(1), exclude_objectivity_flags=T(False), reference=T("region"))
    res = I.rule_bottom_percentile(ev, p, unc("probability"), "bottom_percentile")
    small = {f"s{i:02d}" for i, n in enumerate(sizes) if n <= 8}
    flagged = set(res.flags.loc[res.flags.flagged, "school_id"])
    assert not (flagged & small)
    assert len(flagged) <= max(1, len(sizes) // 20)


def test_probability_decision_keeps_a_clearly_low_small_school_out_but_a_large_one_in():
    # both 25 points below the others; 4 pupils cannot carry the flag, 80 pupils can
    rows = []
    rng = np.random.default_rng(1)
    for y in (2024, 2025, 2026):
        for i in range(20):
            rows.append(pupils(f"o{i:02d}", y, "rus", 5, rng.normal(55, 15, 40).clip(0, 100)))
        rows.append(pupils("big", y, "rus", 5, rng.normal(30, 15, 80).clip(0, 100)))
        rows.append(pupils("small", y, "rus", 5, rng.normal(30, 15, 4).clip(0, 100)))
    p = BelowRegionalMeanRule(years=T(3), subjects=T(["rus"]), risk_zone_years=T(2), min_participants=T(1))
    res = I.rule_below_regional_mean(evidence(rows), p, unc("probability"), "kamensk_uralsky")
    f = res.flags.set_index("school_id")
    assert f.loc["big", "flagged"]
    crit = res.criteria.set_index("school_id")
    lo, hi = crit.loc["small", "ci_low"], crit.loc["small", "ci_high"]
    assert hi - lo > 3 * (crit.loc["big", "ci_high"] - crit.loc["big", "ci_low"])  # interval shown is wide


# ---------------------------------------------------------------- comparison and typology

def test_compare_counts_and_jaccard():
    def res(name, flagged):
        ids = list("abcd")
        flags = pd.DataFrame({"school_id": ids, "municipality": "001", "name": ids, "methodology": name,
                              "flagged": [s in flagged for s in ids], "explanation": [f"{name}:{s}" for s in ids]})
        return I.Identification(name, name, pd.DataFrame(), flags)
    out = I.compare({"m1": res("m1", "ab"), "m2": res("m2", "bc")})
    o = out["overlap"].iloc[0]
    assert (o.both, o.only_first, o.only_second) == (1, 1, 1) and o.jaccard == pytest.approx(1 / 3)
    assert sorted(out["disagreements"]["school_id"]) == ["a", "c"]
    assert out["disagreements"].set_index("school_id").loc["a", "m2"] == "m2:a"


def test_typology_types_by_hand():
    # results follow 10 × ИСБШ except: r (low context, far above its line) and n (ordinary context, far below)
    idx = {f"x{i}": v for i, v in enumerate(np.linspace(-1, 1, 16))}
    res_pct = {s: 50 + 10 * v for s, v in idx.items()}
    idx |= {"r": -1.5, "n": 0.2, "d": -1.6}
    res_pct |= {"r": 60.0, "n": 20.0, "d": 25.0}
    rows = [pupils(s, y, subj, 5, [v] * 30) for s, v in res_pct.items() for y in (2024, 2025, 2026) for subj in ("rus", "math")]
    ctx = pd.DataFrame({"school_id": list(idx), "social_index": 0.0, "staff_index": 0.0, "resources_index": 0.0,
                        "social_index_region": list(idx.values())})
    t = I.typology(evidence(rows, context=ctx), unc=unc("point")).set_index("school_id")
    assert t.loc["r", "type"] == "resilient" and t.loc["n", "type"] == "shnor" and t.loc["d", "type"] == "shnsu"
    assert t.loc["r", "va_low"] > 0 and t.loc["n", "va_high"] < 0


def test_value_added_shrinks_toward_the_context_line_not_toward_a_weighted_mean():
    # same context everywhere; one large school (300 pupils) far above, twelve small ones (10 pupils, pupil SD 20)
    # around 50. OLS residuals average 0, but weighted by precision their mean is the large school's +17: shrinking
    # toward it turned a small school below the line (residual −1.7) into a positive value added.
    rng = np.random.default_rng(2)
    rows = [pupils("big", y, subj, 5, list(70 + rng.normal(0, 20, 300))) for y in (2024, 2025, 2026) for subj in ("rus", "math")]
    means = {f"s{i:02d}": 48 + i * 0.5 for i in range(12)}
    rows += [pupils(s, y, subj, 5, list(m + np.array([-20, 20] * 5))) for s, m in means.items()
             for y in (2024, 2025, 2026) for subj in ("rus", "math")]
    ids = ["big"] + list(means)
    ctx = pd.DataFrame({"school_id": ids, "social_index": 0.0, "staff_index": 0.0, "resources_index": 0.0,
                        "social_index_region": [0.0] + [(-0.5, 0.5)[i % 2] for i in range(12)]})
    t = I.typology(evidence(rows, context=ctx), unc=unc("point")).set_index("school_id")
    line = t["line_intercept"] + t["line_slope"] * t["social_index"]
    below = t.index[t["result"] < line - 1]
    assert len(below) >= 3
    assert (t.loc[below, "value_added"] < 0).all(), t.loc[below, ["result", "value_added"]]
    # shrinkage keeps the sign and pulls toward 0, never past it
    assert (np.sign(t["value_added"]) == np.sign(t["result"] - line)).all()
    assert (t["value_added"].abs() <= (t["result"] - line).abs() + 1e-9).all()


# ---------------------------------------------------------------- the demo region: planted schools are found

@pytest.fixture(scope="module")
def demo_runs(demo_import, demo_store):
    root = demo_import[0]
    ev = I.load_evidence(demo_store, 2026)
    truth = pd.read_csv(root / "demo" / "truth" / "schools.csv", dtype={"school_id": str, "municipality": str})
    return I.run_all(ev), I.typology(ev), truth


def recovery(flagged: set, planted: set, low: set) -> tuple[float, float]:
    """(precision, recall): recall of the planted schools; precision counts flags on planted persistently low or
    deprived schools as right (both have truly low results; the typology separates them)."""
    return (len(flagged & low) / len(flagged) if flagged else 1.0), len(flagged & planted) / len(planted)


def test_demo_persistently_low_schools_are_recovered(demo_runs):
    runs, typ, truth = demo_runs
    planted = set(truth.loc[truth.persistently_low, "school_id"])
    low = planted | set(truth.loc[truth.deprived, "school_id"])
    assert len(planted) >= 3
    def measured(column):
        return {m: recovery(set(r.flags.loc[r.flags[column], "school_id"]), planted, low) for m, r in runs.items()}
    # bars a little under what was measured on this demo (precision, recall). The rules as their sources write
    # them (point decision) are loose: lesosibirsk 0.43/0.75, kamensk_uralsky 0.38/0.75 (any result below the
    # mean three years running); beside them the uncertainty-adjusted view (one model per window, so the years
    # inform each other, and a small school is judged on its whole window): lesosibirsk 0.75/0.75,
    # kamensk_uralsky 0.24/0.75 (a school truly a little below the mean is now recognised every year),
    # rosobrnadzor_2025 0.67/0.75 (its rule finds none here), ekaterinburg 1.00/0.25, context_adjusted (its own
    # decision) 0.67/0.50; scale-1 figures are in the issue notes
    bars = {"flagged": {"lesosibirsk": (0.35, 0.5), "kamensk_uralsky": (0.3, 0.5), "context_adjusted": (0.6, 0.5)},
            "flagged_uncertainty": {"lesosibirsk": (0.6, 0.5), "kamensk_uralsky": (0.2, 0.5),
                                    "rosobrnadzor_2025": (0.5, 0.5), "context_adjusted": (0.6, 0.5)}}
    for column, by in bars.items():
        got = measured(column)
        for m, (p_min, r_min) in by.items():
            precision, recall = got[m]
            assert precision >= p_min and recall >= r_min, (column, m, got[m])
    # results-based rules cannot see a weak school in a well-off intake (edu004006 here: results at the region
    # mean), value added can: every planted school has an interval of value added wholly below zero
    assert (typ.set_index("school_id").loc[sorted(planted), "va_high"] < 0).all()


def test_demo_resilient_and_deprived_schools_are_typed(demo_runs):
    runs, typ, truth = demo_runs
    resilient = set(truth.loc[truth.resilient, "school_id"])
    found = set(typ.loc[typ.type == "resilient", "school_id"])
    assert len(found & resilient) / len(resilient) >= 0.6 and len(found & resilient) / max(len(found), 1) >= 0.6
    deprived = set(truth.loc[truth.deprived, "school_id"])
    shnsu = set(runs["lesosibirsk"].flags.loc[runs["lesosibirsk"].flags.shnsu, "school_id"])
    assert deprived <= shnsu


def test_bottom_share_by_the_point_rule_never_takes_a_tie_beyond_the_share():
    """«Нижние 25 %» with ties: every school the same flags nobody; a tie across the boundary is left out."""
    same = pd.DataFrame({"estimate": [50.0] * 8, "se": [2.0] * 8, "n": [30] * 8})
    assert not I.judge(same, unc("point"), share=0.25)["fired"].any()
    tied = pd.DataFrame({"estimate": [10.0, 20.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0], "se": 2.0, "n": 30})
    v = I.judge(tied, unc("point"), share=0.25)
    assert v["fired"].tolist() == [True] + [False] * 7 and v["threshold"].iloc[0] == 10.0
    fits = tied.assign(estimate=[10.0, 10.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0])
    assert I.judge(fits, unc("point"), share=0.25)["fired"].tolist() == [True, True] + [False] * 6


# ---------------------------------------------------------------- seed/official rules as written (issue 11 §1)

def _ordinary(y, subj, k2, n=25, pct=None, sid="o", municipality="001"):
    """n pupils, k2 of them at «2», the others at «3»/«4»; percent scores spread around ``pct``."""
    pct = pct if pct is not None else 50.0
    marks = [2] * k2 + [3, 4] * ((n - k2) // 2) + [3] * ((n - k2) % 2)
    scores = [pct + d for d in np.linspace(-20, 20, n)]
    return pupils(sid, y, subj, 5, scores, marks, municipality)


def official_region():
    """Ten ordinary schools (25 pupils per work, 3 «2» = 12 %) and R: 9 of 25 at «2» (36 %) on rus 5 and math 5 in
    2025 and 2026 — the Rosobrnadzor rule as written (≥ 30 % on ≥ 2 works, the same work two years running)."""
    rows = []
    for y in (2024, 2025, 2026):
        for subj in ("rus", "math"):
            for i in range(10):
                rows.append(_ordinary(y, subj, 3, sid=f"o{i}"))
            rows.append(_ordinary(y, subj, 9 if y >= 2025 else 3, sid="R"))
    return rows


def test_official_rosobrnadzor_rule_is_applied_as_written_by_default():
    """Default parameters (uncertainty decision «probability» in defaults.yaml): the official preset still applies
    its rule to the point figures; the uncertainty-adjusted view is shown beside it, never instead of it."""
    res = I.run_methodology(evidence(official_region()), "rosobrnadzor_2025")
    f = res.flags.set_index("school_id")
    assert f.loc["R", "flagged"] and f.loc["R", "flagged_rule"] and f.loc["R", "decision"] == "point"
    assert not f.loc["R", "flagged_uncertainty"]    # 36 % of 25 pupils is not surely ≥ 30 %
    # the interval shown beside a point-rule flag is that of the observed figure the rule read (36 % ± 1.96 · se at
    # the region's 14 % share: ± 13.6 p.p.), never the shrunk one, which would not contain 36 %
    se = np.sqrt(0.1418 * (1 - 0.1418) / 25)
    assert f.loc["R", "ci_low"] == pytest.approx(0.36 - 1.96 * se, abs=2e-3)
    assert f.loc["R", "ci_high"] == pytest.approx(0.36 + 1.96 * se, abs=2e-3)
    assert "с учётом неопределённости" in f.loc["R", "explanation"]
    assert not f.loc[[f"o{i}" for i in range(10)], "flagged"].any()


def test_seed_kamensk_rule_flags_a_school_below_the_mean_on_every_work_every_year():
    """K is 3 points below the others on rus 5 and math 5 in each of three years: below the regional mean on all
    six works, so ШНОР under seed 004 as written, not only «зона риска»."""
    rows = []
    for y in (2024, 2025, 2026):
        for subj in ("rus", "math"):
            for i in range(10):
                rows.append(_ordinary(y, subj, 3, sid=f"o{i}"))
            rows.append(_ordinary(y, subj, 3, pct=47.0, sid="K"))
    res = I.run_methodology(evidence(rows), "kamensk_uralsky")
    f = res.flags.set_index("school_id")
    assert f.loc["K", "flagged"] and f.loc["K", "group"] == "ШНОР" and not f.loc["K", "risk_zone"]
    assert not f.loc[[f"o{i}" for i in range(10)], "flagged"].any()


def test_evidence_accumulates_over_the_window_under_the_uncertainty_decision():
    """A school 2 points below the region mean in each of three years, se 2 each year: one shrinkage per cell
    gives P(below) ≈ 0.77 < 0.8 every year, so «below the mean three years running» was never sure. One model
    per window (school effect + school × year) lets the years inform each other: P(below in all three) ≥ 0.8."""
    rng = np.random.default_rng(1)
    u = rng.normal(0, 2.0, 60)
    rows = [{"school_id": f"s{i:02d}", "year": y, "estimate": u[i] + rng.normal(0, 0.7) + rng.normal(0, 2.0), "se": 2.0,
             "n": 30} for i in range(60) for y in (2024, 2025, 2026)]
    rows += [{"school_id": "W", "year": y, "estimate": -2.0, "se": 2.0, "n": 30} for y in (2024, 2025, 2026)]
    est = pd.DataFrame(rows)
    u_ = unc("probability")
    cell = I._summarise_years(pd.concat([est, I.judge(est, u_, threshold=0.0)], axis=1), ["school_id"]).set_index("school_id")
    window = I._summarise_years(pd.concat([est, I.judge(est, u_, threshold=0.0, unit=est["school_id"])], axis=1),
                                ["school_id"]).set_index("school_id")
    assert cell.loc["W", "held"] == 0 and window.loc["W", "held"] == 3
    assert window.loc["W", "years_held"] == "2024, 2025, 2026"
    # schools whose true effect is above the mean are not called below it three years running
    above = [f"s{i:02d}" for i in range(60) if u[i] > 0.5]
    assert (window.loc[above, "held"] < 3).all()
    # the point rule is untouched by the model: it reads the observed values
    point = I.judge(est, unc("point"), threshold=0.0, unit=est["school_id"])
    assert point["fired"].equals(est["estimate"] < 0)


def test_a_small_school_far_below_is_judged_on_its_whole_window():
    """4 pupils a year, 30 points below the mean three years running: under the per-cell gate (10 participants)
    it was «Нет данных»; the window model gates on the pupils behind the whole window (12) and, with its large
    se, still finds it below every year. The point rule keeps the per-year gate."""
    rng = np.random.default_rng(3)
    u = rng.normal(0, 3.0, 40)
    rows = [{"school_id": f"s{i:02d}", "year": y, "estimate": u[i] + rng.normal(0, 3.0), "se": 3.0, "n": 25}
            for i in range(40) for y in (2024, 2025, 2026)]
    rows += [{"school_id": "tiny", "year": y, "estimate": -30.0, "se": 7.5, "n": 4} for y in (2024, 2025, 2026)]
    est = pd.DataFrame(rows)
    u_ = unc("probability", min_n=10)
    cell = I.judge(est, u_, threshold=0.0)
    window = I._summarise_years(pd.concat([est, I.judge(est, u_, threshold=0.0, unit=est["school_id"])], axis=1),
                                ["school_id"]).set_index("school_id")
    assert not cell.loc[est["school_id"] == "tiny", "assessed"].any()
    assert window.loc["tiny", "held"] == 3 and window.loc["tiny", "assessed_years"] == 3
    point = I.judge(est, unc("point", min_n=10), threshold=0.0, unit=est["school_id"])
    assert not point.loc[est["school_id"] == "tiny", "assessed"].any()


def test_a_criterion_that_cannot_fire_for_lack_of_pupils_says_so():
    """With 2 pupils (se 14) not even the lowest result of the region could make a school 80 % sure to be below
    the mean: the explanation says the criterion cannot fire, instead of reading as «not low»."""
    rng = np.random.default_rng(6)
    rows = [{"school_id": f"s{i:02d}", "estimate": rng.normal(0, 3.0) + rng.normal(0, 2.0), "se": 2.0, "n": 50}
            for i in range(60)]
    rows += [{"school_id": "two", "estimate": -4.0, "se": 14.0, "n": 2}]
    est = pd.DataFrame(rows)
    v = pd.concat([est, I.judge(est, unc("probability"), threshold=0.0)], axis=1).set_index("school_id")
    assert v.loc["two", "can_fire"] == False and v.loc["s00", "can_fire"] == True   # noqa: E712
    row = v.loc[["two"]].reset_index().iloc[0]
    assert "сработать не может" in I._evidence_sentence(row, unc("probability"))
    assert "сработать не может" not in I._evidence_sentence(v.loc[["s00"]].reset_index().iloc[0], unc("probability"))


def test_bottom_share_of_a_municipality_uses_its_own_spread_under_the_window_model():
    """Two municipalities of 40 schools, true SD 1 in A and 4 in B, three years. «Bottom 25 % of the municipality»
    with the region's pooled spread put B's threshold too high (too many of B's schools «in the bottom quarter»)
    and A's too low (none of A's); with each municipality's own spread over the window both get their quarter."""
    rng = np.random.default_rng(8)
    rows = []
    for m, sd in (("A", 1.0), ("B", 4.0)):
        u = rng.normal(0, sd, 40)
        rows += [{"school_id": f"{m}{i:02d}", "municipality": m, "year": y, "estimate": u[i] + rng.normal(0, 0.3),
                  "se": 0.3, "n": 50} for i in range(40) for y in (2024, 2025, 2026)]
    est = pd.DataFrame(rows)
    v = I.judge(est, unc("probability"), share=0.25, groups=est["municipality"], unit=est["school_id"])
    held = I._summarise_years(pd.concat([est, v], axis=1), ["school_id", "municipality"])
    stable = held[held["held"] == 3].groupby("municipality").size().reindex(["A", "B"], fill_value=0)
    assert 4 <= stable["A"] <= 12 and 4 <= stable["B"] <= 12, stable.to_dict()


def test_heuristic_presets_keep_the_uncertainty_decision_and_show_the_point_rule():
    presets = load_presets()
    assert {n: presets[n].params.decision.value for n in presets} == {
        "lesosibirsk": "point", "kamensk_uralsky": "point", "ekaterinburg": "point", "rosobrnadzor_2025": "point",
        "bottom_percentile": "probability", "context_adjusted": "probability"}
    assert all(presets[n].params.decision.tag in ("seed", "official") for n in
               ("lesosibirsk", "kamensk_uralsky", "ekaterinburg", "rosobrnadzor_2025"))
    res = I.run_methodology(evidence(decile_region()), "bottom_percentile")
    f = res.flags
    assert (f["decision"] == "probability").all() and f["flagged"].equals(f["flagged_uncertainty"])
    # the interval beside a shrunk estimate says so; the one beside the rule's observed value does not
    assert I._interval(-5.0, -1.0, shrunk=True) == "95 % интервал с учётом сжатия к среднему от −5,0 п.п. до −1,0 п.п."
    assert I._interval(-5.0, -1.0) == "95 % интервал от −5,0 п.п. до −1,0 п.п."


def test_a_preset_decision_can_be_overridden_per_municipality():
    p = load_presets()["rosobrnadzor_2025"].params
    strict = p.model_copy(update={"decision": T("probability")})
    res = I.run_methodology(evidence(official_region()), "rosobrnadzor_2025", strict)
    f = res.flags.set_index("school_id")
    assert not f.loc["R", "flagged"] and f.loc["R", "flagged_rule"] and f.loc["R", "decision"] == "probability"


def test_exam_within_sd_comes_from_protocols_when_the_store_has_them():
    # with pupil-level protocols the SD is the pupils' own, and the results say where it came from
    exams = pd.DataFrame({"year": 2026, "municipality": "001", "school_id": ["a", "b", "c"], "exam": "ОГЭ",
                          "subject": "math", "participants": [2, 2, 2], "mean_score": [5.0, 10.0, 7.5]})
    within = I.exam_within_variance(pd.DataFrame({"year": 2026, "exam": "ОГЭ", "subject": "math",
                                                  "school_id": ["a", "b"], "n": [2, 2], "s1": [10.0, 20.0],
                                                  "s2": [52.0, 208.0]}))
    r = I.exam_results(exams, within)
    assert r["sdw"].iloc[0] == pytest.approx(np.sqrt(5.0)) and (r["sdw_source"] == "протоколы").all()
    assert (I.exam_results(exams)["sdw_source"] == "разброс средних").all()    # 3 equal sizes: nothing to fit


def test_bottom_share_of_a_municipality_uses_its_own_spread_under_the_npmle_prior():
    """One year, per-cell decision with the region's NPMLE prior (Lesosibirsk criterion 1, context_adjusted): six
    municipalities of 40 schools with true SD 4, one (A) with SD 1.5 and one (B) with SD 10. The region's shape at
    the region's width made far more than a quarter of B «the bottom 25 %» and almost none of A; scaled to each
    municipality's own spread, none gets more than about its quarter (the probability decision flags the sure ones
    only)."""
    rng = np.random.default_rng(12)
    rows = []
    for m, sd in [("A", 1.5), ("B", 10.0)] + [(f"M{k}", 4.0) for k in range(6)]:
        u = rng.normal(0, sd, 40)
        rows += [{"school_id": f"{m}{i:02d}", "municipality": m, "estimate": u[i] + rng.normal(0, 0.5), "se": 0.5,
                  "n": 50} for i in range(40)]
    est = pd.DataFrame(rows)
    u = unc("probability").model_copy(update={"prior": T("npmle"), "prior_min_units": T(100)})
    v = I.judge(est, u, share=0.25, groups=est["municipality"])
    share = v["fired"].groupby(est["municipality"]).mean()
    # measured: A 0.025 → 0.075, B 0.35 → 0.25 (the probability decision keeps only the sure ones of A's quarter:
    # its schools are 1.5 points apart at se 0.5)
    assert share["B"] <= 0.3 and share["A"] >= 0.05, share.round(3).to_dict()
    assert (share.drop(["A", "B"]) <= 0.3).all(), share.round(3).to_dict()


def test_effect_size_units_leave_out_cells_without_spread():
    """A work whose pupils all have the same score (hand-built data, or a one-task form) has no within-school SD:
    its difference cannot be put in SD units. It is left out of the pooled estimate instead of becoming «−inf SD»;
    a school with nothing else has no estimate («нет данных»)."""
    r = pd.DataFrame({"school_id": ["a", "a", "b"], "n": [10, 30, 20], "dsum": [-50.0, -30.0, -40.0],
                      "vsum": [0.0, 3000.0, 0.0], "sdw": [0.0, 10.0, 0.0]})
    got = I.pool(r, ["school_id"], units="sd").set_index("school_id")
    assert got.loc["a", "n"] == 30 and got.loc["a", "estimate"] == pytest.approx(-0.1)
    assert np.isnan(got.loc["b", "estimate"]) and not np.isinf(got[["estimate", "se"]].to_numpy()).any()
