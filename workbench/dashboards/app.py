"""One dashboard app for officials: views «Обзор», «Идентификация», «Объективность», «Разрывы», «Риски», «План»
under one selection.

The municipality and the year are chosen once, in the app's header, and kept when the official moves between
views; each view has its own school card. The overview is built at once (about a second); the identification
view, which runs every methodology on the region (tens of seconds on the first load of a store), is built in a
background thread right after the first render, so the page opens in seconds and the second view is usually
ready when it is asked for. Until it is, the view says that it is being prepared; a view that fails shows a
Russian message and a «Повторить» button, never a traceback or an endless spinner.

Example
-------
>>> app = DashboardApp("data/store", background=False)          # doctest: +SKIP
>>> app.show("identification"); app.select(municipality="004")  # doctest: +SKIP
>>> app.views["identification"].municipality.value               # doctest: +SKIP
'004'
"""
from __future__ import annotations

import html
import logging
import threading
import time
from pathlib import Path

import ipywidgets as w

from workbench.dashboards.base import CSS, message_html, resolve_store, store_problem
from workbench.dashboards.overview import OverviewDashboard
from workbench.data.store import Store

log = logging.getLogger(__name__)

TITLE = "Рабочее место: результаты ВПР, ШНОР и ШНСУ, объективность, план поддержки"
VIEWS = {"overview": "Обзор", "identification": "Идентификация", "objectivity": "Объективность", "gaps": "Разрывы",
         "risks": "Риски", "plan": "План"}
APP_CSS = """<style>
.wb-app-nav .widget-toggle-button {font-size: 15px;}
.wb-app-wait {padding: 18px; color: #37474f; font-size: 15px;}
</style>"""


