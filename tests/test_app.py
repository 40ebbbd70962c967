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
    import workbench.dashboards.identification as I

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


def test_the_overview_never_waits_for_a_view_built_in_the_background(demo_store, monkeypatch):
    """While the identification view is still being built (tens of seconds on a store no run has computed),
    the official changes the municipality in the overview: the overview follows at once."""
    import threading

    import workbench.dashboards.identification as I

    release, started = threading.Event(), threading.Event()
    real = I.IdentificationDashboard

    def slow(*a, **k):
        started.set()
        release.wait(60)
        return real(*a, **k)

    monkeypatch.setattr(I, "IdentificationDashboard", slow)
    app = A.DashboardApp(demo_store)              # starts the background build
    assert started.wait(30)
    other = _codes(app.municipality)[1]
    done = threading.Event()
    threading.Thread(target=lambda: (app.select(municipality=other), done.set()), daemon=True).start()
    try:
        assert done.wait(20), "the overview waited for the identification view being built"
        assert app.views["overview"].municipality.value == other and app.errors == []
    finally:
        release.set()
        app._building.join(60)


def test_a_hidden_view_follows_the_selection_before_it_is_opened(demo_store, monkeypatch):
    """The official changes the municipality in the overview: the identification view, already built, is brought
    to it in the background, so the click on «Идентификация» only shows it (no refresh in the click's time)."""
    app = A.DashboardApp(demo_store, background=False)
    ident = app._build("identification")
    other = _codes(app.municipality)[1]
    app.select(municipality=other)
    app.wait_background(60)
    assert ident.municipality.value == other and app.errors == []
    calls = []
    monkeypatch.setattr(ident, "select", lambda *a, **k: calls.append((a, k)))
    app.show("identification")
    assert calls == [] and app.body.children == (ident.widget,)


def test_figures_are_put_in_their_output_from_any_thread(demo_store):
    """A view refreshed by the background thread (a hidden view following the selection) draws into its own
    Output: the content is set in the widget's state, not captured by the page from the messages of whichever
    request the kernel is answering (which misplaces output sent from a thread)."""
    import threading

    import ipywidgets as w
    import matplotlib.figure
    from IPython.display import HTML

    from workbench.dashboards.base import View

    view = View.__new__(View)
    out = w.Output()
    fig = matplotlib.figure.Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1], [1, 0])
    t = threading.Thread(target=view._show_in, args=(out, fig))
    t.start()
    t.join(30)
    (shown,) = out.outputs
    assert shown["output_type"] == "display_data" and "image/png" in shown["data"]
    view._show_in(out, HTML("<b>нет данных</b>"))
    (shown,) = out.outputs                                   # replaced, not appended
    assert shown["data"]["text/html"] == "<b>нет данных</b>"
