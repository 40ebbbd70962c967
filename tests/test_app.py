"""The one dashboard app in Python: navigation keeps the selection, every view renders, a failing view says so in
Russian with a retry (the browser test drives the same app in Voila and Chromium)."""
import pytest

from workbench.dashboards import app as A


@pytest.fixture(scope="module")
def app(demo_store):
    return A.DashboardApp(demo_store, background=False)


def _codes(dropdown) -> list:
    return [v for _, v in dropdown.options] if isinstance(dropdown.options[0], tuple) else list(dropdown.options)


def test_navigation_keeps_the_selection(app):
    first, other = _codes(app.municipality)[:2]
    assert app.nav.value == "overview" and app.views["overview"].municipality.value == first
    app.select(municipality=other)
    assert app.views["overview"].municipality.value == other
    app.show("identification")
    ident = app.views["identification"]
    assert app.nav.value == "identification" and ident.municipality.value == other and not app.errors
    assert ident.table_html.value and app.body.children == (ident.widget,)
    assert ident.header.layout.display == "none" and ident.municipality.layout.display == "none"
    app.show("objectivity")
    (box,) = app.body.children
    assert ident.objectivity_html in box.children and ident.objectivity_html.layout.display is None
    assert "признак" in ident.objectivity_html.value.lower()
    app.select(municipality=first)           # changed in the objectivity view …
    assert ident.municipality.value == first
    app.show("overview")                     # … and the overview follows when it is opened again
    assert app.views["overview"].municipality.value == first and app.errors == []
    assert app.timings["switch_overview"] < 5


def test_a_failing_view_shows_a_message_and_a_retry(demo_store, monkeypatch):
    import workbench.identification_dashboard as I

    app = A.DashboardApp(demo_store, background=False)
    real = I.IdentificationDashboard

    def broken(*a, **k):
        raise RuntimeError("нет связи с хранилищем")

    monkeypatch.setattr(I, "IdentificationDashboard", broken)
    app.show("identification")
    assert "Раздел «Идентификация» не удалось показать: нет связи с хранилищем" in app.status.value
    assert app.retry.layout.display is None and app.body.children == ()
    monkeypatch.setattr(I, "IdentificationDashboard", real)
    app.retry.click()
    assert app.status.value == "" and app.retry.layout.display == "none" and len(app.body.children) == 1


def test_unusable_store_is_said(tmp_path):
    app = A.DashboardApp(tmp_path / "empty", background=False)
    assert "загрузки" in app.status.value or "пуст" in app.status.value.lower()
    assert app.views == {}
