"""Gaps between strong and weak schools (workbench.gaps): published values, hand-built cases, coverage."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench import gaps

DATA = Path(__file__).parent / "data"


def test_paule_mandel_matches_kacker_2004_and_metafor():
    d = pd.read_csv(DATA / "kacker2004_interlab.csv")
    s = gaps.spread(d["estimate"], np.sqrt(d["variance"]))
    assert s.tau2 == pytest.approx(0.705395309224248, rel=1e-6)      # metafor rma(method="PM")
    assert s.tau == pytest.approx(0.8399, abs=6e-5)                   # Kacker 2004, table 1
    assert s.beta[0] == pytest.approx(62.4076199113286, rel=1e-9)
    # at the Paule–Mandel τ² the generalised Q equals k − 1, so the Hartung–Knapp factor is 1: metafor's se
    assert s.beta_se[0] == pytest.approx(0.338030602684471, rel=1e-6)
    assert s.df == 8


def test_q_profile_bounds_solve_the_chi_square_equations():
    d = pd.read_csv(DATA / "kacker2004_interlab.csv")
    y, v = d["estimate"].to_numpy(), d["variance"].to_numpy()
    s = gaps.spread(y, np.sqrt(v), level=0.9)

    def q(t2):
        w = 1 / (v + t2)
        return np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2)

    assert q(s.tau2_low) == pytest.approx(stats.chi2.ppf(0.95, 8), rel=1e-7)
    assert q(s.tau2_high) == pytest.approx(stats.chi2.ppf(0.05, 8), rel=1e-7)
    assert s.tau2_low < s.tau2 < s.tau2_high


def test_no_spread_beyond_noise_gives_zero_and_a_zero_lower_bound():
    s = gaps.spread([47.0, 52.0, 49.0, 53.0], [3.0, 3.0, 3.0, 3.0])     # Q(0) = 2.5 < k − 1
    assert s.tau2 == 0.0 and s.tau2_low == 0.0 and s.tau2_high > 0
    # means closer together than their noise allows (Q(0) below the lower χ² quantile): the interval is {0}
    tight = gaps.spread([50.0, 50.5, 49.5, 50.2], [3.0, 3.0, 3.0, 3.0])
    assert tight.tau2_low == tight.tau2_high == 0.0


def _simulate(rng, k, tau, sizes=(5, 60), sdw=18.0):
    n = rng.integers(*sizes, size=k)
    se = sdw / np.sqrt(n)
    truth = rng.normal(50, tau, size=k)
    return truth + rng.normal(0, se), se


@pytest.mark.parametrize("k", [10, 20])
def test_gap_interval_keeps_its_level_in_small_municipalities(k):
    """The Q-profile interval of P90 − P10 of true school means covers the truth about 95 % of the time with 10 or
    20 schools of 5–60 pupils (a percentile bootstrap over 20 schools covers about 80 %)."""
    rng = np.random.default_rng(20261204 + k)
    tau, hits, reps = 6.0, 0, 600
    truth = gaps.p90_p10(tau)
    for _ in range(reps):
        y, se = _simulate(rng, k, tau)
        s = gaps.spread(y, se)
        hits += gaps.p90_p10(s.tau_low) <= truth <= gaps.p90_p10(s.tau_high)
    coverage = hits / reps
    assert 0.93 <= coverage <= 0.97, coverage     # binomial SE at 600 reps ≈ 0.9 p.p.


def test_raw_gap_is_inflated_by_noise_and_the_corrected_one_is_not():
    rng = np.random.default_rng(7)
    tau, raw, corrected = 5.0, [], []
    for _ in range(300):
        y, se = _simulate(rng, 200, tau, sizes=(4, 30))
        c = pd.DataFrame({"school_id": np.arange(200).astype(str), "n": 1, "mean": y, "sdw": se, "n2": 0})
        g = gaps.work_gaps(c)
        raw.append(g["raw_quartile_gap"])
        corrected.append(g["quartile_gap"])
    truth = gaps.quartile_gap(tau)
    assert np.mean(raw) > 1.3 * truth                        # reliability about 0.5: the raw gap is ~40 % too big
    assert np.mean(corrected) == pytest.approx(truth, rel=0.03)


def test_shnor_gap_interval_keeps_its_level():
    rng = np.random.default_rng(11)
    hits, reps, k, delta = 0, 500, 16, 8.0
    for _ in range(reps):
        y, se = _simulate(rng, k, 5.0)
        flag = np.zeros(k, dtype=bool)
        flag[:4] = True
        y = y - delta * flag
        c = pd.DataFrame({"school_id": [f"s{i}" for i in range(k)], "n": 1, "mean": y, "sdw": se, "n2": 0})
        g = gaps.work_gaps(c, shnor={f"s{i}" for i in range(4)})
        hits += g["shnor_gap_low"] <= delta <= g["shnor_gap_high"]
    assert 0.93 <= hits / reps <= 0.975, hits / reps


def test_within_context_gap_removes_what_the_clusters_explain():
    # two context clusters 20 p.p. apart, no spread inside them beyond noise
    ids = [f"s{i}" for i in range(12)]
    cluster = pd.Series([1] * 6 + [2] * 6, index=ids)
    mean = np.r_[np.full(6, 40.0), np.full(6, 60.0)] + np.tile([-0.5, 0.5, -0.2, 0.2, 0.1, -0.1], 2)
    c = pd.DataFrame({"school_id": ids, "n": 30, "mean": mean, "sdw": 15.0, "n2": 0})
    g = gaps.work_gaps(c, cluster=cluster)
    assert g["p90_p10"] > 20                        # across clusters the gap is large ...
    assert g["within_p90_p10"] == 0.0               # ... inside them nothing beyond sampling noise
    assert g["context_share"] == pytest.approx(1.0)


def test_two_share_ratio_by_hand():
    # bottom quartile: schools ranked 1 and 2 (10 + 8 of 40 pupils have «2»); top: ranked 7 and 8 (1 + 1 of 40)
    r = gaps.two_share_ratio([10, 8, 4, 4, 3, 3, 1, 1], [20] * 8, [1, 2, 3, 4, 5, 6, 7, 8], min_schools=2)
    assert r["two_bottom"] == pytest.approx(18 / 40) and r["two_top"] == pytest.approx(2 / 40)
    assert r["two_ratio"] == pytest.approx(9.0)
    assert r["two_ratio_low"] < 9.0 < r["two_ratio_high"]
    # two schools a quartile leave about one degree of freedom: by default no interval is given
    default = gaps.two_share_ratio([10, 8, 4, 4, 3, 3, 1, 1], [20] * 8, [1, 2, 3, 4, 5, 6, 7, 8])
    assert default["two_ratio"] == pytest.approx(9.0) and np.isnan(default["two_ratio_low"])
    none_on_top = gaps.two_share_ratio([10, 8, 4, 4, 3, 3, 0, 0], [20] * 8, range(8))
    assert np.isnan(none_on_top["two_ratio"]) and none_on_top["two_top"] == 0.0


def test_v_statistic_is_cohens_d_for_normal_groups():
    rng = np.random.default_rng(3)

    def hist(mu, schools=30, pupils=200):
        x = np.clip(np.round(rng.normal(mu, 6.0, (schools, pupils))), 0, 40).astype(int)
        return np.stack([np.bincount(r, minlength=41) for r in x])
    r = gaps.v_statistic(hist(26.0), hist(20.0))
    assert r["v"] == pytest.approx(1.0, abs=0.05)            # d = 6 / 6
    assert r["v_low"] < 1.0 < r["v_high"]


def test_rank_gap_survives_a_monotone_change_of_the_score_scale():
    """Next year's scale re-labels the scores by an increasing map: the V gap stays, the p.p. gap does not."""
    rng = np.random.default_rng(5)
    rows, means = [], []
    for i in range(16):
        centre = 12 + i
        scores = np.clip(np.round(rng.normal(centre, 5.0, 40)), 0, 40).astype(int)
        sid = f"s{i:02d}"
        means.append({"year": 2026, "subject": "math", "grade": 5, "school_id": sid, "n": 40,
                      "mean": 100 * scores.mean() / 40, "sdw": 100 * 5.0 / 40})
        for sc, k in zip(*np.unique(scores, return_counts=True)):
            rows.append({"year": 2026, "subject": "math", "grade": 5, "school_id": sid, "score": sc, "pupils": k})
    m, h = pd.DataFrame(means), pd.DataFrame(rows)
    before = gaps.rank_gaps(m, h)
    stretched = h.assign(score=np.exp(h["score"] / 8.0))        # increasing, far from linear
    after = gaps.rank_gaps(m, stretched)
    assert before["v"].iloc[0] > 1.0
    assert after["v"].iloc[0] == pytest.approx(before["v"].iloc[0], rel=1e-12)
    assert after["v_low"].iloc[0] == pytest.approx(before["v_low"].iloc[0], rel=1e-12)


