"""Leader-school partners (workbench.partners): eligibility, context distance, the optimal assignment under
capacity, distance and similarity limits, ties, and the global solution beating the greedy one."""
import numpy as np
import pandas as pd
import pytest

from workbench.partners import (candidate_pairs, eligible_leaders, load_partner_params, match, override)


def _schools(rows):
    """rows: (id, social_z, size_z, settlement, km[, type, municipality])"""
    out = []
    for r in rows:
        sid, soc, size, settlement, km, *rest = r
        out.append({"school_id": sid, "name": f"Школа {sid}", "municipality": rest[1] if len(rest) > 1 else "001",
                    "school_type": rest[0] if rest else "СОШ", "settlement": settlement, "distance_km": km,
                    "social_z": soc, "size_z": size, "enrolment": 300})
    return pd.DataFrame(out)


def test_capacity_limits_partners_per_leader_and_names_the_reason():
    s = _schools([("a", 0.0, 0, "село", 10), ("b", 0.1, 0, "село", 10), ("c", 0.2, 0, "село", 10),
                  ("L", 0.0, 0, "село", 10)])
    pairs, alone = match(s, ["a", "b", "c"], ["L"], load_partner_params())     # capacity 2
    assert sorted(pairs["school_id"]) == ["a", "b"] and set(pairs["leader_id"]) == {"L"}
    assert alone["school_id"].tolist() == ["c"]
    assert "уже сопровождают по 2 школы" in alone["reason"].iat[0]
    one = override(load_partner_params(), capacity=3)
    assert len(match(s, ["a", "b", "c"], ["L"], one)[0]) == 3


def test_similarity_limit_and_travel_limit():
    s = _schools([("a", -1.0, 0, "село", 50), ("far_context", 1.5, 0, "село", 5), ("far_road", -1.0, 0, "село", 40)])
    p = load_partner_params()        # max distance 1, max 80 km via the centre
    pairs = candidate_pairs(s, ["a"], ["far_context", "far_road"], p).set_index("leader_id")
    # Δsocial 2.5 with weight 2 of 4.5: √(2·6.25/4.5) = 1.667 > 1
    assert pairs.loc["far_context", "distance"] == pytest.approx(np.sqrt(12.5 / 4.5))
    assert not pairs.loc["far_context", "admissible"] and "контекст отличается на 1,67" in pairs.loc["far_context", "why_not"]
    assert pairs.loc["far_road", "travel_km"] == 90 and "около 90 км" in pairs.loc["far_road", "why_not"]
    got, alone = match(s, ["a"], ["far_context", "far_road"], p)
    assert got.empty and "нет допустимой школы-лидера" in alone["reason"].iat[0]
    unlimited = override(p, max_travel_km=None)
    assert match(s, ["a"], ["far_context", "far_road"], unlimited)[0]["leader_id"].tolist() == ["far_road"]


def test_categorical_features_count_in_the_distance():
    s = _schools([("a", 0.0, 0, "село", 10), ("city", 0.0, 0, "город", 10), ("village", 0.3, 0, "село", 10)])
    pairs = candidate_pairs(s, ["a"], ["city", "village"], load_partner_params()).set_index("leader_id")
    assert pairs.loc["city", "distance"] == pytest.approx(np.sqrt(1 / 4.5))           # only the settlement differs
    assert pairs.loc["village", "distance"] == pytest.approx(np.sqrt(2 * 0.09 / 4.5))
    assert match(s, ["a"], ["city", "village"], load_partner_params())[0]["leader_id"].iat[0] == "village"


def test_ties_resolve_by_leader_id_every_time():
    s = _schools([("a", 0.0, 0, "село", 10), ("L2", 0.2, 0, "село", 10), ("L1", 0.2, 0, "село", 10)])
    for leaders in (["L2", "L1"], ["L1", "L2"]):
        pairs, _ = match(s, ["a"], leaders, load_partner_params())
        assert pairs["leader_id"].tolist() == ["L1"]
        assert pairs["alternatives"].iat[0].startswith("Школа L2 (расстояние 0,13")


