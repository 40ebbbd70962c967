"""ВПР vs journal marks: the FIS OKO agreement report and square-table agreement statistics (workbench.agreement).

Known answers come from hand arithmetic (shown in comments) or from published results (sources and tables in
tests/data/agreement_README.md):
- Stuart (1955) unaided vision, 7477 women: Stuart–Maxwell Q = 11.96 (R coin, man/vision.Rd);
- Peterson et al. (2007) via Fagerland, Lydersen & Laake (2017), R contingencytables: Bowker T0 = 26.250,
  Stuart T0 = 26.250 (df 3, P = 0.000008), empty pairs;
- SAS PROC FREQ printout for a 3 × 3 table with an empty column (statsmodels test_inter_rater.py: table10):
  simple and linear-weighted kappa with ASE, ASE under H0, limits, Z and p;
- R irr::kappa2 on the anxiety data (raters 2 and 3; recorded in statsmodels test_inter_rater.py).
The demo region's truth file agreement.csv checks agreement_report end to end.
"""
import doctest
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import SquareTable
from statsmodels.stats.inter_rater import cohens_kappa

import workbench.agreement as A
from workbench.agreement import (AGREEMENT_COLUMNS_RU, CLASS_LEVEL_WARNING, agreement_by, agreement_report,
                                 agreement_statistics, agreement_trend, mark_agreement, square_table)

DATA = Path(__file__).parent / "data"


def published(example: str) -> np.ndarray:
    t = pd.read_csv(DATA / "agreement_tables.csv")
    t = t[t["example"] == example].pivot(index="row", columns="col", values="count").sort_index().sort_index(axis=1)
    return t.to_numpy(dtype=float)


def printed(x: float, decimals: int) -> float:
    """Round half away from zero, as SAS/R print (Python's round() is banker's rounding on ties)."""
    q = 10.0**decimals
    return float(np.sign(x) * np.floor(abs(x) * q + 0.5) / q)


def test_doctests():
    result = doctest.testmod(A)
    assert result.attempted >= 12 and result.failed == 0


def test_class_level_docstrings_carry_the_warning():
    for f in (mark_agreement, agreement_by):
        doc = " ".join(f.__doc__.split())
        assert "WARNING: ВПР results may not be used to evaluate teachers" in doc
        assert "research only" in doc and "never for municipal outputs" in doc
    assert "WARNING" in A.__doc__


# ====================================================================== part 1: FIS OKO counts

def pupils(**cols) -> pd.DataFrame:
    return pd.DataFrame({k: pd.array(v, dtype="Int64") if k.endswith("mark") else v for k, v in cols.items()})


def test_mark_agreement_by_hand():
    # school a: journal -> ВПР 4->3, 5->4 lowered; 4->4 confirmed; 3->5 raised (|diff| = 2); «2» without journal;
    # an absent pupil (no ВПР mark, journal 4) is not a participant. school b: 5->5 and 3->3.
    d = pupils(school_id=["a"] * 6 + ["b"] * 2, mark=[3, 4, 4, 5, 2, None, 5, 3], journal_mark=[4, 5, 4, 3, None, 4, 5, 3])
    out = mark_agreement(d)
    cols = ["school_id", "participants", "without_journal", "with_both", "lowered", "confirmed", "raised", "diff2"]
    assert out[cols].values.tolist() == [["a", 5, 1, 4, 2, 1, 1, 1], ["b", 2, 0, 2, 0, 2, 0, 0]]
    assert out[["lowered_share", "confirmed_share", "raised_share"]].values.tolist() == [[0.5, 0.25, 0.25], [0, 1, 0]]
    # Wilson 95 % for 1 of 4 (raised, school a), z^2 = 3.841459: centre (0.25 + 0.480182)/1.960365 = 0.372473,
    # half 1.959964 * sqrt(0.046875 + 0.060023)/1.960365 = 0.326887 -> [0.045586, 0.699360]
    assert out.loc[0, "raised_low"] == pytest.approx(0.045586, abs=2e-6)
    assert out.loc[0, "raised_high"] == pytest.approx(0.699360, abs=2e-6)
    assert out["sample_size"].tolist() == ["ограниченно (< 20)"] * 2