def test_v_statistic_interval_is_wider_than_pupils_alone_would_make_it():
    # schools differ within each group: the jackknife over schools must see it
    rng = np.random.default_rng(4)
    def hist(mu):
        centres = rng.normal(mu, 3.0, 8)
        x = [np.clip(np.round(rng.normal(c, 6.0, 60)), 0, 40).astype(int) for c in centres]
        return np.stack([np.bincount(r, minlength=41) for r in x])
    r = gaps.v_statistic(hist(26.0), hist(20.0))
    naive_se = np.sqrt(2 / 480)                 # independent pupils, d ≈ 1
    assert (r["v_high"] - r["v_low"]) / (2 * 2.36) > 2 * naive_se


def test_dynamics_of_an_empty_list_is_an_empty_table_not_an_error():
    trend = pd.DataFrame({"school_id": ["a", "b", "a", "b"], "year": [2025, 2025, 2026, 2026],
                          "estimate": [-5.0, 5.0, -4.0, 4.0], "se": 2.0})
    twos = pd.DataFrame({"school_id": ["a", "b", "a", "b"], "year": [2025, 2025, 2026, 2026], "n2": 3, "n": 30})
    nobody = pd.DataFrame({"school_id": ["a", "b"], "municipality": "001", "flagged": False})
    d = gaps.school_dynamics(trend, twos, nobody, nobody, 2025, 2026)
    assert d.empty and "exit" in d.columns
    s = gaps.dynamics_summary(d, 2025, 2026)
    assert s["judged"].eq(0).all() and s["share"].isna().all()


