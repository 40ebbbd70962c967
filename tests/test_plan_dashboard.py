"""The «Риски» and «План» views in Python: what they show is the package's support plan, the report date moves
«просрочено» by the rule, a school's card lists its ten factors; the app keeps the selection across them (the
browser test drives the same views in Voila and Chromium)."""
import datetime as dt

import pandas as pd
import pytest

from workbench.dashboards import app as A
from workbench.dashboards.plan import PlanDashboard
from workbench.plan import support_plan
from workbench.reports.deliverables import methodology_of

ON = dt.date(2026, 12, 4)


@pytest.fixture(scope="module")
def dash(demo_store):
    d = PlanDashboard(demo_store, on=ON)
    d.select(municipality="004")
    return d


def _overdue_by_hand(store, on) -> int:
    m = store.read("measures", "004")
    open_ = ~m["status"].isin(["выполнено", "отменено"])
    return int((open_ & (pd.to_datetime(m["deadline"]) < pd.Timestamp(on))).sum())


def test_view_shows_the_package_plan(dash, demo_store):
    name, _, params = methodology_of("004")
    sp = support_plan(dash.results, 2026, "004", name, params, on=ON)
    s = dash.summary()
    assert (s["listed"], s["pairs"], s["alone"], s["draft"]) == (len(sp.targets), len(sp.pairs), len(sp.alone),
                                                                  len(sp.draft))
    assert s["items"] == len(demo_store.read("measures", "004")) and s["overdue"] == _overdue_by_hand(demo_store, ON)
    for r in sp.pairs.itertuples():
        assert r.name in dash.pairs_html.value and r.leader_name in dash.pairs_html.value
    assert dash.heatmap_out.outputs and dash.heatmap_out.outputs[0]["data"].get("image/png")
    assert "Показатели мониторинга по циклам" in dash.indicators_html.value and not dash.errors


def _soon_by_hand(store, on, days=30) -> int:
    m = store.read("measures", "004")
    open_ = ~m["status"].isin(["выполнено", "отменено"])
    d = pd.to_datetime(m["deadline"])
    return int((open_ & (d >= pd.Timestamp(on)) & (d <= pd.Timestamp(on) + pd.Timedelta(days=days))).sum())


def test_report_date_moves_overdue_by_the_rule(dash, demo_store):
    earlier = dt.date(2026, 6, 1)    # the demo roadmap's last open deadlines fall in June and September 2026
    dash.report_date.value = earlier
    s = dash.summary()
    assert s["overdue"] == _overdue_by_hand(demo_store, earlier) < _overdue_by_hand(demo_store, ON)
    assert s["soon"] == _soon_by_hand(demo_store, earlier) >= 1
    assert "Дорожная карта на 01.06.2026" in dash.roadmap_html.value and "wb-soon" in dash.roadmap_html.value
    dash.report_date.value = ON
    assert dash.summary()["overdue"] == _overdue_by_hand(demo_store, ON)


def test_school_card_lists_every_factor_and_its_draft(dash):
    sid = dash.plan.targets["school_id"].iloc[0]
    dash.select(school=sid)
    card = dash.card_html.value
    assert card.count("wb-lv wb-lv-") == 10 and "Черновик плана школы на цикл" in card
    for m in dash.plan.draft.loc[dash.plan.draft["school_id"] == sid, "direction"].unique():
        assert m in card
    outsider = next(v for _, v in dash.school.options if v and v not in set(dash.plan.targets["school_id"]))
    dash.select(school=outsider)
    assert "не в списке" in dash.card_html.value and "Черновик плана" not in dash.card_html.value


def test_app_risks_and_plan_share_one_dashboard_and_the_selection(demo_store):
    app = A.DashboardApp(demo_store, background=False)
    app.select(municipality="004")
    app.show("risks")
    plan = app.views["plan"]
    assert plan.municipality.value == "004" and plan.risks_box.layout.display is None
    assert plan.plan_box.layout.display == "none" and not app.errors
    app.show("plan")
    assert app.views["plan"] is plan and plan.plan_box.layout.display is None and plan.risks_box.layout.display == "none"
    app.select(municipality="002")
    assert plan.municipality.value == "002" and not app.errors