def test_mark_agreement_no_groups_and_empty_group():
    d = pupils(school_id=["a", "a", "b"], mark=[3, 4, 2], journal_mark=[3, 5, None])
    total = mark_agreement(d, by=())
    assert total[["participants", "without_journal", "with_both"]].values.tolist() == [[3, 1, 2]]
    out = mark_agreement(d)
    b = out.set_index("school_id").loc["b"]
    assert b["with_both"] == 0 and b["without_journal"] == 1          # counted, not dropped
    assert np.isnan(b["lowered_share"]) and np.isnan(b["lowered_low"])  # no pupil with both marks: no share
    assert b["sample_size"] == "ограниченно (< 20)"


def test_mark_agreement_other_columns_and_float_input():
    d = pd.DataFrame({"g": ["x", "x"], "m": [4.0, np.nan], "j": [3.0, 3.0]})
    out = mark_agreement(d, test_mark="m", journal_mark="j", by=["g"])
    assert out[["participants", "raised", "without_journal"]].values.tolist() == [[1, 1, 0]]


def test_class_level_tables_warn():
    d = pupils(school_id=["a"], class_label=["5А"], mark=[3], journal_mark=[4])
    with pytest.warns(UserWarning, match="только для исследования"):
        mark_agreement(d, by=["school_id", "class_label"])
    with pytest.warns(UserWarning, match="нельзя использовать для оценки учителей"):
        agreement_by(d, by=["class_label"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mark_agreement(d)  # no warning without class_label
    assert "учителей" in CLASS_LEVEL_WARNING


def test_column_titles_in_fis_oko_wording():
    assert AGREEMENT_COLUMNS_RU["lowered"] == "Понизили (Отметка < Отметка по журналу)"
    assert AGREEMENT_COLUMNS_RU["confirmed"] == "Подтвердили (Отметка = Отметка по журналу)"
    assert AGREEMENT_COLUMNS_RU["raised"] == "Повысили (Отметка > Отметка по журналу)"
    assert AGREEMENT_COLUMNS_RU["with_both"] == "Всего"
    assert AGREEMENT_COLUMNS_RU["without_journal"] == "Без отметки по журналу"
    assert AGREEMENT_COLUMNS_RU["diff2"] == "Разница на 2 и более балла"
    assert set(A.AGREEMENT_VALUES) <= set(AGREEMENT_COLUMNS_RU)


marks = st.one_of(st.none(), st.sampled_from([2, 3, 4, 5]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), marks, marks), min_size=0, max_size=60),
       seed=st.integers(0, 2**32 - 1))