class DashboardApp:
    """The app: navigation, the shared selection and the views (built lazily, the slow one in the background)."""

    def __init__(self, store: Store | str | Path | None = None, *, view: str = "overview", background: bool = True):
        start = time.perf_counter()
        self.store = resolve_store(store)
        self.usable, self.store_message = store_problem(self.store)
        self.errors: list[str] = []            # Russian messages (tests and logs read them)
        self.timings: dict[str, float] = {}    # seconds: first_render, switch_<view>, build_<view>
        self.views: dict[str, object] = {}     # "overview" → OverviewDashboard, "identification" → IdentificationDashboard
        self._lock = threading.Lock()          # building a dashboard
        self._showing = threading.RLock()      # showing a view: the background build's call and the official's
        self._building: threading.Thread | None = None
        self._following: threading.Thread | None = None   # brings hidden views to a new selection
        self._syncing = False
        self.nav = w.ToggleButtons(options=[(t, k) for k, t in VIEWS.items()], value=view,
                                   style={"button_width": "150px"})
        self.nav.add_class("wb-app-nav")
        style = {"description_width": "initial"}
        self.municipality = w.Dropdown(description="Муниципалитет:", style=style, layout=w.Layout(width="470px"))
        self.year = w.Dropdown(description="Год:", style=style, layout=w.Layout(width="130px"))
        self.municipality.add_class("wb-app-municipality")
        self.year.add_class("wb-app-year")
        self.header = w.HTML(CSS + APP_CSS + f'<div class="wb-dash"><h2>{TITLE}</h2><div class="wb-sub">Хранилище: '
                             f'{html.escape(str(self.store.root))} · только данные по школам в целом</div></div>')
        self.status = w.HTML()
        self.status.add_class("wb-app-status")
        self.retry = w.Button(description="Повторить", button_style="warning", layout=w.Layout(display="none"))
        self.retry.on_click(lambda _b: self._show(self.nav.value))
        self.body = w.VBox()
        self.body.add_class("wb-app-body")
        self.widget = w.VBox([self.header, self.nav, w.HBox([self.municipality, self.year]), self.status, self.retry,
                              self.body], layout=w.Layout(padding="4px 10px", max_width="1220px"))
        self.widget.add_class("wb-app")
        if not self.usable:
            self.status.value = message_html(self.store_message or "Хранилище пусто", error=True)
            return
        self._build("overview")
        ov = self.views["overview"]
        self.municipality.options, self.municipality.value = ov.municipality.options, ov.municipality.value
        self.year.options, self.year.value = ov.year.options, ov.year.value
        self.municipality.observe(self._on_selection, "value")
        self.year.observe(self._on_selection, "value")
        self.nav.observe(lambda ch: self._show(ch["new"]), "value")
        self._show(view)
        if background and view == "overview":
            self._building = threading.Thread(target=self._build_quietly, args=("identification", "gaps", "plan"),
                                              daemon=True)
            self._building.start()
        self.timings["first_render"] = time.perf_counter() - start

    # ------------------------------------------------------------ views
    def _dashboard_of(self, view: str) -> str:
        if view in ("risks", "plan"):
            return "plan"
        return view if view in ("overview", "gaps") else "identification"

    def _build(self, name: str) -> object:
        """Build a view's dashboard once (thread-safe); its own municipality and year selectors are hidden."""
        if name in self.views:   # without the lock: a view already built never waits for one being built
            return self.views[name]
        with self._lock:
            if name in self.views:
                return self.views[name]
            t0 = time.perf_counter()
            if name == "overview":
                dash = OverviewDashboard(self.store)
            elif name == "gaps":
                from workbench.dashboards.gaps import GapsDashboard

                dash = GapsDashboard(self.store)
            elif name == "plan":
                from workbench.dashboards.plan import PlanDashboard

                dash = PlanDashboard(self.store)
            else:
                from workbench.dashboards.identification import IdentificationDashboard

                dash = IdentificationDashboard(self.store)
            for x in (dash.header, dash.municipality, dash.year):
                x.layout = w.Layout(display="none")   # the app's header and selection stand for them
            if name == "identification":
                # its own layout: the dashboard's sections share one Layout, and hiding this section between
                # views must not hide the others
                dash.objectivity_html.layout = w.Layout(width="auto")
            self.views[name] = dash
            self.timings[f"build_{name}"] = time.perf_counter() - t0
            return dash

    def _build_quietly(self, *names: str) -> None:
        for name in names:
            try:
                self._build(name)
            except Exception:     # shown when the official opens the view (show() builds it again and reports)
                log.exception("раздел «%s» не построен в фоне", name)
                continue
            if self.nav.value != "overview" and self._dashboard_of(self.nav.value) == name:
                self._show(self.nav.value)   # the official is waiting for exactly this view
        self._follow_hidden()

    def _layout_for(self, view: str, dash) -> list:
        if view in ("overview", "gaps"):
            return [dash.widget]
        if view in ("risks", "plan"):     # one dashboard, two views: each shows its own part
            dash.risks_box.layout.display = None if view == "risks" else "none"
            dash.plan_box.layout.display = None if view == "plan" else "none"
            return [dash.widget]
        objectivity = view == "objectivity"
        dash.objectivity_html.layout.display = None if objectivity else "none"
        if objectivity:
            card = dash.widget.children[-1]
            return [w.VBox([dash.status, dash.objectivity_html, card])]
        return [dash.widget]

    def show(self, view: str) -> None:
        """Open a view, as the official does with the navigation buttons (the selection is kept)."""
        if view not in VIEWS:
            raise ValueError(f"неизвестный раздел «{view}»; допустимые: {', '.join(VIEWS)}")
        if self.nav.value != view:
            self.nav.value = view         # the observer shows it
        else:
            self._show(view)

    def _show(self, view: str) -> None:
        """Show a view with the current selection (builds it if needed); one call at a time, so a view finished
        in the background and the official's click never refresh the same dashboard together."""
        with self._showing:
            self._show_now(view)

    def _show_now(self, view: str) -> None:
        t0 = time.perf_counter()
        self.retry.layout.display = "none"
        name = self._dashboard_of(view)
        if name not in self.views and self._building is not None and self._building.is_alive():
            self.status.value = ('<div class="wb-app-wait">Раздел готовится: методики рассчитываются по всему региону '
                                 '(при первом открытии — до полуминуты)…</div>')
            self.body.children = []
            return
        try:
            dash = self._build(name)
            self._sync(dash)
            self.body.children = self._layout_for(view, dash)
            self.status.value = ""
        except Exception as e:
            log.exception("раздел «%s» не показан", view)
            msg = f"Раздел «{VIEWS[view]}» не удалось показать: {e}. Нажмите «Повторить»; если ошибка повторится — " \
                  "сообщите администратору."
            self.errors.append(msg)
            self.status.value = message_html(msg, error=True)
            self.retry.layout.display = None
            self.body.children = []
        self.timings[f"switch_{view}"] = time.perf_counter() - t0

    def _sync(self, dash) -> None:
        """Bring a view to the app's municipality and year (nothing to do when it is there already)."""
        m, y = self.municipality.value, self.year.value
        if dash.municipality.value == m and dash.year.value == y:
            return
        years = [v for _, v in dash.year.options] if dash.year.options and isinstance(dash.year.options[0], tuple) \
            else list(dash.year.options)
        dash.select(municipality=m, year=y if y in years else None)

    def select(self, municipality: str | None = None, year: int | None = None) -> None:
        """Change the shared selection (as the official does in the header) and refresh the current view."""
        self._syncing = True
        try:
            if municipality is not None:
                self.municipality.value = municipality
            if year is not None:
                self.year.value = year
        finally:
            self._syncing = False
        self._on_selection()

    def _on_selection(self, _change=None) -> None:
        if self._syncing:
            return
        self._show(self.nav.value)
        self._follow_hidden()

    def _follow_hidden(self) -> None:
        """Bring the built views that are not shown to the selection, in a background thread: opening one
        afterwards only shows it (a refresh of the identification view takes about 0.3 s, the official's click
        should not wait for it)."""
        def follow():
            with self._showing:                # never together with a view being shown
                shown = self._dashboard_of(self.nav.value)
                for name, dash in list(self.views.items()):
                    if name != shown:
                        try:
                            self._sync(dash)
                        except Exception:      # shown, with its message, when the official opens the view
                            log.exception("раздел «%s» не обновлён в фоне", name)

        self._following = threading.Thread(target=follow, daemon=True)
        self._following.start()

    def wait_background(self, timeout: float | None = None) -> None:
        """Wait for the background work (the view being built, hidden views following the selection)."""
        for t in (self._building, self._following):
            if t is not None:
                t.join(timeout)