def _greedy(pairs, targets, k):
    load, got = {}, {}
    for t in targets:
        cand = pairs[(pairs["school_id"] == t) & pairs["admissible"]].sort_values("distance")
        for lid in cand["leader_id"]:
            if load.get(lid, 0) < k:
                load[lid] = load.get(lid, 0) + 1
                got[t] = lid
                break
    return got


def test_global_assignment_beats_greedy():
    # a is close to both leaders, b only to L1: greedy in list order gives L1 to a and leaves b alone;
    # the optimal assignment pairs a–L2 and b–L1
    s = _schools([("a", 0.0, 0, "село", 10), ("b", 1.0, 0, "село", 10), ("L1", 0.5, 0, "село", 10),
                  ("L2", -0.8, 0, "село", 10)])
    p = override(load_partner_params(), capacity=1)
    pairs = candidate_pairs(s, ["a", "b"], ["L1", "L2"], p)
    assert _greedy(pairs, ["a", "b"], 1) == {"a": "L1"}
    got, alone = match(s, ["a", "b"], ["L1", "L2"], p)
    assert dict(zip(got["school_id"], got["leader_id"])) == {"a": "L2", "b": "L1"} and alone.empty
    # and when both could be paired either way, the total distance is the smallest
    s2 = _schools([("a", 0.0, 0, "село", 10), ("b", 0.4, 0, "село", 10), ("L1", 0.3, 0, "село", 10),
                   ("L2", -0.2, 0, "село", 10)])
    got2, _ = match(s2, ["b", "a"], ["L1", "L2"], p)
    assert dict(zip(got2["school_id"], got2["leader_id"])) == {"a": "L2", "b": "L1"}


def test_scope_keeps_pairs_inside_the_municipality_unless_region():
    s = _schools([("a", 0.0, 0, "село", 10, "СОШ", "001"), ("L", 0.0, 0, "село", 10, "СОШ", "002")])
    assert match(s, ["a"], ["L"], load_partner_params())[0].empty
    assert "в муниципалитете" in match(s, ["a"], ["L"], load_partner_params())[1]["reason"].iat[0]
    region = override(load_partner_params(), scope="region")
    assert match(s, ["a"], ["L"], region)[0]["leader_id"].tolist() == ["L"]


def test_eligibility_rules():
    schools = pd.DataFrame({"school_id": ["ok", "gym", "listed", "signal", "unstable", "small", "below"],
                            "municipality": "001",
                            "school_type": ["СОШ", "гимназия", "СОШ", "СОШ", "СОШ", "СОШ", "СОШ"]})
    rows = []
    est = {"ok": [3, 4, 5], "gym": [9, 9, 9], "listed": [3, 3, 3], "signal": [3, 3, 3], "unstable": [3, -1, -2],
           "small": [5, 5, 5], "below": [6, 6, -3]}
    for sid, e in est.items():
        for y, v in zip((2024, 2025, 2026), e):
            hi = v + (1 if sid != "below" else 2)
            rows.append({"school_id": sid, "year": y, "n": 10 if sid == "small" else 60, "estimate": v,
                         "ci_low": v - 2, "ci_high": hi if sid != "below" or v > 0 else -1})
    trend = pd.DataFrame(rows)
    e = eligible_leaders(schools, trend, {"listed"}, {"signal"}, 2026, load_partner_params()).set_index("school_id")
    assert e["eligible"].to_dict() == {"ok": True, "gym": False, "listed": False, "signal": False, "unstable": False,
                                       "small": False, "below": False}
    assert "гимназия" in e.loc["gym", "reason"] and "признаки необъективности" in e.loc["signal", "reason"]
    assert "выше региона 1 из 3 лет" in e.loc["unstable", "reason"] and "мало участников" in e.loc["small", "reason"]
    assert "значимо ниже региона" in e.loc["below", "reason"]
    assert e.loc["ok", "years_above"] == 3 and e.loc["ok", "mean_result"] == 4
