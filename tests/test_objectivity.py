"""Objectivity signals (DOMAIN §7): known answers on hand-built regions, BH against the 1995 example,
parameter errors, the SQL against its pandas twin, recovery of the planted schools of the small demo, and
a null region (nothing planted) that must not raise more alarms than the FDR level allows.

Hand-built regions switch the overdispersion term off (``P(od=False)``), so each answer follows from the
arithmetic in the comments. The null region (``workbench.demo.generate_demo(..., planted=False)`` + ``workbench
import``) is generated in the background from the start of the session (``conftest.null_region``).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench import objectivity as O
from workbench.config import ParamsError

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def P(od: bool = False, levels=("cell",), **top) -> O.ObjectivityParams:
    """Default parameters with overdispersion on/off, the given levels and top-level overrides."""
    d = O.load_objectivity_params().model_dump()
    d["overdispersion"]["enabled"]["value"] = od
    d["levels"]["value"] = list(levels)
    for k, v in top.items():
        d[k]["value"] = v
    return O.ObjectivityParams.model_validate(d)


def final(tests: pd.DataFrame, p: O.ObjectivityParams) -> pd.DataFrame:
    return O.finalize(tests, p).set_index(["level", "school_id", "component"], drop=False)


# ---------------------------------------------------------------- parameters

def test_default_params_carry_the_provenance_of_domain_7():
    p = O.load_objectivity_params()
    s = p.signals
    assert {k: getattr(s, k).enabled.tag for k in O.SIGNALS} == {
        "above_region_unconfirmed": "official", "task_profile": "official", "boundary_heaping": "secondary",
        "uniform_high": "heuristic", "cohort_reversal": "heuristic", "journal_discrepancy": "official",
        "low_participation": "heuristic"}
    assert s.journal_discrepancy.gap_marks.value == 2 and s.journal_discrepancy.gap_marks.tag == "secondary"
    # the official criterion exempts лицеи and гимназии; the project's addition is a separate, heuristic key
    assert s.above_region_unconfirmed.exempt_types.tag == "official"
    assert s.above_region_unconfirmed.exempt_types.value == ["лицей", "гимназия"]
    assert s.above_region_unconfirmed.also_exempt_types.tag == "heuristic"
    assert s.above_region_unconfirmed.also_exempt_types.value == ["СОШ с УИОП"]
    # every threshold is a heuristic; the group minimum is the FIOKO one
    for k in O.SIGNALS:
        for name, field in getattr(s, k):
            if name.startswith(("min_", "basic_gap", "window", "exam_years")):
                assert field.tag == "heuristic", (k, name)
    assert (p.min_participants.value, p.min_participants.tag) == (10, "secondary")
    assert 0.05 <= p.fdr.value <= 0.10 and p.fdr.tag == "heuristic"


def test_bad_objectivity_yaml_names_the_key_and_what_is_allowed(tmp_path):
    text = (ROOT / "params" / "objectivity.yaml").read_text(encoding="utf-8")
    text = text.replace('min_effect: {value: 10.0, tag: heuristic', 'min_effect: {value: 10.0, tag: guess', 1)
    text = text.replace('levels: {value: ["cell", "school"]', 'levels: {value: ["class"]', 1)
    text = text.replace("    gap_marks:", "    min_effect_other: {value: 1, tag: heuristic, source: \"x\"}\n    gap_marks:", 1)
    text = text.replace("fdr: {value: 0.05", "fdr: {value: 0.9", 1)
    bad = tmp_path / "objectivity.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ParamsError) as e:
        O.load_objectivity_params(bad)
    msg = "\n".join(e.value.lines)
    assert "signals.task_profile.min_effect.tag = 'guess'" in msg and "'seed', 'official', 'secondary' or 'heuristic'" in msg
    assert "levels.value.0 = 'class'" in msg and "'cell' or 'school'" in msg
    assert "signals.journal_discrepancy.min_effect_other" in msg and "неизвестный ключ" in msg \
        and "допустимые ключи: enabled, gap_marks" in msg
    assert "fdr.value = 0.9" in msg and "≤ 0.5" in msg
    assert str(bad) in str(e.value)


# ---------------------------------------------------------------- known answers per signal

def one_work(rows, year=2026, subject="rus", grade=5):
    return pd.DataFrame([{"year": year, "municipality": "001", "subject": subject, "grade": grade, **r} for r in rows])


def test_journal_discrepancy_known_answer():
    # one work, 4 schools × 20 pupils with both marks; «понизили»: a 15, b 5, c 4, d 6
    cells = one_work([{"school_id": s, "n": 20, "nj": 20, "lowered": lo, "raised": ra, "gap": g}
                      for s, lo, ra, g in [("a", 15, 0, 6), ("b", 5, 2, 0), ("c", 4, 1, 0), ("d", 6, 1, 0)]])
    p = P()
    t = final(O.signal_journal_discrepancy(cells, p, levels=("cell",)), p)
    a = t.loc[("cell", "a", "lowered")]
    # region without a: (5 + 4 + 6 + ½) / (60 + 1) = 0.2541; a: 15/20 = 0.75 → +49.59 p.p.
    assert a["effect"] == pytest.approx(49.590, abs=1e-3)
    # z = (0.75 − 0.2541) / √(0.2541 · 0.7459 / 20) = 5.0941; p = P(Bin(20, 0.2541) ≥ 15) = 4.746e-6
    assert a["statistic"] == pytest.approx(5.0941, abs=1e-4)
    assert a["p_value"] == pytest.approx(4.7462e-6, rel=1e-4)
    assert a["fired"] and a["sample_size"] == "грубая оценка (20–49)"
    assert a["description_ru"].startswith("Признак завышения отметок в журнале (русский язык, 5 кл.)")
    assert "75 %" in a["description_ru"] and "25 %" in a["description_ru"]
    # ≥ 2 marks apart: a 6 of 20 against (0 + ½)/61 = 0.8 % in the region → fires; nobody else
    assert t.loc[("cell", "a", "gap"), "fired"]
    assert t["fired"].sum() == 2
    # a region reference can be given instead of the other schools: 0.75 against 0.5 → +25 p.p.
    ref = pd.DataFrame({"year": [2026], "subject": ["rus"], "grade": [5], "lowered": [0.5], "raised": [0.1],
                        "gap": [0.05]})
    r = O.signal_journal_discrepancy(cells, p, region=ref, levels=("cell",))
    assert r.query("school_id == 'a' and component == 'lowered'")["effect"].item() == pytest.approx(25.0)


def test_journal_discrepancy_pools_the_works_of_a_school():
    # school a: rus 5 (15 of 20 lowered) and math 5 (5 of 20); b, c: 4 of 20 in both works
    rows = []
    for subj, la in (("rus", 15), ("math", 5)):
        rows += [{"year": 2026, "municipality": "001", "school_id": s, "subject": subj, "grade": 5, "n": 20, "nj": 20,
                  "lowered": lo, "raised": 0, "gap": 0} for s, lo in (("a", la), ("b", 4), ("c", 4))]
    s = O.signal_journal_discrepancy(pd.DataFrame(rows), P(), levels=("school",)).set_index(["school_id", "component"])
    a = s.loc[("a", "lowered")]
    # K = 20 of N = 40; expected p0 = (20 · 8.5/41 + 20 · 8.5/41) / 40 = 0.2073 → +29.27 p.p.
    assert (a["k"], a["trials"], a["n"]) == (20, 40, 40)
    assert a["p0"] == pytest.approx(8.5 / 41) and a["effect"] == pytest.approx(100 * (0.5 - 8.5 / 41))
    assert pd.isna(a["subject"]) and "все работы школы" in a["description_ru"]


def test_above_region_unconfirmed_known_answer():
    # rus 5, 10 pupils each, within-school SD 10: a 70, b 50, c 50, d (лицей) 80
    cells = one_work([{"school_id": s, "n": 10, "s1": 10 * m, "s2": 9 * 100 + 10 * m * m}
                      for s, m in (("a", 70), ("b", 50), ("c", 50), ("d", 80))])
    exam = pd.DataFrame({"school_id": ["a", "b"], "subject": ["rus", "rus"], "d_exam": [0.1, 0.0], "n_exam": [40, 40],
                         "exam_years": ["2024–2026"] * 2})
    schools = pd.DataFrame({"school_id": list("abcd"), "school_type": ["СОШ", "СОШ", "СОШ", "лицей"]})
    p = P()
    t = final(O.signal_above_region(cells, exam, schools, p, ("cell",)), p)
    # c has no exam and d is a лицей: not checked at all
    assert sorted(t["school_id"]) == ["a", "b"]
    a = t.loc[("cell", "a", "")]
    # region without a: (500 + 500 + 800) / 30 = 60; pooled SD 10 → d = 1.0; minus the exam's 0.1 → 0.9 SD
    # var = 1/10 + 1/40 = 0.125 → z = 0.9 / 0.35355 = 2.5456, p = 0.005455; BH over 2 rows → q = 0.01091
    assert a["effect"] == pytest.approx(0.9)
    assert a["statistic"] == pytest.approx(2.5456, abs=1e-4)
    assert a["p_value"] == pytest.approx(0.0054547, rel=1e-4)
    assert a["q_value"] == pytest.approx(2 * 0.0054547, rel=1e-4)
    assert a["fired"] and not t.loc[("cell", "b", ""), "fired"]
    assert "2024–2026" in a["description_ru"] and "+0,10 SD" in a["description_ru"]


def test_exam_effects_pool_exams_in_pupil_sd_units():
    # two schools, ОГЭ rus 2026: 10 pupils at 20 and 30 at 24 → region mean 23; fewer than 5 schools, so the
    # within-school variance is var(means) · median(n) = 4 · 20 = 80 (identify.exam_results), SD 8.944
    exams = pd.DataFrame({"year": 2026, "municipality": "001", "school_id": ["a", "b"], "exam": "ОГЭ",
                          "subject": "rus", "participants": [10, 30], "mean_score": [20.0, 24.0]})
    e = O.exam_effects(exams, 2026, 3).set_index("school_id")
    # a: 10 · (20 − 23) / 8.944 / 10 = −0.3354
    assert e.loc["a", "d_exam"] == pytest.approx(-3 / np.sqrt(80))
    assert e.loc["a", "n_exam"] == 10 and e.loc["a", "exam_years"] == "2026"


def task_pupils():
    # Б max 10, П/В max 10. b, c, d: 5 pupils with 4 basic points and 1 hard point, 5 with 6 and 3;
    # a: 10 pupils with 4 basic points and 6 hard points (worse on basic, better on hard tasks)
    rows = [{"school_id": "a", "bp": 4, "hp": 6}] * 10
    for s in "bcd":
        rows += [{"school_id": s, "bp": 4, "hp": 1}] * 5 + [{"school_id": s, "bp": 6, "hp": 3}] * 5
    return pd.DataFrame([{"year": 2026, "municipality": "001", "subject": "math", "grade": 5, "bm": 10, "hm": 10, **r}
                         for r in rows])


def test_task_profile_known_answer():
    cells = O.task_cells_from_pupils(task_pupils())
    # E[h | 4 basic points] = (10 · 0.6 + 15 · 0.1) / 25 = 0.3; E[h | 6] = 0.3 → a's residuals 0.3 each
    assert cells.set_index("school_id").loc["a", "sr"] == pytest.approx(3.0)
    p = P()
    t = final(O.signal_task_profile(cells, p, ("cell",)), p)
    a = t.loc[("cell", "a", "")]
    # region without a: mean residual −3/30 = −0.1 → a: 100 · (0.3 + 0.1) = 40 p.p. (4 cells: no level trend)
    # within-school variance of r: (0 + 3 · 0.1) / 36 → var = 10⁴ · 0.008333 / 10 = 8.333 → z = 13.856
    assert a["effect"] == pytest.approx(40.0)
    assert a["statistic"] == pytest.approx(13.856, abs=1e-3)
    assert a["fired"] and a["tested"] and t["fired"].sum() == 1
    assert "−10,0 п.п." in a["description_ru"]
    # b, c, d are +3,3 p.p. above the region on basic tasks: candidates under the default tolerance (≤ 5 p.p.),
    # listed but not tested when the tolerance is 0
    assert t.loc[("cell", "b", ""), "tested"]
    d = p.model_dump()
    d["signals"]["task_profile"]["basic_gap_max"]["value"] = 0.0
    strict = O.ObjectivityParams.model_validate(d)
    t0 = final(O.signal_task_profile(cells, strict, ("cell",)), strict)
    assert not t0.loc[("cell", "b", ""), "tested"] and pd.isna(t0.loc[("cell", "b", ""), "q_value"])
    assert t0.loc[("cell", "a", ""), "fired"]


def test_tilt_moves_the_mean_and_keeps_the_shape():
    ref = np.array([[1.0, 2.0, 3.0, 2.0, 1.0]])
    same = O._tilt(ref, np.array([2.0]))
    assert same[0] == pytest.approx(ref[0] / 9)               # already at mean 2: λ = 0
    up = O._tilt(ref, np.array([2.5]))[0]
    assert up @ np.arange(5) == pytest.approx(2.5)
    assert up[1] / up[0] == pytest.approx(2 * (up[2] / up[1]) / 1.5)  # ratios keep ref's ratio × e^λ


def test_boundary_heaping_known_answer():
    # max 10, boundaries 4 / 6 / 8, window 1. b..f: one pupil at every score 0..10 (mean 5);
    # a: 3 pupils at each of 2, 4, 6, 8 (mean 5) — every pupil near a boundary sits on it, none just below
    hist = [{"school_id": s, "score": k, "count": 1} for s in "bcdef" for k in range(11)]
    hist += [{"school_id": "a", "score": k, "count": 3} for k in (2, 4, 6, 8)]
    hist = one_work(hist)
    scales = pd.DataFrame({"year": [2026], "subject": ["rus"], "grade": [5], "max_score": [10], "min3": [4],
                           "min4": [6], "min5": [8]})
    w = O.heaping_windows(hist, scales, window=1).set_index("school_id")
    # the region without a is flat with mean 5 = a's mean: no tilt, p_b = ½ at each boundary
    assert (w.loc["a", "above"], w.loc["a", "trials"], w.loc["a", "expected"]) == (9, 9, 4.5)
    d = P().model_dump()
    d["signals"]["boundary_heaping"]["window"]["value"] = 1
    p = O.ObjectivityParams.model_validate(d)
    t = final(O.signal_boundary_heaping(w.reset_index(), p, ("cell",)), p)
    a = t.loc[("cell", "a", "")]
    # share 9/9 against ½ → +50 p.p.; z = 0.5 / √(9 · ¼ / 81) = 3.0; p = P(Bin(9, ½) ≥ 9) = 1/512
    assert a["effect"] == pytest.approx(50.0)
    assert a["statistic"] == pytest.approx(3.0)
    assert a["p_value"] == pytest.approx(1 / 512)
    assert a["q_value"] == pytest.approx(6 / 512)             # BH over six tested cells, a ranks first
    assert a["fired"] and t["fired"].sum() == 1


def test_uniform_high_known_answer():
    # rus 5, 30 pupils per cell: 12 cells with means 40, 45, …, 95 and SD 10; x: mean 90, SD 5
    rows = [{"school_id": f"s{i}", "n": 30, "s1": 30 * m, "s2": 29 * 100 + 30 * m * m}
            for i, m in enumerate(range(40, 100, 5))]
    rows.append({"school_id": "x", "n": 30, "s1": 30 * 90, "s2": 29 * 25 + 30 * 90 * 90})
    p = P()
    t = final(O.signal_uniform_high(one_work(rows), p, ("cell",)), p)
    x = t.loc[("cell", "x", "")]
    # x is beyond 3 robust SDs of the first fit, so the reference is the flat line log 10 (+ the same small-n
    # correction): est = log 10 − log 5 = 0.6931, var = 1/58 → z = 5.2789; effect = 1 − 5/10 = 50 %
    assert x["effect"] == pytest.approx(50.0)
    assert x["statistic"] == pytest.approx(5.2789, abs=1e-4)
    assert x["fired"]
    # low cells are not candidates (mean below region + 0.3 SD): listed, untested
    assert not t.loc[("cell", "s0", ""), "tested"]
    assert t["fired"].sum() == 1


def test_cohort_reversal_known_answer():
    # math, 4 schools × 10 pupils, SD 10, mean 50 everywhere except a's grade 5 in 2025: 62
    rows = []
    for year, grade in ((2024, 4), (2025, 5), (2026, 6)):
        for s in "abcd":
            m = 62 if (s, year) == ("a", 2025) else 50
            rows.append({"year": year, "municipality": "001", "school_id": s, "subject": "math", "grade": grade,
                         "n": 10, "s1": 10 * m, "s2": 9 * 100 + 10 * m * m})
    p = P()
    t = final(O.signal_cohort_reversal(pd.DataFrame(rows), 2026, p, ("cell",)), p)
    a = t.loc[("cell", "a", "")]
    # d: 0 (4 кл. 2024) → +1.2 (5 кл. 2025) → 0 (6 кл. 2026); spike 1.2 − (0 + 0)/2 = 1.2 SD
    # var = 1/10 + (1/10 + 1/10)/4 = 0.15 → z = 3.0984, p = 0.000973; BH over 4 rows → q = 0.003892
    assert a["effect"] == pytest.approx(1.2)
    assert a["statistic"] == pytest.approx(3.0984, abs=1e-4)
    assert a["q_value"] == pytest.approx(4 * 0.00097289, rel=1e-4)
    assert a["fired"] and a["grade"] == 6 and t["fired"].sum() == 1
    assert "4 кл. (2024) → 5 кл. (2025) → 6 кл. (2026)" in a["description_ru"]


def test_heaping_windows_never_count_a_pupil_twice():
    # max 10, boundaries 4 / 6 / 8, window 2: [4, 6) is above 4 AND below 6; a's 10 pupils at 5 used to count as
    # 20 window pupils. Scores between two boundaries are split at the midpoint: 4 is above 4, 5 below 6.
    hist = [{"school_id": s, "score": k, "count": 1} for s in "bcdef" for k in range(11)]
    hist += [{"school_id": "a", "score": 5, "count": 10}]
    scales = pd.DataFrame({"year": [2026], "subject": ["rus"], "grade": [5], "max_score": [10], "min3": [4],
                           "min4": [6], "min5": [8]})
    w = O.heaping_windows(one_work(hist), scales, window=2).set_index("school_id")
    assert (w["trials"] <= w["n"]).all()
    assert (w.loc["a", "trials"], w.loc["a", "above"]) == (10, 0)
    # b: one pupil per score; windows [2, 4) ∪ [4, 5) | [5, 6) ∪ [6, 7) | [7, 8) ∪ [8, 10): 8 pupils, 4 above
    assert (w.loc["b", "trials"], w.loc["b", "above"]) == (8, 4)


def test_uniform_high_variance_follows_the_kurtosis_of_the_scores():
    # Var(log s) = (κ/n − (n − 3)/(n(n − 1)))/4: 1/(2(n − 1)) for normal scores (κ = 3), larger for heavy tails.
    # Heavy-tailed scores (κ = 6, n = 30): (6/30 − 27/870)/4 = 0.042241 instead of 1/58 = 0.017241.
    rows = [{"school_id": f"s{i}", "n": 30, "s1": 30 * m, "s2": 29 * 100 + 30 * m * m}
            for i, m in enumerate(range(40, 100, 5))]
    rows.append({"school_id": "x", "n": 30, "s1": 30 * 90, "s2": 29 * 25 + 30 * 90 * 90})
    kurt = pd.DataFrame({"year": [2026], "subject": ["rus"], "grade": [5], "kurtosis": [6.0]})
    t = O.signal_uniform_high(one_work(rows), P(), ("cell",), kurtosis=kurt).set_index("school_id")
    assert t.loc["x", "var"] == pytest.approx((6 / 30 - 27 / 870) / 4)
    normal = O.signal_uniform_high(one_work(rows), P(), ("cell",)).set_index("school_id")
    assert normal.loc["x", "var"] == pytest.approx(1 / 58)
    # the pooled within-school kurtosis of a work from its score histogram: a two-point
    # distribution (κ = 1), and one school with scores 0, 0, 0, 4 (deviations −1, −1, −1, 3: m2 = 3, m4 = 21)
    hist = one_work([{"school_id": "a", "score": 1, "count": 5}, {"school_id": "a", "score": 3, "count": 5},
                     {"school_id": "b", "score": 0, "count": 3}, {"school_id": "b", "score": 4, "count": 1}])
    k = O.work_kurtosis(hist)
    # pooled: Σ n·m4 / Σ n·m2² = (10 · 1 + 4 · 21) / (10 · 1 + 4 · 9) = 94 / 46
    assert k["kurtosis"].item() == pytest.approx(94 / 46)


def test_journal_check_counts_pupils_with_both_marks():
    # 40 pupils wrote the work, 6 of them have a journal mark: fewer than min_participants = 10 to compare
    cells = one_work([{"school_id": "a", "n": 40, "nj": 6, "lowered": 6, "raised": 0, "gap": 0}]
                     + [{"school_id": s, "n": 40, "nj": 40, "lowered": 10, "raised": 2, "gap": 0} for s in "bcd"])
    t = final(O.signal_journal_discrepancy(cells, P(), levels=("cell",)), P())
    assert not t.loc[("cell", "a", "lowered"), "tested"] and t.loc[("cell", "a", "lowered"), "n"] == 6
    assert t.loc[("cell", "b", "lowered"), "tested"]


def test_cohort_reversal_school_level_needs_the_minimum_in_every_year():
    # a has 3 pupils in 4th grade of 2024 and 30 in the later years: the cell is not tested, nor the school
    rows = []
    for year, grade in ((2024, 4), (2025, 5), (2026, 6)):
        for s in "abcd":
            n = 3 if (s, year) == ("a", 2024) else 30
            m = 65 if (s, year) == ("a", 2025) else 50
            rows.append({"year": year, "municipality": "001", "school_id": s, "subject": "math", "grade": grade,
                         "n": n, "s1": n * m, "s2": (n - 1) * 100 + n * m * m})
    p = P(levels=("cell", "school"))
    t = final(O.signal_cohort_reversal(pd.DataFrame(rows), 2026, p, ("cell", "school")), p)
    assert not t.loc[("cell", "a", ""), "tested"] and not t.loc[("school", "a", ""), "tested"]
    assert t.loc[("school", "b", ""), "tested"]


def test_low_participation_known_answer():
    # rus 5, 20 pupils listed per school; absent: a 8, b 1, c 1, d 1. A school that keeps its weakest pupils at
    # home leaves the list of low results, so the share who did not write is a signal of its own.
    att = one_work([{"school_id": s, "listed": 20, "absent": k} for s, k in (("a", 8), ("b", 1), ("c", 1), ("d", 1))])
    p = P()
    t = final(O.signal_low_participation(att, p, levels=("cell",)), p)
    a = t.loc[("cell", "a", "")]
    # region without a: (1 + 1 + 1 + ½) / (60 + 1) = 0.05738; a: 8/20 = 0.4 → +34.26 p.p.; p = P(Bin(20, 0.05738) ≥ 8)
    p0 = 3.5 / 61
    assert a["effect"] == pytest.approx(100 * (0.4 - p0))
    assert a["p_value"] == pytest.approx(stats.binom.sf(7, 20, p0), rel=1e-6)
    assert a["fired"] and a["n"] == 20 and t["fired"].sum() == 1
    assert "не писали работу 40 %" in a["description_ru"]
    assert O.inflated_schools(t.reset_index(drop=True)) == frozenset({"a"})   # results possibly inflated by it


# ---------------------------------------------------------------- FDR and overdispersion

BH_1995 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719,
           0.6528, 0.7590, 1.000]


def test_bh_q_values_reproduce_benjamini_hochberg_1995():
    # Benjamini & Hochberg (1995) worked example (also scipy.stats.false_discovery_control's docstring):
    # 15 p-values, q = 0.05 rejects exactly the four smallest (0.0095 ≤ 4/15 · 0.05; 0.0201 > 5/15 · 0.05).
    p = P()
    tests = pd.DataFrame({"level": "cell", "year": 2026, "municipality": "001",
                          "school_id": [f"s{i:02d}" for i in range(15)], "subject": "rus", "grade": 5,
                          "signal": "task_profile", "component": "", "n": 100,
                          "est": np.clip(stats.norm.isf(BH_1995), -40, 40), "var": 1.0, "effect": 99.0, "threshold": 1.0, "cond": True,
                          "dist": "normal", "k": np.nan, "trials": np.nan, "p0": np.nan, "min_ok": True,
                          "description_ru": "Признак."})
    out = O.finalize(tests, p)
    assert out["p_value"].to_numpy() == pytest.approx(BH_1995, rel=1e-9)
    # q_(i) = min_{j ≥ i} p_(j) · 15 / j: 0.0015, 0.003, 0.0095, 0.035625, 0.0603, then 0.063857 (j = 7) …
    expected = [0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.0638571, 0.0638571, 0.0645, 0.0765, 0.486,
                0.5811818, 0.714875, 0.7532308, 0.8132143, 1.0]
    assert out["q_value"].to_numpy() == pytest.approx(expected, rel=1e-6)
    assert out["fired"].tolist() == [True] * 4 + [False] * 11


def test_doctests():
    import doctest

    assert doctest.testmod(O).failed == 0


def test_overdispersion_widens_the_funnel():
    # Spiegelhalter (2005): φ = mean z² = (0 + 4 + 4 + 0)/4 = 2, τ² = (4 · 2 − 3) / (4 − 4/4) = 5/3
    assert O.overdispersion_tau2([0, 2, -2, 0], [1, 1, 1, 1], 0.0) == pytest.approx(5 / 3)
    assert O.overdispersion_tau2([0.1, -0.1], [1, 1], 0.0) == 0.0            # under-dispersed: no correction
    # a region of 30 schools whose shares differ far more than binomial noise: one school at +20 p.p. is
    # unusual for the binomial funnel but ordinary for the overdispersed one
    rng = np.random.default_rng(1)
    share = np.clip(0.35 + rng.normal(0, 0.12, 30), 0.02, 0.98)
    share[0] = 0.55
    cells = one_work([{"school_id": f"s{i:02d}", "n": 200, "nj": 200, "lowered": int(round(200 * q)), "raised": 0,
                       "gap": 0} for i, q in enumerate(share)])
    plain = final(O.signal_journal_discrepancy(cells, P(od=False), levels=("cell",)), P(od=False))
    wide = final(O.signal_journal_discrepancy(cells, P(od=True), levels=("cell",)), P(od=True))
    key = ("cell", "s00", "lowered")
    assert plain.loc[key, "p_value"] < 1e-6 < wide.loc[key, "p_value"]
    assert wide.loc[key, "statistic"] < plain.loc[key, "statistic"] / 2


def test_winsorised_overdispersion_is_consistent():
    # z ~ N(0, 1 + τ²) with τ² = 1: winsorising at 10 % / 90 % alone gives E z_w² = 0.679 · 2, so τ² ≈ 0.36 without
    # the consistency factor E[clip(Z, −c, c)²] = (1 − 2a) − 2cφ(c) + 2ac² (c = Φ⁻¹(1 − a)); with it τ² ≈ 1
    rng = np.random.default_rng(3)
    est = rng.normal(0, np.sqrt(2.0), 40_000)
    assert O.overdispersion_tau2(est, np.ones_like(est), 0.1) == pytest.approx(1.0, abs=0.05)
    assert O.winsor_consistency(0.1) == pytest.approx(0.6787, abs=1e-4)
    assert O.winsor_consistency(0.0) == 1.0


def natural_journal_region(rng, slices: dict[tuple[str, int], int], rho: float = 0.02, n: int = 40) -> pd.DataFrame:
    """Journal cells of ordinary schools: each work (subject, grade) has ``slices[work]`` schools of ``n`` pupils
    whose true «понизили» share varies between schools (beta with intra-class correlation ``rho`` around 0.3)."""
    rows = []
    for (subject, grade), k in slices.items():
        a, b = 0.3 * (1 / rho - 1), 0.7 * (1 / rho - 1)
        for i, q in enumerate(rng.beta(a, b, k)):
            lo = rng.binomial(n, q)
            rows.append({"year": 2026, "municipality": "001", "school_id": f"{subject}{grade}-{i}", "subject": subject,
                         "grade": grade, "n": n, "nj": n, "lowered": lo, "raised": 0, "gap": 0})
    return pd.DataFrame(rows)


def test_small_slices_borrow_the_between_school_variance():
    # Six works of 60 schools and sixty works of 6 schools, all with the same natural spread. A slice too small
    # for its own τ² used to get τ² = 0 and flag far more ordinary schools (p < 0.05) than the large ones; it now
    # borrows the signal-wide τ², so both keep near the nominal 5 %.
    rng = np.random.default_rng(7)
    works = {("rus", g): 60 for g in range(4, 10)} | {(f"s{j}", 5): 6 for j in range(60)}
    cells = natural_journal_region(rng, works, rho=0.03)
    p = P(od=True)
    t = O.finalize(O.signal_journal_discrepancy(cells, p, levels=("cell",)), p).query("component == 'lowered'")
    small = t["subject"].str.startswith("s")
    rate_small, rate_large = (t.loc[small, "p_value"] < 0.05).mean(), (t.loc[~small, "p_value"] < 0.05).mean()
    assert rate_small < 0.10 and rate_large < 0.10, (rate_small, rate_large)


# ---------------------------------------------------------------- the demo region

@pytest.mark.slow
def test_sql_aggregates_match_their_pandas_twins(demo_store):
    p = O.load_objectivity_params()
    inp = O.load_inputs(demo_store, 2026, p)
    v = demo_store.query("SELECT * FROM vpr WHERE year = 2026 AND subject = 'math' AND grade = 5 AND NOT absent "
                         "AND primary_score IS NOT NULL")
    tasks = demo_store.query("SELECT position, max_score, level FROM vpr_tasks WHERE year = 2026 AND subject = 'math' "
                             "AND grade = 5")
    basic = [f"task_{i:02d}" for i in tasks.loc[tasks["level"] == "Б", "position"]]
    hard = [f"task_{i:02d}" for i in tasks.loc[tasks["level"].isin(["П", "В"]), "position"]]
    pupils = v[O.KEYS].assign(bp=v[basic].fillna(0).sum(axis=1).astype(float),
                              hp=v[hard].fillna(0).sum(axis=1).astype(float),
                              bm=float(tasks.loc[tasks["level"] == "Б", "max_score"].sum()),
                              hm=float(tasks.loc[tasks["level"].isin(["П", "В"]), "max_score"].sum()))
    twin = O.task_cells_from_pupils(pupils).set_index("school_id")
    sql = inp.task_cells.query("subject == 'math' and grade == 5").set_index("school_id").loc[twin.index]
    for c in ("n", "sb", "sh", "sr", "sr2"):
        assert sql[c].to_numpy(float) == pytest.approx(twin[c].to_numpy(float), abs=1e-9), c
    cells = inp.cells.query("year == 2026 and subject == 'math' and grade == 5").set_index("school_id")
    both = v.dropna(subset=["journal_mark"])
    low = (both["mark"] < both["journal_mark"]).groupby(both["school_id"]).sum()
    assert cells["lowered"].to_dict() == {k: int(x) for k, x in low.items()}
    assert cells["n"].to_dict() == v.groupby("school_id").size().to_dict()


@pytest.fixture(scope="module")
def demo_truth(demo_import):
    root = demo_import[0]
    return pd.read_csv(root / "demo" / "truth" / "schools.csv", dtype={"school_id": str, "municipality": str})


def recovery(sig: pd.DataFrame, truth: pd.DataFrame, year: int) -> dict:
    """Precision and recall of the schools with at least one fired row against the planted ones."""
    inflated = truth["inflated_vpr"] & (truth["inflated_from"] > 0) & (truth["inflated_from"] <= year)
    planted = set(truth.loc[truth["grade_inflation"] | inflated | truth["selective_absence"], "school_id"])
    flagged = set(O.school_signals(sig).query("signals_fired > 0")["school_id"])
    hit = len(flagged & planted)
    return {"precision": hit / max(len(flagged), 1), "recall": hit / len(planted), "flagged": flagged,
            "planted": planted}


@pytest.mark.slow
def test_planted_schools_of_the_small_demo_are_found(demo_store, demo_truth):
    # Measured (scale 0.05, seed 5: one grade-inflation, one inflated-ВПР and one selective-participation school,
    # 25 schools): precision 1.0 and recall 1.0 in 2023–2026. On the scale-0.25 store (/tmp/dev, 10 planted of 205): recall 1.0,
    # precision 0.83 with whole-school rows only, 0.25–0.48 counting single cells (the other hits are the
    # most lenient / harshest journals and weak schools whose journals avoid «2»). Bar: a bit below.
    # Since «понизили» is compared with schools of the same ВПР level, the grade-inflation school of 2025, a weak
    # one, no longer passes BH: 79 % «понизили» against 53 % expected at its level (37 % regionally), p = 0.002,
    # q = 0.19. At scale 1 the comparison finds all 23 grade-inflation schools among 24 fired (26 before).
    gi = demo_truth.loc[demo_truth["grade_inflation"], "school_id"].tolist()
    iv = demo_truth.loc[demo_truth["inflated_vpr"], "school_id"].tolist()
    assert gi and iv
    for year in (2026, 2025):
        sig = O.signals(demo_store, year)
        r = recovery(sig, demo_truth, year)
        assert r["recall"] == pytest.approx(1.0 if year == 2026 else 2 / 3), (year, r)
        assert r["precision"] >= 0.6, (year, r)
        f = sig[sig["fired"]]
        lowered = sig[sig["tested"] & (sig["component"] == "lowered") & (sig["level"] == "school")
                      & sig["school_id"].isin(gi)]
        assert (lowered["p_value"] < 0.01).all() and (lowered["effect"] >= lowered["threshold"]).all()
        if year == 2026:
            assert set(f.loc[f["school_id"].isin(gi), "component"]) >= {"lowered"}
        iv_signals = set(f.loc[f["school_id"].isin(iv), "signal"]) | set(f.loc[f["school_id"].isin(iv), "component"])
        assert len(iv_signals & {"task_profile", "boundary_heaping", "above_region_unconfirmed", "raised"}) >= 2


@pytest.mark.slow
def test_selective_participation_of_the_small_demo_is_found(demo_store, demo_truth):
    # One school of the small demo keeps its weak pupils away from the ВПР (Сергиевская СОШ: pupils below ability
    # −0.3 absent 50 p.p. more often). Measured: its whole-school absent share +31 / +20 / +20 p.p. above the
    # region in 2026 / 2025 / 2024 (q < 1e-4); no other school fires the signal. It counts as a sign of inflated
    # results: the school is among those a methodology that excludes them leaves out.
    planted = set(demo_truth.loc[demo_truth["selective_absence"], "school_id"])
    assert len(planted) == 1
    for year in (2026, 2025, 2024):
        sig = O.signals(demo_store, year)
        fired = sig[(sig["signal"] == "low_participation") & sig["fired"]]
        assert set(fired["school_id"]) == planted, (year, set(fired["school_id"]))
        school = fired[fired["level"] == "school"]
        assert len(school) == 1 and school["effect"].item() >= 15 and school["q_value"].item() < 1e-3
        assert planted <= O.inflated_schools(sig)


@pytest.mark.slow
def test_signal_rows_are_signals_not_verdicts(demo_store):
    sig = O.signals(demo_store, 2026)
    assert list(sig.columns) == O.COLUMNS
    assert "class_label" not in sig.columns                  # no teacher- or class-level output
    assert set(sig["signal"]) == set(O.SIGNALS) and set(sig["level"]) == {"cell", "school"}
    assert sig["description_ru"].str.startswith("Признак").all()
    assert set(sig["sample_size"].dropna()) <= {"информативно (≥ 50)", "грубая оценка (20–49)", "ограниченно (< 20)"}
    assert sig.loc[~sig["tested"], "q_value"].isna().all() and not sig.loc[~sig["tested"], "fired"].any()
    assert (sig.loc[sig["tested"] & (sig["level"] == "cell"), "n"] >= 10).all()
    assert (sig.loc[sig["fired"], "effect"] >= sig.loc[sig["fired"], "threshold"]).all()
    assert sig["municipality"].str.fullmatch(r"\d{3}").all() and sig["school_id"].str.startswith("edu").all()
    per = O.school_signals(sig)
    assert list(per.columns) == O.SCHOOL_COLUMNS and per["school_id"].is_unique
    top = per.iloc[0]
    assert top["signals_fired"] >= 1 and top["summary_ru"].startswith("Признаки необъективности результатов ВПР:")
    quiet = per[per["signals_fired"] == 0]
    assert set(quiet.loc[quiet["rows_tested"] > 0, "summary_ru"]) == {"Признаков необъективности результатов ВПР не выявлено."}
    assert set(quiet.loc[quiet["rows_tested"] == 0, "summary_ru"]) <= {
        "Признаки не проверялись: в работах школы слишком мало участников."}
    assert per["rows_fired"].sum() == sig["fired"].sum()


@pytest.mark.slow
def test_null_region_raises_no_more_alarms_than_the_fdr_level(null_store):
    # Nothing planted (journal leniency, school effects and cohorts still vary naturally). Measured: 0 fired of
    # ~300 tested rows per year (scale 0.05) and 0–5 of ~23 000 (0.02 %) at scale 0.25. Under the complete null
    # BH keeps P(any alarm) ≤ fdr; we assert the share of fired rows ≤ fdr + 0.01 (tolerance for the
    # approximate p-values of small cells) and at most 2 fired rows per year.
    store, root = null_store
    truth = pd.read_csv(root / "demo" / "truth" / "schools.csv")
    assert not truth[["grade_inflation", "inflated_vpr", "persistently_low", "supported"]].any().any()
    p = O.load_objectivity_params()
    years = []
    for year in (2026, 2025, 2024):
        sig = O.signals(store, year, p)
        tested = sig[sig["tested"]]
        assert len(tested) > 150
        assert tested["fired"].mean() <= p.fdr.value + 0.01
        assert tested["fired"].sum() <= 2, tested[tested["fired"]][["school_id", "signal", "component"]]
        years.append(tested)
    # calibration: each signal's share of ordinary rows at p < 0.05 is at most 5 % plus three binomial errors
    # (measured on a scale-1 null region, per signal, component and level: 2.1–6.1 %, all within three binomial
    # errors of 5 %; whole-school «понизили» was 10.4 % with raw regional shares and 7.5 % with 10 % winsorising,
    # «повысили» 6.4 %: the natural leniency of journals has a heavy tail that winsorising cut out of τ²).
    # Discrete small cells keep most signals below 5 %.
    t = pd.concat(years)
    for signal, g in t.groupby("signal"):
        rate, bound = (g["p_value"] < 0.05).mean(), 0.05 + 3 * np.sqrt(0.05 * 0.95 / len(g))
        assert rate <= bound, (signal, len(g), rate)


def test_bh_keeps_the_false_discovery_share_at_most_q():
    # 20 simulated regions, two works of 300 schools (natural spread, ρ = 0.02); in each work 8 have journal marks
    # far above ВПР (+40 p.p. «понизили»). Among the fired rows the share of ordinary schools stays ≤ q on average.
    rng = np.random.default_rng(11)
    p = P(od=True, fdr=0.05)
    fdp, found = [], []
    for _ in range(20):
        cells = natural_journal_region(rng, {("rus", 5): 300, ("math", 5): 300}, rho=0.02, n=50)
        bad = cells.groupby("subject").head(8).index
        cells.loc[bad, "lowered"] = np.minimum(50, cells.loc[bad, "lowered"] + 20)
        t = O.finalize(O.signal_journal_discrepancy(cells, p, levels=("cell",)), p).query("component == 'lowered'")
        planted = t["school_id"].isin(cells.loc[bad, "school_id"])
        fired = t["q_value"] <= p.fdr.value              # BH alone, without the effect threshold
        fdp.append((fired & ~planted).sum() / max(fired.sum(), 1))
        found.append((fired & planted).sum() / planted.sum())
    assert np.mean(fdp) <= 0.05 + 0.02, np.mean(fdp)
    assert np.mean(found) > 0.4, np.mean(found)  # and most planted schools are found (measured 0.57: BH over 600 rows)


def test_planted_false_keeps_the_school_network_and_plants_nothing():
    from workbench.demo import build_plan
    from workbench.demo.region import EFFECTS

    a, b = build_plan(0.05, 5), build_plan(0.05, 5, planted=False)
    assert a.schools[list(EFFECTS)].to_numpy().any() and not b.schools[list(EFFECTS)].to_numpy().any()
    cols = ["school_id", "municipality", "name", "school_type", "settlement", "enrolment"]
    pd.testing.assert_frame_equal(a.schools[cols], b.schools[cols])
    assert (b.schools["inflated_from"] == 0).all()


def test_inflated_schools_exclude_on_inflation_signals_only():
    """Identification excludes schools whose ВПР may be inflated; «понизили» (ВПР below the journal) fires on the
    weak schools themselves and never excludes, nor does the two-way gap."""
    sig = pd.DataFrame({"school_id": ["a", "b", "c", "d", "e", "f"],
                        "signal": ["journal_discrepancy", "journal_discrepancy", "journal_discrepancy",
                                   "boundary_heaping", "task_profile", "uniform_high"],
                        "component": ["lowered", "raised", "gap", "", "", ""],
                        "fired": [True, True, True, True, False, True]})
    assert O.inflated_schools(sig) == frozenset({"b", "d", "f"})


def _level_dependent_region(seed=3, schools=240, inflated=()):
    """Four works of a region where weak schools naturally have more «понизили» (journals rarely hold «2»):
    logit P(понизили) = −1.4 − 1.2·d, d the school's true level in pupil SDs; ``inflated`` schools get +25 p.p."""
    rng = np.random.default_rng(seed)
    level = rng.normal(0, 0.45, schools)
    rows = []
    for subject, grade in (("rus", 5), ("math", 5), ("rus", 6), ("math", 6)):
        for i in range(schools):
            n = int(rng.integers(15, 60))
            scores = rng.normal(50 + 15 * level[i], 15, n)
            p = 1 / (1 + np.exp(1.4 + 1.2 * level[i])) + (0.25 if i in inflated else 0)
            rows.append({"year": 2026, "municipality": f"{i % 12:03d}", "school_id": f"s{i:03d}", "subject": subject,
                         "grade": grade, "n": n, "s1": scores.sum(), "s2": (scores ** 2).sum(), "nj": n,
                         "lowered": int(rng.binomial(n, min(p, 0.95))), "raised": int(rng.binomial(n, 0.05)),
                         "gap": 0})
    return pd.DataFrame(rows)


