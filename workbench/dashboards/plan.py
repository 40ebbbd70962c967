"""The «Риски» and «План» views: the municipality's school × factor heat map with a school's risk card, and its
support plan — leader-school pairs, the roadmap in the store with what is overdue at the report date, the draft
for the next cycle, and the eight monitoring indicators per cycle.

Everything comes from the run's region-wide results (``RegionResults.risk_profiles``, identifications of every
year, dynamics) through :func:`workbench.plan.support_plan`, which takes well under a second per municipality
once those are computed.

Example
-------
>>> dash = PlanDashboard("data/store")                         # doctest: +SKIP
>>> dash.select(municipality="004", school="edu004006")        # doctest: +SKIP
>>> dash.summary()["overdue"]                                  # doctest: +SKIP
5
"""
from __future__ import annotations

import datetime as dt
import html
import time
from pathlib import Path

import ipywidgets as w
import pandas as pd
from IPython.display import HTML

from workbench import formatting as fmt
from workbench.dashboards.base import CSS, NO_SCHOOL, View, html_table, message_html, municipality_names
from workbench.data.store import Store

TITLE = "Риски школ и план поддержки"
PLAN_CSS = """<style>
table.wb-table tr.wb-late td {background: #fdecea;} table.wb-table tr.wb-soon td {background: #fff8e1;}
.wb-lv {display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px;}
.wb-lv-высокий {background: #c0392b; color: white;} .wb-lv-средний {background: #f0b429;}
.wb-lv-низкий {background: #9bc59d;} .wb-lv-нет {background: #d9d9d9;}
</style>"""