def _region_trend():
    others = [f"s{i:02d}" for i in range(3, 20)]
    rows = []
    for y in (2023, 2024, 2025, 2026):
        rows += [{"school_id": s, "year": y, "estimate": v, "se": 1.0} for s, v in zip(others, np.linspace(-9, 9, 17))]
    rows += [{"school_id": "s00", "year": 2025, "estimate": -20.0, "se": 2.0},
             {"school_id": "s00", "year": 2026, "estimate": -12.0, "se": 2.0},
             {"school_id": "s01", "year": 2025, "estimate": -15.0, "se": 2.0},
             {"school_id": "s01", "year": 2026, "estimate": -14.5, "se": 2.0},
             {"school_id": "s02", "year": 2025, "estimate": -16.0, "se": 2.0},
             {"school_id": "s02", "year": 2026, "estimate": -1.0, "se": 2.0}]
    return pd.DataFrame(rows)


def test_positive_dynamics_by_hand():
    trend = _region_trend()
    twos = pd.DataFrame({"school_id": ["s00", "s00", "s01", "s01", "s02", "s02"], "year": [2025, 2026] * 3,
                         "n2": [10, 4, 9, 9, 9, 1], "n": 30})
    base = pd.DataFrame({"school_id": ["s00", "s01", "s02", "s03"], "municipality": "001",
                         "flagged": [True, True, True, False]})
    now = base.assign(flagged=[False, True, False, False])
    d = gaps.school_dynamics(trend, twos, base, now, 2025, 2026, excluded={"s02"}).set_index("school_id")
    assert d.loc["s00", "change"] == pytest.approx(8.0)
    assert d.loc["s00", "change_low"] == pytest.approx(8.0 - 1.959964 * np.sqrt(8.0), rel=1e-5)
    assert d.loc["s00", "two_change"] == pytest.approx(-20.0)
    # s00: left the list, rose 8 p.p. beyond its interval, but only from the 5th to the 10th percentile
    assert [bool(d.loc["s00", c]) for c in ("exit", "beyond_interval", "percentile")] == [True, True, False]
    # s01: still listed, +0.5 p.p. within the noise
    assert [bool(d.loc["s01", c]) for c in ("exit", "beyond_interval")] == [False, False]
    # s02 has signs of non-objective results this year: kept in the table, judged by no definition
    assert d.loc["s02", "excluded"] and pd.isna(d.loc["s02", "exit"]) and pd.isna(d.loc["s02", "beyond_interval"])
    s = gaps.dynamics_summary(d.reset_index(), 2025, 2026).set_index("definition")
    assert s.loc["exit", ["listed", "excluded", "judged", "positive"]].tolist() == [3, 1, 2, 1]
    assert s.loc["beyond_interval", "share"] == 0.5
    assert "5 п.п." in s.loc["beyond_interval", "text_ru"] and "2025" in s.loc["exit", "text_ru"]
    # a supported school's past already carries the support: it gets no «expected without support»
    sup = gaps.school_dynamics(trend, twos, base, now, 2025, 2026, supported={"s00"}).set_index("school_id")
    assert pd.isna(sup.loc["s00", "expected_change"]) and np.isfinite(sup.loc["s01", "expected_change"])