def test_counts_are_consistent_and_order_free(rows, seed):
    d = pd.DataFrame({"school_id": pd.Series([r[0] for r in rows], dtype=object),
                      "mark": pd.array([r[1] for r in rows], dtype="Int64"),
                      "journal_mark": pd.array([r[2] for r in rows], dtype="Int64")})
    out = mark_agreement(d)
    assert (out["lowered"] + out["confirmed"] + out["raised"] == out["with_both"]).all()
    assert (out["with_both"] + out["without_journal"] == out["participants"]).all()
    assert (out["diff2"] <= out["lowered"] + out["raised"]).all()
    has = out["with_both"] > 0
    shares = out.loc[has, ["lowered_share", "confirmed_share", "raised_share"]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    assert out.loc[~has, "lowered_share"].isna().all()
    assert int(out["participants"].sum()) == int(d["mark"].notna().sum())
    assert ((out["lowered_low"] <= out["lowered_share"] + 1e-12) & (out["lowered_share"] <= out["lowered_high"] + 1e-12)
            | ~has).all()
    shuffled = d.sample(frac=1, random_state=seed % 2**32)
    pd.testing.assert_frame_equal(mark_agreement(shuffled), out)
    # the statistics per group do not depend on row order either
    pd.testing.assert_frame_equal(agreement_by(shuffled, by=["school_id"], min_n=1),
                                  agreement_by(d, by=["school_id"], min_n=1))


# ====================================================================== part 2: square table

def test_square_table_keeps_every_category():
    d = pd.DataFrame({"mark": [3, 3, 4, None, 5], "journal_mark": [4, 4, 4, 2, None]})
    t = square_table(d)
    assert t.index.tolist() == [2, 3, 4, 5] and t.columns.tolist() == [2, 3, 4, 5]
    assert t.index.name == "journal_mark" and t.columns.name == "mark"   # rows = journal, columns = ВПР
    assert t.loc[4, 3] == 2 and t.loc[4, 4] == 1 and int(t.to_numpy().sum()) == 3
    assert square_table(d.iloc[:0]).to_numpy().sum() == 0
    with pytest.raises(ValueError, match="вне списка категорий"):
        square_table(pd.DataFrame({"mark": [1], "journal_mark": [3]}))


# ---------------------------------------------------------------- published examples

def test_stuart_1955_vision_stuart_maxwell():
    t = published("stuart1955_vision")
    assert t.sum() == 7477
    s = agreement_statistics(t)
    assert printed(s["stuart_maxwell"], 2) == 11.96          # coin: "Asymptotic Stuart(-Maxwell) test (Q = 11.96)"
    assert int(s["stuart_maxwell_df"]) == 3
    assert s["stuart_maxwell_p"] == pytest.approx(stats.chi2.sf(s["stuart_maxwell"], 3))
    # orientation does not matter for any statistic
    s_t = agreement_statistics(t.T)
    for c in ("kappa", "kappa_linear", "kappa_quadratic", "bowker", "stuart_maxwell", "kappa_se", "kappa_quadratic_se"):
        assert s_t[c] == pytest.approx(s[c], rel=1e-10)


def test_peterson_2007_sparse_table():
    t = published("peterson2007")
    s = agreement_statistics(t)
    assert f"{s['bowker']:6.3f}" == "26.250"                 # McNemar-Bowker T0 = 26.250
    assert f"{s['stuart_maxwell']:6.3f}" == "26.250"         # Stuart T0 = 26.250 (df=3)
    assert int(s["stuart_maxwell_df"]) == 3
    assert f"{s['stuart_maxwell_p']:8.6f}" == "0.000008"
    # The book keeps df = k(k-1)/2 = 6 for Bowker (P = 0.000200); three pairs have n_ij + n_ji = 0, so here df = 3.
    assert f"{stats.chi2.sf(26.25, 6):8.6f}" == "0.000200"
    assert int(s["bowker_df"]) == 3
    assert s["bowker_p"] == pytest.approx(stats.chi2.sf(26.25, 3))
    # Bhapkar T = 27.304 is Stuart's statistic rescaled: W = Q / (1 - Q/n) (statsmodels' own identity)
    assert f"{s['stuart_maxwell'] / (1 - s['stuart_maxwell'] / t.sum()):6.3f}" == "27.304"


def test_sas_kappa_with_an_empty_column():
    t = published("sas_table10")                               # column 0 is empty
    s = agreement_statistics(t, min_n=1)                       # n = 19
    simple = [s["kappa"], s["kappa_se"], s["kappa_low"], s["kappa_high"], s["kappa_se0"],
              s["kappa"] / s["kappa_se0"], s["kappa_p"]]
    assert [printed(x, 4) for x in simple] == [0.4842, 0.1380, 0.2137, 0.7547, 0.1484, 3.2626, 0.0011]
    weighted = [s["kappa_linear"], s["kappa_linear_se"], s["kappa_linear_low"], s["kappa_linear_high"],
                s["kappa_linear_se0"], s["kappa_linear"] / s["kappa_linear_se0"], s["kappa_linear_p"]]
    assert [printed(x, 4) for x in weighted] == [0.4701, 0.1457, 0.1845, 0.7558, 0.1426, 3.2971, 0.0010]
    assert "мало наблюдений (n = 19 < 20)" in agreement_statistics(t)["note"]


def test_irr_anxiety_kappas():
    d = pd.read_csv(DATA / "agreement_anxiety.csv")
    t = square_table(d, test_mark="rater3", journal_mark="rater2", categories=[1, 2, 3, 4, 6])
    positions = agreement_statistics(t, scores=[0, 1, 2, 3, 4])   # irr weights by the levels present
    expected = {"kappa": (-0.006289308, -0.0604067, 0.9518317),
                "kappa_linear": (0.1459075, 1.282472, 0.1996772),
                "kappa_quadratic": (0.2520325, 1.437451, 0.1505898)}
    for k, (kappa, z, p) in expected.items():
        assert positions[k] == pytest.approx(kappa, abs=5e-10 if k == "kappa" else 5e-8)
        assert positions[k] / positions[k + "_se0"] == pytest.approx(z, abs=5e-7 if k == "kappa" else 5e-7)
        assert positions[k + "_p"] == pytest.approx(p, abs=5e-8)
    # mark values as scores (the workbench default): 6 is two steps from 4, so weighted kappas differ
    values = agreement_statistics(t)
    assert values["kappa"] == pytest.approx(positions["kappa"])
    assert values["kappa_linear"] != pytest.approx(positions["kappa_linear"], abs=1e-3)


# ---------------------------------------------------------------- statsmodels cross-check

@settings(max_examples=200, deadline=None)
@given(k=st.integers(2, 5), data=st.data())
def test_same_as_statsmodels_where_statsmodels_applies(k, data):
    t = np.array(data.draw(st.lists(st.integers(0, 40), min_size=k * k, max_size=k * k)), dtype=float).reshape(k, k)
    if t.sum() == 0:
        return
    scores = np.array(sorted(data.draw(st.sets(st.integers(0, 9), min_size=k, max_size=k))), dtype=float)
    s = agreement_statistics(t, scores=scores, min_n=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, wt in (("kappa", None), ("kappa_linear", "linear"), ("kappa_quadratic", "quadratic")):
            ref = cohens_kappa(t, weights=None if wt is None else scores, wt=wt)
            if np.isfinite(ref.kappa) and ref.var_kappa > 1e-12:
                assert s[name] == pytest.approx(ref.kappa, abs=1e-9)
                assert s[name + "_se"] == pytest.approx(ref.std_kappa, abs=1e-7)
                assert s[name + "_se0"] == pytest.approx(ref.std_kappa0, abs=1e-9)
        sq = SquareTable(t, shift_zeros=False)
        pairs = (t + t.T)[np.triu_indices(k, 1)]
        if (pairs > 0).all():            # every pair informative: Bowker identical, incl. df
            b = sq.symmetry()
            assert s["bowker"] == pytest.approx(b.statistic, rel=1e-9, abs=1e-12)
            assert int(s["bowker_df"]) == b.df
            h = sq.homogeneity()         # connected discordance graph: Stuart–Maxwell identical, incl. df
            assert s["stuart_maxwell"] == pytest.approx(h.statistic, rel=1e-8, abs=1e-9)
            assert int(s["stuart_maxwell_df"]) == h.df


# ---------------------------------------------------------------- hand-built known answers

def table(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, index=[2, 3, 4, 5], columns=[2, 3, 4, 5])


def test_perfect_agreement():
    s = agreement_statistics(table(np.diag([5, 10, 8, 3])))
    for k in ("kappa", "kappa_linear", "kappa_quadratic"):
        assert s[k] == pytest.approx(1.0) and s[k + "_se"] == pytest.approx(0.0, abs=1e-9)
    assert (s["bowker"], s["bowker_df"], s["bowker_p"]) == (0.0, 0, 1.0)
    assert (s["stuart_maxwell"], s["stuart_maxwell_df"], s["stuart_maxwell_p"]) == (0.0, 0, 1.0)
    assert "расхождений нет" in s["note"]


def test_full_disagreement_anti_diagonal():
    # journal 2<->5 and 3<->4 swapped, 10 pupils in each of the 4 anti-diagonal cells (n = 40).
    # po = 0, all margins 1/4 -> pe = 1/4, kappa = -1/3.
    # linear: D_o = (2*10*3 + 2*10*1) / (40*3) = 2/3, D_e = mean |i-j| / 3 = (20/16)/3 = 5/12 -> 1 - 8/5 = -0.6.
    # quadratic: D_o = (2*10*9 + 2*10*1) / (40*9) = 5/9, D_e = (40/16)/9 = 5/18 -> 1 - 2 = -1.
    # Pairs (2,5) and (3,4): 10 vs 10 -> 0; the other four pairs are empty: df 2. Margins equal: Q = 0 on 2 components.
    s = agreement_statistics(table(np.fliplr(np.eye(4)) * 10))
    assert s["kappa"] == pytest.approx(-1 / 3)
    assert s["kappa_linear"] == pytest.approx(-0.6)
    assert s["kappa_quadratic"] == pytest.approx(-1.0)
    assert (s["bowker"], s["bowker_df"]) == (0.0, 2) and s["bowker_p"] == pytest.approx(1.0)
    assert s["stuart_maxwell"] == pytest.approx(0.0, abs=1e-12) and s["stuart_maxwell_df"] == 2


def test_all_lowered_by_one_mark():
    # 20 pupils, journal 4 -> ВПР 3. pe = 0 (journal all 4, ВПР all 3), po = 0 -> kappa = 0.
    # Only pair (3,4) informative: Bowker = 20^2/20 = 20, df 1; Stuart–Maxwell = McNemar = 20, df 1.
    t = table(np.zeros((4, 4)))
    t.loc[4, 3] = 20
    s = agreement_statistics(t)
    assert s["kappa"] == pytest.approx(0.0)
    assert (s["bowker"], s["bowker_df"]) == (20.0, 1)
    assert s["stuart_maxwell"] == pytest.approx(20.0) and s["stuart_maxwell_df"] == 1
    assert s["bowker_p"] == pytest.approx(stats.chi2.sf(20, 1))


def test_empty_journal_row():
    # No «2» in the journal; 4 pupils 3->2, 2 pupils 4->3. Bowker 16/4 + 4/2 = 6 on 2 pairs; the discordance
    # graph 2-3-4 is a tree (5 isolated), so Stuart–Maxwell = Bowker = 6, df 2.
    # kappa: po = 19/25, pe = (10*8 + 10*8 + 5*5)/625 = 185/625 -> 29/44.
    t = table([[0, 0, 0, 0], [4, 6, 0, 0], [0, 2, 8, 0], [0, 0, 0, 5]])
    s = agreement_statistics(t)
    assert (s["bowker"], s["bowker_df"]) == (6.0, 2)
    assert s["stuart_maxwell"] == pytest.approx(6.0) and s["stuart_maxwell_df"] == 2
    assert s["kappa"] == pytest.approx(29 / 44)
    assert s["note"] == ""


def test_statsmodels_defaults_would_distort_sparse_tables():
    """Why the workbench does not call SquareTable with its defaults (documented in the module docstring)."""
    t = np.array([[0, 0, 0, 0], [4, 6, 0, 0], [0, 2, 8, 0], [0, 0, 0, 5]], dtype=float)
    assert SquareTable(t).symmetry().statistic == pytest.approx(3.6222, abs=1e-4)   # zeros -> 0.5
    assert SquareTable(t, shift_zeros=False).symmetry().df == 6                     # empty pairs kept in df
    first_empty = np.array([[0, 0, 0, 0], [0, 6, 1, 0], [0, 2, 8, 0], [0, 0, 0, 5]], dtype=float)
    with pytest.warns(Warning):
        assert np.isnan(SquareTable(first_empty, shift_zeros=False).homogeneity().statistic)   # singular
    # here: only pair (3,4) informative, 1 vs 2 -> McNemar (1-2)^2/3 for both tests, df 1
    s = agreement_statistics(table(first_empty), min_n=1)
    assert s["stuart_maxwell"] == pytest.approx(1 / 3) and s["stuart_maxwell_df"] == 1
    assert s["bowker"] == pytest.approx(1 / 3) and s["bowker_df"] == 1


def test_two_components():
    # 2<->3: 5 vs 1, 4<->5: 2 vs 6, nothing across: a forest, so Stuart–Maxwell = Bowker = 16/6 + 16/8 = 14/3, df 2.
    t = table([[3, 5, 0, 0], [1, 4, 0, 0], [0, 0, 7, 2], [0, 0, 6, 1]])
    s = agreement_statistics(t)
    assert s["bowker"] == pytest.approx(14 / 3) and s["bowker_df"] == 2
    assert s["stuart_maxwell"] == pytest.approx(14 / 3) and s["stuart_maxwell_df"] == 2


def test_small_and_degenerate_tables_give_nan_with_reason():
    s = agreement_statistics(table(np.eye(4) * 2))             # n = 8 < 20
    assert s["n"] == 8 and np.isnan(s["kappa"]) and np.isnan(s["bowker"]) and pd.isna(s["bowker_df"])
    assert "мало наблюдений (n = 8 < 20)" in s["note"]
    one = table(np.zeros((4, 4)))
    one.loc[4, 4] = 25                                          # everyone 4 and 4: kappa 0/0
    s = agreement_statistics(one)
    assert np.isnan(s["kappa"]) and np.isnan(s["kappa_quadratic_se"])
    assert "каппа не определена" in s["note"]
    assert (s["bowker"], s["bowker_df"], s["bowker_p"]) == (0.0, 0, 1.0)
    zero = agreement_statistics(np.zeros((3, 3)))
    assert zero["n"] == 0 and np.isnan(zero["kappa"])
    with pytest.raises(ValueError):
        agreement_statistics(np.ones((2, 3)))


def test_dataframe_tables_are_aligned():
    # a crosstab without the «2» row: aligned to a square table by label
    t = pd.DataFrame([[4, 6, 0], [0, 2, 8]], index=[3, 4], columns=[2, 3, 4])
    s = agreement_statistics(t, min_n=1)
    full = agreement_statistics(pd.DataFrame([[0, 0, 0], [4, 6, 0], [0, 2, 8]], index=[2, 3, 4], columns=[2, 3, 4]),
                                min_n=1)
    pd.testing.assert_series_equal(s, full)


# ---------------------------------------------------------------- per group, vectorised

def test_agreement_by_equals_one_table_at_a_time():
    rng = np.random.default_rng(7)
    n = 3000
    journal = rng.choice([2, 3, 4, 5], n, p=[0.02, 0.3, 0.45, 0.23])
    vpr = np.clip(journal - rng.choice([-1, 0, 1, 2], n, p=[0.08, 0.55, 0.32, 0.05]), 2, 5)
    d = pd.DataFrame({"school_id": rng.choice([f"s{i:02d}" for i in range(40)], n), "subject": rng.choice(["rus", "math"], n),
                      "grade": rng.choice([5, 6], n), "mark": pd.array(vpr, dtype="Int64"),
                      "journal_mark": pd.array(journal, dtype="Int64")})
    d.loc[rng.random(n) < 0.05, "journal_mark"] = pd.NA
    out = agreement_by(d)
    assert len(out) == d.groupby(["school_id", "subject", "grade"]).ngroups
    for i in rng.choice(len(out), 15, replace=False):
        key = out.loc[i, ["school_id", "subject", "grade"]]
        part = d[(d.school_id == key.school_id) & (d.subject == key.subject) & (d.grade == key.grade)]
        one = agreement_statistics(square_table(part))
        row = out.loc[i, one.index]
        pd.testing.assert_series_equal(row.rename(None), one.rename(None), check_dtype=False, check_names=False)
    pooled = agreement_by(d, by=[])
    assert pooled["n"].iloc[0] == int((d["mark"].notna() & d["journal_mark"].notna()).sum())


def test_agreement_by_is_fast_on_thousands_of_cells():
    rng = np.random.default_rng(3)
    n = 400_000                                   # 12 000 cells of about 33 pupils
    journal = rng.choice([3, 4, 5], n)
    d = pd.DataFrame({"school_id": rng.integers(0, 1000, n).astype(str), "subject": rng.choice(["rus", "math", "okr"], n),
                      "grade": rng.choice([4, 5, 6, 7], n), "journal_mark": journal,
                      "mark": np.clip(journal - rng.integers(-1, 2, n), 2, 5)})
    start = time.perf_counter()
    out = agreement_by(d)
    elapsed = time.perf_counter() - start
    assert len(out) == 12_000 and out["kappa"].notna().mean() > 0.9
    print(f"agreement_by: {elapsed:.2f} s for 12 000 cells")
    assert elapsed < 10, elapsed


def test_groups_without_pairs_are_kept():
    d = pupils(school_id=["a", "b"], mark=[3, 4], journal_mark=[3, None])
    out = agreement_by(d, by=["school_id"], min_n=1)
    assert out["school_id"].tolist() == ["a", "b"] and out["n"].tolist() == [1, 0]
    assert "мало наблюдений (n = 0 < 1)" in out.loc[1, "note"]


# ====================================================================== store: report and trend

@pytest.mark.slow
def test_demo_region_matches_truth(demo_import, demo_store):
    """Region and municipality counts of agreement_report, summed over years, equal the demo truth.

    Truth (workbench/demo/generate.py::_school_stats): works = rows not absent; with_journal = ВПР mark and
    journal mark both present; lowered/confirmed/raised compare them. In the demo every non-absent work has a
    mark, so works = participants (ВПР mark present) and with_journal = with_both: the counts must be equal.
    """
    root = demo_import[0]
    truth = pd.read_csv(root / "demo" / "truth" / "agreement.csv", dtype={"municipality": str}).set_index("municipality")
    years = [int(y) for y in demo_store.query("SELECT DISTINCT year FROM vpr ORDER BY 1")["year"]]
    municipalities = [m for m in truth.index if m != "регион"]
    totals: dict[str, pd.Series] = {}
    timings = []
    cols = ["participants", "with_both", "lowered", "confirmed", "raised"]
    for m in municipalities:
        for y in years:
            start = time.perf_counter()
            rep = agreement_report(demo_store, y, m)
            timings.append(time.perf_counter() - start)
            all_rows = rep[rep["subject"] == "все предметы"].set_index("level")
            for level, name in (("регион", "регион"), ("муниципалитет", m)):
                if level == "регион" and m != municipalities[0]:
                    continue
                totals[name] = totals.get(name, 0) + all_rows.loc[level, cols]
            # internal consistency: subject × grade rows add up to «все предметы», schools add up to the municipality
            by_work = rep[rep["subject"] != "все предметы"].groupby("level")[cols].sum()
            for level in ("регион", "муниципалитет"):
                assert by_work.loc[level].tolist() == all_rows.loc[level, cols].tolist()
            schools = rep[(rep["level"] == "школа") & (rep["subject"] == "все предметы")]
            assert schools[cols].sum().tolist() == all_rows.loc["муниципалитет", cols].tolist()
            assert schools["unit_name"].str.len().gt(0).all() and rep["school_id"].notna().eq(rep["level"] == "школа").all()
    truth_cols = ["works", "with_journal", "lowered", "confirmed", "raised"]
    for name, got in totals.items():
        assert got.astype(int).tolist() == truth.loc[name, truth_cols].astype(int).tolist(), name
    region = totals["регион"]
    for c in ("lowered", "confirmed", "raised"):
        assert round(region[c] / region["with_both"], 4) == truth.loc["регион", f"{c}_share"]
    print(f"agreement_report: {np.median(timings):.2f} s median per municipality-year ({len(timings)} calls)")
    assert max(timings) < 30


@pytest.mark.slow
def test_demo_trend_and_report_agree(demo_store):
    m = demo_store.query("SELECT min(municipality) AS m FROM vpr")["m"].iloc[0]
    trend = agreement_trend(demo_store, m)
    year = int(trend["year"].max())
    rep = agreement_report(demo_store, year, m, municipality_name="Тестовый МО")
    cols = ["participants", "without_journal", "with_both", "lowered", "confirmed", "raised", "diff2"]
    a = trend[trend["year"] == year].set_index(["subject", "grade", "level"])[cols].sort_index()
    b = rep[rep["level"] != "школа"].set_index(["subject", "grade", "level"])[cols].sort_index()
    pd.testing.assert_frame_equal(a, b)
    assert set(rep.loc[rep["level"] == "муниципалитет", "unit_name"]) == {"Тестовый МО"}
    assert rep["level"].tolist()[:2] == ["регион", "муниципалитет"]
    # filters
    sub = agreement_report(demo_store, year, m, subjects=["rus"], grades=[5])
    assert set(sub["subject"]) <= {"rus", "все предметы"} and set(sub["grade"].dropna()) <= {5}
    # the FIS OKO identities hold on real aggregates too
    assert (rep["lowered"] + rep["confirmed"] + rep["raised"] == rep["with_both"]).all()
    assert (rep["with_both"] + rep["without_journal"] == rep["participants"]).all()


def test_report_on_a_store_without_vpr(tmp_path):
    from workbench.data.store import Store

    empty = Store(tmp_path)
    assert agreement_report(empty, 2026, "004").empty
    assert agreement_trend(empty, "004").empty
