"""The «Разрывы» view: the gap between the strongest and the weakest schools of a municipality over the years
against the region, the dynamics of its listed schools, and a school card with its trajectory and its support.

Everything comes from the region-wide results of the run (``RegionResults.gaps``, ``trajectories``, ``dynamics``);
the municipality's own gaps take about a second the first time it is chosen in a visit.

Example
-------
>>> dash = GapsDashboard("data/store")                                 # doctest: +SKIP
>>> dash.select(municipality="004", subject="math"); dash.summary()["direction"]   # doctest: +SKIP
'сокращается'
"""
from __future__ import annotations

import html
import time
from pathlib import Path

import ipywidgets as w
import numpy as np
import pandas as pd
from IPython.display import HTML

from workbench import formatting as fmt
from workbench.dashboards.base import NO_SCHOOL, View, html_table, message_html, municipality_names
from workbench.data.store import Store
from workbench.vocab import SUBJECTS

TITLE = "Разрывы между школами и их динамика"


def trajectory_figure(trend: pd.DataFrame, traj_row: pd.Series | None, support_year, title: str):
    """A school's yearly result relative to the region with its interval, its model trajectory, and the year its
    support began (dashed)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 3.2), layout="constrained")
    t = trend.sort_values("year")
    ax.errorbar(t["year"], t["estimate"], yerr=[t["estimate"] - t["ci_low"], t["ci_high"] - t["estimate"]],
                fmt="o-", color="#1f5f99", ms=4, lw=1.2, capsize=3, label="результат года с интервалом")
    if traj_row is not None and np.isfinite(traj_row["slope"]):
        centre = t["year"].mean()
        ax.plot(t["year"], traj_row["level"] + traj_row["slope"] * (t["year"] - centre), "--", color="#e08a00",
                label=f"траектория модели: {fmt.number(traj_row['slope'], 2, signed=True)} п.п. в год")
    if support_year is not None and not pd.isna(support_year):
        ax.axvline(float(support_year) - 0.5, color="#2e8b57", ls=":", lw=1.5, label=f"поддержка с {int(support_year)} г.")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("год")
    ax.set_ylabel("п.п. к региону")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="best")
    ax.grid(axis="y", alpha=0.3)
    return fig


class GapsDashboard(View):
    """Gap trend of the chosen municipality and subject against the region, the listed schools' dynamics and a
    school card (trajectory, support history)."""

    SECTIONS = {"data": "данные выбора", "summary": "показатели разрыва", "chart": "график разрыва",
                "dynamics": "динамика школ списка", "card": "карточка школы", "schools": "список школ"}

    def __init__(self, store: Store | str | Path | None = None, cache_dir: str | Path | None = None):
        super().__init__(store, cache_dir)
        from workbench import gaps

        self.params = gaps.load_gap_params()
        self._mine = pd.DataFrame()
        self._summary: dict = {}
        self._chart_messages: list[str] = []
        self._build_widgets()
        with self._action():
            self._fill_options()
            self._refresh_sections()
        self._observe()

    # ------------------------------------------------------------ construction
    def _build_widgets(self) -> None:
        style, wide = {"description_width": "initial"}, w.Layout(width="auto")
        self.municipality = w.Dropdown(description="Муниципалитет:", style=style, layout=w.Layout(width="520px"))
        self.year = w.Dropdown(description="Год:", style=style, layout=w.Layout(width="140px"))
        self.subject = w.Dropdown(description="Предмет:", style=style, layout=w.Layout(width="280px"))
        self.school = w.Dropdown(description="Карточка школы:", style=style, layout=w.Layout(width="560px"))
        for name in ("municipality", "year", "subject", "school"):
            getattr(self, name).add_class(f"wb-gaps-{name}")
        self.header = self._header(TITLE, "Разрыв между истинными средними школ (с поправкой на шум малых школ) · "
                                          "только данные по школам в целом")
        self.status = w.HTML(layout=wide)
        self.summary_html = w.HTML(layout=wide)
        self.chart_out = w.Output(layout=wide)
        self.dynamics_html = w.HTML(layout=wide)
        self.card_html = w.HTML(layout=w.Layout(width="520px", margin="0 16px 0 0"))
        self.card_out = w.Output(layout=w.Layout(width="600px"))
        for x, hook in ((self.summary_html, "wb-gaps-summary"), (self.chart_out, "wb-gaps-chart"),
                        (self.dynamics_html, "wb-gaps-dynamics"), (self.card_html, "wb-gaps-card"),
                        (self.card_out, "wb-gaps-card-chart")):
            x.add_class("wb-dash")
            x.add_class(hook)
        for dd in (self.municipality, self.year, self.subject):
            dd.layout.margin = "2px 14px 2px 0"
        controls = w.HBox([self.municipality, self.year, self.subject], layout=w.Layout(flex_flow="row wrap"))
        card = w.VBox([self.school, w.HBox([self.card_html, self.card_out], layout=w.Layout(
            flex_flow="row wrap", align_items="flex-start"))],
            layout=w.Layout(border="1px solid #d5dde5", padding="6px 12px", margin="10px 0 0 0"))
        self.widget = w.VBox([self.header, controls, self.status, self.summary_html, self.chart_out,
                              self.dynamics_html, card], layout=w.Layout(padding="4px 10px", max_width="1200px"))
        self.widget.add_class("wb-gaps")

    def _fill_options(self) -> None:
        works = self.data.query("SELECT DISTINCT municipality, year, subject FROM vpr") \
            if self.usable and "vpr" in self.data.tables() else pd.DataFrame(columns=["municipality", "year", "subject"])
        self._fill_municipalities_years(works)
        present = set(works.subject)
        lead = [s for s in self.params.subjects.value if s in present]
        self.subject.options = [(SUBJECTS.get(s, s), s) for s in lead] + \
            [(label, code) for code, label in SUBJECTS.items() if code in present and code not in lead]
        self.subject.value = self.subject.options[0][1] if self.subject.options else None

    def _fill_schools(self) -> None:
        m = self.municipality.value
        keep = self.school.value
        schools = self.data.query("SELECT school_id, name FROM schools WHERE municipality = ? ORDER BY name", [m]) \
            if m else pd.DataFrame(columns=["school_id", "name"])
        self.school.options = [("— выберите школу —", NO_SCHOOL)] + list(zip(schools.name, schools.school_id))
        self.school.value = keep if keep in set(schools.school_id) else NO_SCHOOL

    def _observe(self) -> None:
        for dd in (self.municipality, self.year, self.subject):
            dd.observe(self._on_selection, names="value")
        self.school.observe(self._on_school, names="value")

    # ------------------------------------------------------------ hooks of View
    def _shown_text(self) -> str:
        return self.summary_html.value + self.dynamics_html.value + self.card_html.value + "".join(self._chart_messages)

    def _section_failed(self, name: str, text: str) -> None:
        target = {"data": self.summary_html, "summary": self.summary_html, "dynamics": self.dynamics_html,
                  "card": self.card_html, "schools": self.card_html}.get(name)
        if target is not None:
            target.value = message_html(text, error=True)
        elif name == "chart":
            self._chart_messages.append(text)
            self._show_in(self.chart_out, HTML(message_html(text, error=True)))

    def _on_selection(self, _change=None) -> None:
        if not self._busy:
            with self._action():
                self._refresh_sections()

    def _on_school(self, _change=None) -> None:
        if not self._busy:
            with self._action():
                self._render("card", self._show_card)

    # ------------------------------------------------------------ public API
    def select(self, municipality: str | None = None, year: int | None = None, subject: str | None = None,
               school: str | None = None) -> None:
        """Set any of the selectors at once and refresh once."""
        with self._action():
            with self._batch():
                for dd, value in ((self.municipality, municipality), (self.year, year), (self.subject, subject)):
                    if value is not None:
                        dd.value = value
            self._refresh_sections()
        if school is not None:
            self.school.value = school

    def summary(self) -> dict:
        """The figures the summary shows (tests read them)."""
        return dict(self._summary)

    def _refresh_sections(self) -> None:
        start = time.perf_counter()
        self._chart_messages = []
        with self._batch():
            self._render("schools", self._fill_schools)
        if self._render("data", self._load):
            for name, section in (("summary", self._show_summary), ("dynamics", self._show_dynamics),
                                  ("card", self._show_card), ("chart", self._show_chart)):
                self._render(name, section)
        self.timings["refresh"] = time.perf_counter() - start

    # ------------------------------------------------------------ sections
    def _methodology(self, m: str):
        from workbench.reports.deliverables import methodology_of

        name, _, params = methodology_of(m)
        return name, params

    def _load(self) -> None:
        m, y, s = self.municipality.value, self.year.value, self.subject.value
        if m is None or y is None:
            raise ValueError("нет данных ВПР для выбора")

        def compute():
            name, params = self._methodology(m)
            flags = self.results.identification(y, name, params).for_municipality(m).flags
            listed = frozenset(flags.loc[flags["flagged"].astype(bool), "school_id"])
            return self.results.municipality_gaps(y, m, listed, subjects=[s])
        self._mine = self._cached(("gaps", m, y, s), compute)
        self._region = self._cached(("gaps_region", y), lambda: self.results.gaps(y))

    def _show_summary(self) -> None:
        from workbench import gaps
        from workbench.reports import gaps as R

        s, y = self.subject.value, self.year.value
        trends = gaps.gap_trends(pd.concat([self._mine[self._mine.subject == s], self._region[self._region.subject == s]]))
        mine = trends[(trends.unit != "region") & (trends.grade == 0)]
        reg = trends[(trends.unit == "region") & (trends.grade == 0)]
        now = R.yearly_mean(self._mine, s)
        now_r = R.yearly_mean(self._region, s)
        row = self._mine[(self._mine.subject == s) & (self._mine.year == y)]
        self._summary = {"gap": float(now.get(y, np.nan)), "region_gap": float(now_r.get(y, np.nan)),
                         "direction": R.direction(mine.iloc[0]) if len(mine) else "не оценивается",
                         "region_direction": R.direction(reg.iloc[0]) if len(reg) else "не оценивается",
                         "slope": float(mine["slope"].iloc[0]) if len(mine) else np.nan,
                         "two_ratio": float(row["two_ratio"].mean()) if len(row) else np.nan,
                         "shnor_gap": float(row["shnor_gap"].mean()) if len(row) else np.nan}
        f = self._summary
        cards = [("Разрыв P90 − P10", fmt.number(f["gap"], 1, unit="п.п."), f"регион {fmt.number(f['region_gap'], 1)} п.п."),
                 ("Тренд разрыва", f["direction"], f"{fmt.number(f['slope'], 2, signed=True)} п.п. в год; регион: "
                                                    f"{f['region_direction']}"),
                 ("Доля «2»: нижняя / верхняя четверть", fmt.number(f["two_ratio"], 1, unit="раза"), "в среднем по классам"),
                 ("Остальные − ШНОР", fmt.number(f["shnor_gap"], 1, unit="п.п."), "разница средних, по классам")]
        body = "".join(f'<div class="wb-card"><div class="l">{html.escape(a)}</div><div class="v">{html.escape(b)}</div>'
                       f'<div class="r">{html.escape(c)}</div></div>' for a, b, c in cards)
        self.summary_html.value = (f'<div class="wb-dash"><div class="wb-cards">{body}</div><div class="wb-note">'
                                   f'{y} год, {html.escape(SUBJECTS.get(s, s))}; разрыв — между истинными средними '
                                   'школ (в среднем по классам, которые писали ВПР во все годы).</div></div>')

    def _show_chart(self) -> None:
        from workbench.reports import gaps as R

        name = municipality_names().get(self.municipality.value, self.municipality.value)
        self._show_in(self.chart_out, R.plot_gap_trends(self._mine, self._region, [self.subject.value], name))

    def _show_dynamics(self) -> None:
        from workbench import gaps
        from workbench.config import load_defaults

        m, y = self.municipality.value, self.year.value
        if y - 1 not in self.store.status().years("vpr"):
            self.dynamics_html.value = message_html(f"Динамика школ списка не оценивается: нет ВПР {y - 1} года.")
            return
        name, params = self._methodology(m)
        dyn = self._cached(("dynamics", y, name), lambda: self.results.dynamics(y, name, params))
        dyn = dyn[dyn["municipality"] == m]
        level = load_defaults().uncertainty.level.value
        summary = gaps.dynamics_summary(dyn, y - 1, y, gaps.DynamicsRule.of(self.params, level), level)
        rows = [[r.text_ru, str(r.judged), str(r.positive), fmt.share(r.share),
                 f"{fmt.number(100 * r.share_low, 1)}–{fmt.share(r.share_high)}"] for r in summary.itertuples()]
        self.dynamics_html.value = (
            f'<div class="wb-dash"><h3>Доля ШНОР с положительной динамикой ({y - 1} → {y})</h3>'
            + html_table(rows, ["Определение", "Оценено", "С динамикой", "Доля", "Интервал"], numeric_from=1)
            + f'<div class="wb-note">{len(dyn)} школ списка {y - 1} года; исключены из-за признаков необъективности: '
              f'{int(dyn["excluded"].sum())}.</div></div>')

    def _show_card(self) -> None:
        from workbench import gaps

        sid = self.school.value
        if not sid:
            self.card_html.value = '<div class="wb-note">Выберите школу, чтобы увидеть её траекторию и поддержку.</div>'
            self.card_out.outputs = ()
            return
        y = self.year.value
        trend = self.results.trend(y)
        trend = trend[trend.school_id == sid]
        traj = self._cached(("trajectories", y), lambda: self.results.trajectories(y))
        row = traj[traj.school_id == sid]
        started = self._cached(("support", ), lambda: gaps.support_of(self.store, self.params))
        events = self._support_events(sid)
        name = next((label for label, v in self.school.options if v == sid), sid)
        r = row.iloc[0] if len(row) else None
        lines = [f"<h3>{html.escape(name)}</h3>"]
        if r is not None:
            lines.append(f'<div>Траектория: {fmt.number(r["slope"], 2, signed=True)} п.п. в год '
                         f'(интервал {fmt.number(r["slope_low"], 2)}…{fmt.number(r["slope_high"], 2)}); '
                         f'{html.escape(r["diverging"] or r.get("note") or "идёт вместе с регионом")}.</div>')
        start = started.get(sid)
        start = None if start is None or pd.isna(start) else int(start)
        lines.append("<div>Поддержка: " + (f"с {start} года (первый год ВПР после её начала)" if start
                                            else "нет записей о поддержке") + ".</div>")
        if len(events):
            lines.append(html_table(events.astype(str).values.tolist(), ["Дата", "Что", "Статус / вид"],
                                    numeric_from=3))
        self.card_html.value = '<div class="wb-dash">' + "".join(lines) + "</div>"
        if len(trend):
            self._show_in(self.card_out, trajectory_figure(trend, r, start, f"{name}: результат к региону"))
        else:
            self.card_out.outputs = ()

    def _support_events(self, sid: str) -> pd.DataFrame:
        """The school's partnerships (all of them) and its latest ten measures and courses, newest first."""
        tables = set(self.store.tables())
        empty = pd.DataFrame(columns=["date", "what", "kind"])
        pairs = self.store.query("""SELECT p.start AS date, 'сетевая пара с ' || coalesce(s.name, p.partner_id) AS what,
                                    p.kind AS kind FROM partnerships p LEFT JOIN schools s ON s.school_id = p.partner_id
                                    WHERE p.school_id = ?""", [sid]) if "partnerships" in tables else empty
        others = [empty]
        if "measures" in tables:
            others.append(self.store.query("SELECT start AS date, measure AS what, status AS kind FROM measures "
                                           "WHERE school_id = ?", [sid]))
        if "courses" in tables:
            others.append(self.store.query("SELECT date, course AS what, kind FROM courses WHERE school_id = ?", [sid]))
        rest = pd.concat(others, ignore_index=True).assign(date=lambda d: pd.to_datetime(d["date"]))
        e = pd.concat([pairs.assign(date=pd.to_datetime(pairs["date"])), rest.sort_values("date").tail(10)],
                      ignore_index=True).sort_values("date", ascending=False)
        e["date"] = e["date"].dt.strftime("%d.%m.%Y")
        return e[["date", "what", "kind"]]