def test_regression_to_the_mean_matches_what_unsupported_low_schools_do():
    """Simulated region with no support at all: schools picked for a low result in one year rise the next by what
    ``expected_change`` predicts (here selection on the latest year, the plain case)."""
    rng = np.random.default_rng(12)
    k = 3000
    theta = rng.normal(0, 8, k)
    n = rng.integers(8, 120, k)
    se = 20 / np.sqrt(n)
    rows = [pd.DataFrame({"school_id": np.arange(k), "year": y, "se": se,
                          "estimate": theta + rng.normal(0, 2, k) + rng.normal(0, se)}) for y in (2023, 2024, 2025, 2026)]
    trend = pd.concat(rows)
    e = gaps.expected_change(trend, 2025, 2026).set_index("school_id")
    observed = (trend[trend.year == 2026].set_index("school_id")["estimate"]
                - trend[trend.year == 2025].set_index("school_id")["estimate"])
    low = e["estimate_base"] <= e["estimate_base"].quantile(0.1)
    assert observed[low].mean() > 2                                   # the bottom tenth rises with no support
    assert e.loc[low, "expected_change"].mean() == pytest.approx(observed[low].mean(), abs=0.6)


def test_two_share_ratio_interval_does_not_undercover_in_a_small_municipality():
    """20 schools of 10–60 pupils, «2» more frequent in weaker schools: the interval of the ratio covers the
    ratio of the selected quartiles' true shares at least 93 % of the time (measured 99 %: the school-cluster
    variance also counts the spread of true shares within a quartile, so it errs on the safe side)."""
    rng = np.random.default_rng(3)
    hits = done = 0
    for _ in range(300):
        n = rng.integers(10, 60, 20)
        theta = rng.normal(50, 10, 20)
        p = 1 / (1 + np.exp((theta - 38) / 6))
        se = 18 / np.sqrt(n)
        y = theta + rng.normal(0, se)
        rank = gaps.shrunk_means(y, se, gaps.spread(y, se).tau2)
        r = gaps.two_share_ratio(rng.binomial(n, p), n, rank)
        if not np.isfinite(r["two_ratio_low"]):
            continue
        lo, hi = np.quantile(rank, [0.25, 0.75])
        b, t = rank <= lo, rank >= hi
        true = (np.sum(n[b] * p[b]) / n[b].sum()) / (np.sum(n[t] * p[t]) / n[t].sum())
        done += 1
        hits += r["two_ratio_low"] <= true <= r["two_ratio_high"]
    assert done > 250 and hits / done >= 0.93