def test_lowered_is_compared_with_schools_of_the_same_level():
    # Without the level, every weak school looks like one with inflated journals: the share of ordinary schools
    # at p < 0.05 was far above 5 % (the scale-1 null region: 10.4 % of whole schools). Compared with what schools
    # of the same ВПР level show, the ordinary schools keep p < 0.05 near 5 % and the planted ones still fire.
    p = P(od=True, levels=("cell", "school"))
    cells = _level_dependent_region(inflated=range(8))
    t = O.finalize(O.signal_journal_discrepancy(cells, p, levels=("cell", "school")), p)
    low = t[(t["component"] == "lowered") & t["tested"]]
    for level, g in low.groupby("level"):
        ordinary = g[~g["school_id"].isin([f"s{i:03d}" for i in range(8)])]
        rate = (ordinary["p_value"] < 0.05).mean()
        assert rate <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / len(ordinary)), (level, len(ordinary), rate)
    fired = set(low.loc[low["fired"] & (low["level"] == "school"), "school_id"])
    assert len(fired & {f"s{i:03d}" for i in range(8)}) >= 6
    school = low[low["level"] == "school"].set_index("school_id")
    assert "школ с таким же уровнем результатов ВПР" in school.loc["s000", "description_ru"]


def test_level_expected_share_is_the_binomial_glm_fit_without_the_school():
    import statsmodels.api as sm

    cells = _level_dependent_region(seed=5, schools=60).query("subject == 'rus' and grade == 5").reset_index(drop=True)
    m = O.vpr_means(cells)
    X = sm.add_constant(m["d"].to_numpy())
    y = np.column_stack([cells["lowered"], cells["nj"] - cells["lowered"]])
    # statsmodels refitted 60 times, each time without one school, predicting that school
    loo = [sm.GLM(np.delete(y, i, 0), np.delete(X, i, 0), family=sm.families.Binomial()).fit().predict(X[i:i + 1])[0]
           for i in range(len(cells))]
    got = O.level_expected_share(cells, "lowered").to_numpy()
    np.testing.assert_allclose(got, loo, atol=2e-3)          # the one-step approximation to each refit
    full = sm.GLM(y, X, family=sm.families.Binomial()).fit().predict(X)
    assert np.abs(got - loo).max() < 0.2 * np.abs(full - loo).max()   # closer to the refits than the full fit is
    assert O.level_expected_share(cells.head(9), "lowered").isna().all()     # fewer than 10 schools: no fit


def test_lowered_rows_say_which_comparison_they_used():
    # a work with 240 schools gets the level model; a work with 6 schools keeps the raw regional share, and each
    # row's sentence names the comparison it used
    big = _level_dependent_region(seed=8, schools=240).query("subject == 'rus' and grade == 5")
    small = big.head(6).assign(subject="math")
    p = P(levels=("cell",))
    t = O.signal_journal_discrepancy(pd.concat([big, small], ignore_index=True), p, levels=("cell",))
    low = t[t["component"] == "lowered"]
    assert low.loc[low["subject"] == "rus", "description_ru"].str.contains("с таким же уровнем").all()
    assert low.loc[low["subject"] == "math", "description_ru"].str.contains("по региону").all()
