"""Risk profiles (workbench.risks): factor levels by hand on small cases, survey rules, year-keyed mappings,
parameter errors, and the demo region's risks following its planted context."""
import numpy as np
import pandas as pd
import pytest
import yaml

from workbench import risks
from workbench.config import ParamsError
from workbench.risks import indicator_values, load_risk_params, override, risk_profiles, standardise


def _one(values, risk="+", factor="wellbeing", code="ученик:bullying", weight=1.0, source="survey", ids=None):
    ids = ids or [chr(ord("a") + i) for i in range(len(values))]
    return pd.DataFrame({"year": 2026, "municipality": "001", "school_id": ids, "factor": factor, "code": code,
                         "title": code, "source": source, "risk": risk, "weight": weight,
                         "value": pd.array(values, dtype="Float64").astype(float), "status": "ok"})


def _levels(ind, **values):
    p = override(load_risk_params(), min_reference=2, **values)
    prof = risk_profiles(standardise(ind, p), p)
    return prof.set_index("school_id")


def test_zscore_levels_by_hand():
    # values 1..5: mean 3, population SD √2: z = −1.41, −0.71, 0, +0.71, +1.41 → the top one high, the next medium
    prof = _levels(_one([1.0, 2, 3, 4, 5]))
    assert prof["score"].round(4).tolist() == [-1.4142, -0.7071, 0.0, 0.7071, 1.4142]
    assert prof["level"].tolist() == ["низкий", "низкий", "низкий", "средний", "высокий"]
    assert set(prof["tag"]) == {"heuristic"}


def test_direction_minus_reverses_the_risk():
    prof = _levels(_one([1.0, 2, 3, 4, 5], risk="-"))
    assert prof["level"].tolist() == ["высокий", "средний", "низкий", "низкий", "низкий"]


def test_percentile_rule_uses_mid_ranks():
    prof = _levels(_one([1.0, 2, 3, 4, 5]), level_rule="percentile")
    assert prof["score"].tolist() == [10.0, 30.0, 50.0, 70.0, 90.0]
    assert prof["level"].tolist() == ["низкий", "низкий", "низкий", "средний", "высокий"]


def test_share_flagged_rule_counts_weighted_indicators():
    # two indicators; school e is at z +1.41 on the first (flagged), average on the second (weight 3) → 1/4 flagged
    a = _one([1.0, 2, 3, 4, 5], code="ученик:bullying")
    b = _one([1.0, 2, 3, 2, 1], code="ученик:unfair_treatment", weight=3.0)
    prof = _levels(pd.concat([a, b], ignore_index=True), level_rule="share_flagged")
    # b: mean 1.8, SD 0.748: c (3) is z +1.60 flagged with weight 3 → 0.75; e: only a → 0.25; d: neither (a 0.71, b 0.27)
    assert prof.loc["c", "flagged_share"] == pytest.approx(0.75)
    assert prof.loc["e", "flagged_share"] == pytest.approx(0.25)
    assert prof.loc["d", "flagged_share"] == 0
    assert prof.loc[["c", "e", "d"], "level"].tolist() == ["высокий", "средний", "низкий"]


def test_too_little_present_is_no_data_never_zero():
    # weights 1 and 3; school a lacks the weight-3 indicator: coverage 1/4 < 0.5 → «нет данных»
    a = _one([1.0, 2, 3, 4, 5], code="ученик:bullying")
    b = _one([np.nan, 2, 3, 2, 1], code="ученик:unfair_treatment", weight=3.0)
    b.loc[0, "status"] = "нет анкеты за последние годы"
    prof = _levels(pd.concat([a, b], ignore_index=True))
    assert prof.loc["a", "level"] == "нет данных"
    assert np.isnan(prof.loc["a", "composite"]) and prof.loc["a", "coverage"] == pytest.approx(0.25)
    assert "нет анкеты" in prof.loc["a", "missing"]
    # the other schools' composite is the weighted mean of their z
    assert prof.loc["b", "coverage"] == 1.0


def test_reference_too_small_leaves_indicator_unused():
    p = load_risk_params()            # min_reference 10, five schools here
    v = standardise(_one([1.0, 2, 3, 4, 5]), p)
    assert v["z"].isna().all() and v["status"].str.contains("меньше чем у 10 школ").all()
    assert set(risk_profiles(v, p)["level"]) == {"нет данных"}


def _surveys(values, respondents, indicator="bullying", respondent="ученик", year=2026):
    n = len(values)
    return pd.DataFrame({"year": year, "municipality": "001", "school_id": [f"s{i}" for i in range(n)],
                         "respondent": respondent, "indicator": indicator, "value": values,
                         "respondents": pd.array(respondents, dtype="Int64")})


def _schools(n):
    return pd.DataFrame({"school_id": [f"s{i}" for i in range(n)], "municipality": "001"})