def test_trajectories_name_the_schools_that_pull_away():
    rng = np.random.default_rng(21)
    k, years = 150, np.arange(2022, 2027)
    level = rng.normal(0, 8, k)
    slope = np.zeros(k)
    slope[:8], slope[8:14] = 3.0, -3.0                  # eight catch up, six fall behind, the rest go with the region
    rows = [{"school_id": f"s{i:03d}", "year": int(y), "estimate": level[i] + slope[i] * (y - 2024) + rng.normal(0, 1.5)}
            for i in range(k) for y in years]
    tj = gaps.school_trajectories(pd.DataFrame(rows)).set_index("school_id")
    assert tj["note"].eq("").all()
    up = tj.index[tj["diverging"] == "догоняет"]
    down = tj.index[tj["diverging"] == "отстаёт"]
    assert {f"s{i:03d}" for i in range(8)} <= set(up) and {f"s{i:03d}" for i in range(8, 14)} <= set(down)
    assert len(up) + len(down) - 14 <= 0.1 * (k - 14)  # an ordinary school is rarely called diverging
    assert tj.loc["s000", "slope_low"] < 3.0 < tj.loc["s000", "slope_high"] + 0.5


def test_trajectories_claim_nothing_from_a_degenerate_fit():
    """Ten schools, slopes all equal: the slope variance collapses and no school may be called diverging."""
    rng = np.random.default_rng(22)
    rows = [{"school_id": f"s{i}", "year": y, "estimate": 5.0 * i + 0.5 * (y - 2024) + rng.normal(0, 2.0)}
            for i in range(10) for y in range(2022, 2027)]
    tj = gaps.school_trajectories(pd.DataFrame(rows))
    assert tj["diverging"].eq("").all() and tj["note"].iloc[0] != ""


@pytest.mark.slow
def test_null_region_shows_regression_to_the_mean_and_no_support_effect(null_store, tmp_path):
    """Nothing planted and no programme: the schools a methodology lists in 2025 rise by 2026 about as much as
    regression to the mean predicts, and a «programme» given at random to half of them shows no effect."""
    from workbench import evaluation
    from workbench.reports import gaps as R
    from workbench.results import RegionResults

    store, _ = null_store
    res = RegionResults(store, tmp_path)
    assert gaps.support_of(store, gaps.load_gap_params()).empty          # no network pairs in a null region
    assert "нельзя" in " ".join(R.evaluation_sentences(res.evaluation(2026), 0, "регион"))
    dyn = res.dynamics(2026, "kamensk_uralsky")          # «below the regional mean»: a list long enough to judge
    judged = dyn[~dyn["excluded"] & dyn["change"].notna()]
    assert len(judged) >= 3
    # the rise expected without support and the rise observed agree within their noise
    se = judged["change"].std(ddof=1) / np.sqrt(len(judged))
    assert abs(judged["change"].mean() - judged["expected_change"].mean()) < 2.5 * se + 0.5
    # a placebo programme for a random half of the listed schools from 2025: no effect
    rng = np.random.default_rng(0)
    placebo = set(rng.permutation(sorted(judged["school_id"]))[: max(2, len(judged) // 2)])
    trend = res.trend(2026)
    panel = trend.assign(cohort=np.where(trend["school_id"].isin(placebo), 2025.0, np.nan))
    ev = evaluation.evaluate(panel.rename(columns={"estimate": "outcome"}), k=5)
    assert ev.overall["ci_low"] < 0 < ev.overall["ci_high"]