class PlanDashboard(View):
    """Risk heat map and school risk card («Риски»); pairs, roadmap with overdue items, indicators («План»)."""

    SECTIONS = {"data": "данные плана", "heatmap": "карта рисков", "card": "карточка рисков школы",
                "pairs": "сетевые пары", "roadmap": "дорожная карта", "indicators": "показатели мониторинга",
                "schools": "список школ"}

    def __init__(self, store: Store | str | Path | None = None, cache_dir: str | Path | None = None,
                 on: dt.date | None = None):
        super().__init__(store, cache_dir)
        self.plan = None
        self._summary: dict = {}
        self._build_widgets(on or dt.date.today())
        with self._action("first_render"):
            self._fill_options()
            self._refresh_sections()
        self._observe()

    # ------------------------------------------------------------ construction
    def _build_widgets(self, on: dt.date) -> None:
        style, wide = {"description_width": "initial"}, w.Layout(width="auto")
        self.municipality = w.Dropdown(description="Муниципалитет:", style=style, layout=w.Layout(width="520px"))
        self.year = w.Dropdown(description="Год:", style=style, layout=w.Layout(width="140px"))
        self.school = w.Dropdown(description="Карточка рисков школы:", style=style, layout=w.Layout(width="620px"))
        self.report_date = w.DatePicker(description="Дата отчёта:", value=on, style=style,
                                        layout=w.Layout(width="260px"))
        for name in ("municipality", "year", "school", "report_date"):
            getattr(self, name).add_class(f"wb-plan-{name}")
        self.header = self._header(TITLE, "Факторы риска ФИОКО «500+» (уровни — эвристика), сетевые пары, дорожная "
                                          "карта и показатели мониторинга · только данные по школам в целом",
                                   css=CSS + PLAN_CSS)
        self.status = w.HTML(layout=wide)
        self.heatmap_out = w.Output(layout=wide)
        self.card_html = w.HTML(layout=wide)
        self.pairs_html = w.HTML(layout=wide)
        self.roadmap_html = w.HTML(layout=wide)
        self.indicators_html = w.HTML(layout=wide)
        for x, hook in ((self.heatmap_out, "wb-plan-heatmap"), (self.card_html, "wb-plan-card"),
                        (self.pairs_html, "wb-plan-pairs"), (self.roadmap_html, "wb-plan-roadmap"),
                        (self.indicators_html, "wb-plan-indicators")):
            x.add_class("wb-dash")
            x.add_class(hook)
        controls = w.HBox([self.municipality, self.year], layout=w.Layout(flex_flow="row wrap"))
        box = dict(layout=w.Layout(border="1px solid #d5dde5", padding="6px 12px", margin="10px 0 0 0"))
        self.risks_box = w.VBox([self.heatmap_out, w.VBox([self.school, self.card_html], **box)])
        self.plan_box = w.VBox([self.report_date, self.pairs_html, self.roadmap_html, self.indicators_html])
        self.widget = w.VBox([self.header, controls, self.status, self.risks_box, self.plan_box],
                             layout=w.Layout(padding="4px 10px", max_width="1200px"))
        self.widget.add_class("wb-plan")

    def _fill_options(self) -> None:
        works = self.data.query("SELECT DISTINCT municipality, year FROM vpr") \
            if self.usable and "vpr" in self.data.tables() else pd.DataFrame(columns=["municipality", "year"])
        self._fill_municipalities_years(works)

    def _fill_schools(self) -> None:
        keep = self.school.value
        t = self.plan.targets if self.plan is not None else pd.DataFrame(columns=["school_id", "name", "listed_as"])
        others = self._names[~self._names.index.isin(t["school_id"])] if hasattr(self, "_names") else pd.Series(dtype=str)
        self.school.options = [("— выберите школу —", NO_SCHOOL)] + \
            [(f"{r.name} — {r.listed_as}", r.school_id) for r in t.itertuples()] + \
            [(n, sid) for sid, n in others.sort_values().items()]
        ids = {v for _, v in self.school.options}
        self.school.value = keep if keep in ids else NO_SCHOOL

    def _observe(self) -> None:
        for dd in (self.municipality, self.year):
            dd.observe(self._on_selection, names="value")
        self.report_date.observe(self._on_date, names="value")
        self.school.observe(self._on_school, names="value")

    # ------------------------------------------------------------ hooks of View
    def _shown_text(self) -> str:
        return (self.card_html.value + self.pairs_html.value + self.roadmap_html.value + self.indicators_html.value)

    def _section_failed(self, name: str, text: str) -> None:
        target = {"data": self.pairs_html, "card": self.card_html, "schools": self.card_html,
                  "pairs": self.pairs_html, "roadmap": self.roadmap_html,
                  "indicators": self.indicators_html}.get(name)
        if target is not None:
            target.value = message_html(text, error=True)
        elif name == "heatmap":
            self._show_in(self.heatmap_out, HTML(message_html(text, error=True)))

    def _on_selection(self, _change=None) -> None:
        if not self._busy:
            with self._action():
                self._refresh_sections()

    def _on_date(self, _change=None) -> None:
        if not self._busy and self.report_date.value is not None:
            with self._action():
                if self._render("data", self._load):
                    self._render("roadmap", self._show_roadmap)

    def _on_school(self, _change=None) -> None:
        if not self._busy:
            with self._action("card"):
                self._render("card", self._show_card)

    # ------------------------------------------------------------ public API
    def select(self, municipality: str | None = None, year: int | None = None, school: str | None = None,
               on: dt.date | None = None) -> None:
        """Set any of the selectors at once and refresh once."""
        with self._action():
            with self._batch():
                for dd, value in ((self.municipality, municipality), (self.year, year), (self.report_date, on)):
                    if value is not None:
                        dd.value = value
            self._refresh_sections()
        if school is not None:
            self.school.value = school

    def summary(self) -> dict:
        """The figures the view shows (tests read them): listed, pairs, alone, items, overdue, soon, draft."""
        return dict(self._summary)

    def _refresh_sections(self) -> None:
        start = time.perf_counter()
        if self._render("data", self._load):
            with self._batch():
                self._render("schools", self._fill_schools)
            for name, section in (("heatmap", self._show_heatmap), ("card", self._show_card),
                                  ("pairs", self._show_pairs), ("roadmap", self._show_roadmap),
                                  ("indicators", self._show_indicators)):
                self._render(name, section)
        self.timings["refresh"] = time.perf_counter() - start

    # ------------------------------------------------------------ sections
    def _load(self) -> None:
        from workbench.plan import support_plan
        from workbench.reports.deliverables import methodology_of

        m, y = self.municipality.value, self.year.value
        if m is None or y is None:
            raise ValueError("нет данных ВПР для выбора")
        on = pd.Timestamp(self.report_date.value or dt.date.today())

        def compute():
            name, _, params = methodology_of(m)
            return support_plan(self.results, y, m, name, params, on=on)
        self.plan = self._cached(("plan", m, y, on), compute)
        self._names = self._cached(("names", m), lambda: self.data.query(
            "SELECT school_id, name FROM schools WHERE municipality = ?", [m]).set_index("school_id")["name"])
        sp = self.plan
        late = sp.measures["state"].eq("просрочено") if len(sp.measures) else pd.Series(dtype=bool)
        soon = sp.measures["state"].eq("срок подходит") if len(sp.measures) else pd.Series(dtype=bool)
        self._summary = {"listed": len(sp.targets), "pairs": len(sp.pairs), "alone": len(sp.alone),
                         "items": len(sp.measures), "overdue": int(late.sum()), "soon": int(soon.sum()),
                         "draft": len(sp.draft)}

    def _show_heatmap(self) -> None:
        from workbench.reports import plan as R

        sp = self.plan
        if not len(sp.profiles):
            self._show_in(self.heatmap_out, HTML(message_html("Профили рисков не рассчитаны: нет анкет и "
                                                              "административных данных за этот год.")))
            return
        name = municipality_names().get(self.municipality.value, self.municipality.value)
        self._show_in(self.heatmap_out, R.plot_risk_heatmap(sp.profiles, self._names,
                                                           sp.targets.set_index("school_id")["listed_as"],
                                                           f"{name}: уровни риска по факторам, {self.year.value}"))

    def _show_card(self) -> None:
        sid = self.school.value
        if not sid:
            self.card_html.value = ('<div class="wb-note">Выберите школу, чтобы увидеть уровни риска по всем '
                                    'факторам, что их повышает и мероприятия её черновика плана.</div>')
            return
        sp = self.plan
        p = sp.profiles[sp.profiles["school_id"] == sid]
        name = self._names.get(sid, sid)
        group = sp.targets.set_index("school_id")["listed_as"].get(sid)
        lines = [f"<h3>{html.escape(name)}" + (f" — {html.escape(group)}" if group else " — не в списке") + "</h3>"]
        rows = []
        for r in p.itertuples():
            lv = r.level.split()[0]
            rows.append(f'<tr><td>{html.escape(r.title)}</td><td><span class="wb-lv wb-lv-{lv}">{html.escape(r.level)}'
                        f'</span></td><td>{html.escape(r.explain or "—")}</td>'
                        f'<td>{html.escape(r.missing or "")}</td></tr>')
        lines.append('<table class="wb-table"><thead><tr><th>Фактор риска</th><th>Уровень</th><th>Что повышает риск '
                     '(школа / в среднем)</th><th>Каких показателей нет</th></tr></thead><tbody>' + "".join(rows)
                     + "</tbody></table>")
        mine = sp.draft[sp.draft["school_id"] == sid]
        if len(mine):
            items = [[m.direction, m.measure, m.basis] for m in mine.itertuples()]
            lines.append("<h3>Черновик плана школы на цикл</h3>"
                         + html_table(items, ["Направление", "Мероприятие", "Основание"], numeric_from=3))
        self.card_html.value = '<div class="wb-dash">' + "".join(lines) + "</div>"

    def _show_pairs(self) -> None:
        sp = self.plan
        parts = [f"<h3>Сетевые пары со школами-лидерами ({len(sp.pairs)} из {len(sp.targets)} школ списка)</h3>"]
        if len(sp.pairs):
            rows = [[r.name, r.leader_name, r.explain, fmt.number(r.travel_km, 1, unit="км")]
                    for r in sp.pairs.itertuples()]
            parts.append(html_table(rows, ["Школа из списка", "Школа-лидер", "Почему эта пара", "Расстояние"],
                                    numeric_from=3))
        if len(sp.alone):
            parts.append(html_table([[r.name, r.reason] for r in sp.alone.itertuples()],
                                    ["Без пары", "Почему"], numeric_from=2))
        self.pairs_html.value = '<div class="wb-dash">' + "".join(parts) + "</div>"

    def _show_roadmap(self) -> None:
        from workbench.reports import plan as R

        sp, s = self.plan, self._summary
        on = f"{sp.on:%d.%m.%Y}"
        if not len(sp.measures):
            self.roadmap_html.value = (
                '<div class="wb-dash"><h3>Дорожная карта</h3>' + message_html(
                    f"В хранилище нет дорожной карты муниципалитета. Черновик на цикл — {s['draft']} пунктов — в "
                    "файле «дорожная карта.xlsx» рядом со справкой: его правят и загружают обратно.") + "</div>")
            return
        total = sp.progress.set_index("direction").loc["Всего"]
        cards = [("Пунктов", fmt.integer(total["items"]), f"выполнено {fmt.integer(total['done'])}"),
                 ("Просрочено", fmt.integer(total["overdue"]), f"на {on}"),
                 ("Срок подходит", fmt.integer(total["soon"]), "в ближайшие дни"),
                 ("Выполнено из пунктов с истёкшим сроком", fmt.share(total["done_share"], 0), "отменённые не считаются")]
        body = "".join(f'<div class="wb-card"><div class="l">{html.escape(a)}</div><div class="v">{html.escape(b)}</div>'
                       f'<div class="r">{html.escape(c)}</div></div>' for a, b, c in cards)
        late = R.overdue_rows(sp.measures, self._names)
        table = ""
        if len(late):
            rows = [[r.state, r.owner, r.measure, r.deadline_text, r.responsible or ""] for r in late.itertuples()]
            classes = ["wb-late" if r.state == "просрочено" else "wb-soon" for r in late.itertuples()]
            table = html_table(rows, ["Состояние", "Для кого", "Мероприятие", "Срок", "Ответственный"],
                               numeric_from=5, row_classes=classes)
        self.roadmap_html.value = (f'<div class="wb-dash"><h3>Дорожная карта на {on}</h3><div class="wb-cards">{body}'
                                   f'</div>{table}<div class="wb-note">«Просрочено» и «срок подходит» считаются по '
                                   f'сроку и дате отчёта; черновик на следующий цикл — {s["draft"]} пунктов — в файле '
                                   f'«дорожная карта.xlsx» рядом со справкой.</div></div>')

    def _show_indicators(self) -> None:
        from workbench.reports import plan as R

        sp = self.plan
        if not len(sp.indicators):
            self.indicators_html.value = message_html("Показатели мониторинга не рассчитаны: нет лет ВПР.")
            return
        t = R.indicator_table(sp.indicators)
        cols, body = R.indicator_columns(t)
        rows = t[body].astype(str).values.tolist()
        self.indicators_html.value = ('<div class="wb-dash"><h3>Показатели мониторинга по циклам</h3>'
                                      + html_table(rows, [cols[c] for c in body], numeric_from=1)
                                      + "".join(f'<div class="wb-note">{html.escape(n)}</div>' for n in sp.notes)
                                      + "</div>")