def test_survey_minimum_respondents_and_shrinkage_by_hand():
    p = load_risk_params()   # ученик: at least 10 respondents, prior strength 20
    sv = _surveys([0.5, 0.3, 0.1, 0.9], [20, 60, 20, 5])
    v = indicator_values(_schools(4), sv, {}, 2026, p)
    v = v[v["code"] == "ученик:bullying"].set_index("school_id")
    assert v.loc["s3", "status"] == "ответили меньше 10" and np.isnan(v.loc["s3", "value"])
    # reference mean of the usable raw shares: (0.5 + 0.3 + 0.1) / 3 = 0.3; (n·p + 20·0.3) / (n + 20)
    assert v.loc["s0", "value"] == pytest.approx((20 * 0.5 + 20 * 0.3) / 40)
    assert v.loc["s1", "value"] == pytest.approx((60 * 0.3 + 20 * 0.3) / 80)
    assert v.loc["s2", "value"] == pytest.approx((20 * 0.1 + 20 * 0.3) / 40)
    assert v.loc["s0", "raw"] == 0.5
    # a director's single answer is never pulled
    d = indicator_values(_schools(2), _surveys([1.0, 0.0], [1, 1], "equipment_deficit", "директор"), {}, 2026, p)
    assert d[d["code"] == "директор:equipment_deficit"]["value"].tolist() == [1.0, 0.0]


def test_unknown_respondents_rule():
    sv = _surveys([0.5, 0.3], [None, 40])
    accept = indicator_values(_schools(2), sv, {}, 2026, load_risk_params())
    reject = indicator_values(_schools(2), sv, {}, 2026, override(load_risk_params(), unknown_respondents="reject"))
    a = accept[accept["code"] == "ученик:bullying"].set_index("school_id")
    r = reject[reject["code"] == "ученик:bullying"].set_index("school_id")
    assert a.loc["s0", "value"] == 0.5 and a.loc["s0", "status"] == "ok"        # used, not pulled
    assert r.loc["s0", "status"] == "не указано число ответивших" and np.isnan(r.loc["s0", "value"])


def test_latest_survey_within_max_age_is_used():
    sv = pd.concat([_surveys([0.2], [30], year=2023), _surveys([0.4], [30], year=2025)])
    v = indicator_values(_schools(1), sv, {}, 2026, load_risk_params())
    assert v[v["code"] == "ученик:bullying"]["raw"].tolist() == [0.4]
    old = indicator_values(_schools(1), _surveys([0.2], [30], year=2023), {}, 2026, load_risk_params())
    assert old[old["code"] == "ученик:bullying"]["status"].tolist() == ["нет анкеты за последние годы"]


def test_mapping_is_chosen_by_year(tmp_path):
    data = yaml.safe_load(open(risks.__file__.replace("workbench/risks.py", "params/risks.yaml"), encoding="utf-8"))
    later = {"from_year": 2024, "tag": "heuristic", "source": "тестовый набор 2024 года",
             "factors": {"wellbeing": [{"source": "survey", "respondent": "ученик", "indicator": "bullying",
                                        "risk": "+", "title": "Буллинг"}]}}
    data["mappings"].append(later)
    f = tmp_path / "risks.yaml"
    f.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    p = load_risk_params(f)
    assert p.mapping_for(2023).from_year == 2021 and p.mapping_for(2025).from_year == 2024
    assert set(indicator_values(_schools(1), _surveys([0.1], [30]), {}, 2025, p)["factor"]) == {"wellbeing"}
    assert indicator_values(_schools(1), _surveys([0.1], [30]), {}, 2023, p)["factor"].nunique() == 10
    with pytest.raises(ValueError, match="для 2020 года нет набора"):
        p.mapping_for(2020)


def test_bad_parameter_file_names_key_and_allowed_values(tmp_path):
    data = yaml.safe_load(open(risks.__file__.replace("workbench/risks.py", "params/risks.yaml"), encoding="utf-8"))
    data["level_rule"]["value"] = "median"
    data["mappings"][0]["factors"]["equipment"][2]["column"] = "share_old_textbooks"
    f = tmp_path / "risks.yaml"
    f.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ParamsError) as e:
        load_risk_params(f)
    text = str(e.value)
    assert "level_rule" in text and "zscore" in text and "percentile" in text and "share_flagged" in text
    assert "share_old_textbooks" in text and "share_new_textbooks" in text


def test_demo_region_risks_follow_the_planted_context(demo_import, demo_store):
    root = demo_import[0]
    ind, prof = risks.region_risks(demo_store, 2026)
    assert set(prof["level"]) <= set(risks.LEVELS)
    assert prof.groupby("school_id")["factor"].nunique().eq(10).all()
    truth = pd.read_csv(root / "demo" / "truth" / "schools.csv", dtype={"school_id": str})
    high = prof.assign(h=prof["level"].eq("высокий")).groupby("school_id")["h"].sum().rename("high").reset_index()
    m = truth.merge(high, on="school_id")
    # the demo's questionnaires and administrative data worsen with deprivation (low ses): more high-risk factors
    assert m["high"].corr(m["ses"]) < -0.4
    assert m.loc[m["persistently_low"], "high"].mean() > m.loc[~m["persistently_low"], "high"].mean() + 1
    # «нет данных» only where indicators are missing, and then the reason is named
    nd = prof[prof["level"] == "нет данных"]
    assert (nd["missing"].str.len() > 0).all()
    addr = risks.factors_to_address(prof)
    assert addr.groupby("school_id")["rank"].apply(lambda r: r.tolist() == list(range(1, len(r) + 1))).all()
