"""Voila dashboard: a municipality's ВПР results against the region, with a card for each school.

The notebook ``notebooks/dashboards/overview.ipynb`` only builds and displays :class:`OverviewDashboard`;
all logic lives here so it can be tested in plain Python. Every table shown passes through
:func:`workbench.privacy.suppress` (threshold ``privacy.min_pupils_publication`` of ``params/defaults.yaml``).

Example
-------
>>> from workbench.dashboards.overview import OverviewDashboard
>>> dash = OverviewDashboard("data/store")                                   # doctest: +SKIP
>>> dash.select(municipality="004", year=2026, subject="math", grade=5)      # doctest: +SKIP
>>> dash.table()[["name", "participants", "mean_pct", "suppressed"]]         # doctest: +SKIP
>>> dash.open_school(dash.table().school_id.iloc[0]); dash.card_school()     # doctest: +SKIP
>>> dash.widget          # the top-level container to display in Jupyter / Voila   # doctest: +SKIP
"""
from __future__ import annotations

import html
import logging
import time
from pathlib import Path

import ipywidgets as w
import matplotlib
import matplotlib.pyplot as plt  # never force a backend here: figures would vanish in Voila
import pandas as pd
from IPython.display import HTML

from workbench import overview
from workbench.config import load_defaults
from workbench.dashboards.base import (COLORS, NO_SCHOOL, View, html_table, message_html, municipality_names,
                                       number, share, work_label)
from workbench.data.store import Store
from workbench.privacy import suppress, suppression_note
from workbench.vocab import SUBJECTS

log = logging.getLogger(__name__)
# boxplot's `vert` is deprecated since matplotlib 3.10 in favour of `orientation` (pyproject allows >= 3.8)
HORIZONTAL = {"orientation": "horizontal"} if tuple(map(int, matplotlib.__version__.split(".")[:2])) >= (3, 10) \
    else {"vert": False}

TITLE = "Результаты ВПР: муниципалитет на фоне региона"
# ---------------------------------------------------------------- data for one selection

def schools_table(region_schools: pd.DataFrame, municipality: str, min_n: int) -> pd.DataFrame:
    """The municipality's schools of one work (subject × grade × year), suppressed, best mean first.

    ``region_schools`` is :func:`overview.school_results` for the work over the whole region.
    """
    cols = ["school_id", "name", "participants", "mean_pct", "share_2", "share_45"]
    mine = region_schools.loc[region_schools.municipality == municipality, cols].copy()
    mine["name"] = mine["name"].fillna(mine["school_id"])
    out = suppress(mine, count="participants", values=["mean_pct", "share_2", "share_45"], min_n=min_n)
    return out.sort_values(["suppressed", "mean_pct", "name"], ascending=[True, False, True],
                           na_position="last").reset_index(drop=True)


def region_school_means(region_schools: pd.DataFrame, min_n: int) -> pd.Series:
    """Means of the region's schools for the chart's distribution (small schools suppressed, then dropped)."""
    shown = suppress(region_schools, count="participants", values=["mean_pct"], min_n=min_n)
    return shown.loc[~shown.suppressed, "mean_pct"].reset_index(drop=True)


def selection_figures(vs_region: pd.DataFrame, subject: str, grade: int, min_n: int) -> dict | None:
    """Key figures of one work from :func:`overview.results_vs_region` (None when the municipality has none)."""
    row = vs_region[(vs_region.subject == subject) & (vs_region.grade == grade)]
    if row.empty:
        return None
    cols = ["schools", "participants", "mean_pct", "region_mean_pct", "share_2", "region_share_2",
            "share_45", "region_share_45", "region_participants"]
    row = row.reindex(columns=cols).reset_index(drop=True)
    row = suppress(row, count="participants", values=["mean_pct", "share_2", "share_45"], min_n=min_n)
    return {k: (None if pd.isna(v) else (bool(v) if k == "suppressed" else float(v)))
            for k, v in row.iloc[0].items()}


def school_history(results: pd.DataFrame, trend: pd.DataFrame, school_id: str, subject: str, grade: int,
                   min_n: int) -> pd.DataFrame:
    """One row per year: the school's participants and mean against the municipality and the region (suppressed).

    ``results`` is :func:`overview.school_results` for the subject and grade over all years;
    ``trend`` is :func:`overview.municipality_trend` of the school's municipality.
    """
    mine = results.loc[results.school_id == school_id, ["year", "participants", "mean_pct", "share_2", "share_45"]]
    tr = trend.loc[(trend.subject == subject) & (trend.grade == grade),
                   ["year", "mean_pct", "region_mean_pct", "participants"]]
    tr = tr.rename(columns={"mean_pct": "mun_mean_pct", "participants": "mun_participants"})
    tr = suppress(tr, count="mun_participants", values=["mun_mean_pct"], min_n=min_n).drop(columns="suppressed")
    out = mine.merge(tr, on="year", how="left").sort_values("year").reset_index(drop=True)
    return suppress(out, count="participants", values=["mean_pct", "share_2", "share_45"], min_n=min_n)


# ---------------------------------------------------------------- figures

def school_means_figure(region: pd.Series, schools: pd.DataFrame, title: str):
    """Dot plot: each municipality school's mean % against the region's distribution of school means.

    The top row is the region (box + all school means), the shaded band its middle half (Q1–Q3),
    the dashed line its median; schools below the region's Q1 are red.
    """
    shown = schools.loc[~schools.suppressed].sort_values("mean_pct")
    q1, med, q3 = region.quantile([0.25, 0.5, 0.75]) if len(region) else (float("nan"),) * 3
    n = len(shown)
    # constrained layout keeps long school names and the legend below the axes inside the picture
    fig, ax = plt.subplots(figsize=(10.5, 1.9 + 0.32 * (n + 1)), dpi=100, layout="constrained")
    if len(region):
        ax.axvspan(q1, q3, color=COLORS["band"], zorder=0, label="средняя половина школ региона (Q1–Q3)")
        ax.axvline(med, color=COLORS["region"], ls="--", lw=1.2, zorder=1, label="медиана школ региона")
        ax.boxplot(region, positions=[n], **HORIZONTAL, widths=0.55, showfliers=False, patch_artist=True,
                   boxprops={"facecolor": "white", "edgecolor": COLORS["region"]},
                   medianprops={"color": COLORS["region"]}, whiskerprops={"color": COLORS["region"]},
                   capprops={"color": COLORS["region"]}, zorder=2)
        jitter = (pd.Series(range(len(region))) % 7 - 3) * 0.04  # deterministic jitter: same picture every time
        ax.scatter(region, n + jitter, s=9, color=COLORS["region"], alpha=0.45, zorder=3)
    low = shown.mean_pct < q1
    ax.scatter(shown.mean_pct, range(n), s=70, zorder=4,
               color=[COLORS["low"] if x else COLORS["school"] for x in low])
    for y, (x, p) in enumerate(zip(shown.mean_pct, shown.participants)):
        ax.annotate(f"{number(x)} %  (n={int(p)})", (x, y), xytext=(8, 0), textcoords="offset points",
                    va="center", fontsize=8.5, color="#34495e")
    ax.set_yticks(list(range(n)) + [n], [_short(s) for s in shown.name] + [f"Все школы региона ({len(region)})"])
    ax.get_yticklabels()[-1].set_fontweight("bold")
    ax.set_ylim(-0.7, n + 0.7)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Средний процент от максимального первичного балла")
    ax.set_title(title, fontsize=11, loc="left")
    ax.grid(axis="x", color="#e5eaef", zorder=0)
    ax.spines[["top", "right"]].set_visible(False)
    ax.scatter([], [], s=70, color=COLORS["school"], label="школа муниципалитета")
    ax.scatter([], [], s=70, color=COLORS["low"], label="школа ниже Q1 региона")
    fig.legend(loc="outside lower center", ncol=4, fontsize=8.5, frameon=False)
    return fig


def history_figure(history: pd.DataFrame, title: str):
    """Line chart of a school's mean % by year against its municipality and the region."""
    fig, ax = plt.subplots(figsize=(5.7, 3.4), dpi=100, layout="constrained")
    years = history.year.astype(int)
    ax.plot(years, history.region_mean_pct, "-o", color=COLORS["region"], lw=1.5, ms=4, label="регион")
    ax.plot(years, history.mun_mean_pct, "-o", color=COLORS["mun"], lw=1.5, ms=4, label="муниципалитет")
    ax.plot(years, history.mean_pct, "-o", color=COLORS["school"], lw=2.4, ms=6, label="школа")
    ax.set_xticks(list(years))
    ax.set_ylim(0, 100)
    ax.set_ylabel("Средний % от максимума")
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(color="#e5eaef")
    ax.spines[["top", "right"]].set_visible(False)
    fig.legend(loc="outside lower center", fontsize=8, frameon=False, ncol=3)
    return fig


def _diff_html(value, reference, scale: float = 1.0, lower_is_better: bool = False) -> str:
    """« (+4,2)» coloured green when better than the region, red when worse; empty when hidden."""
    if value is None or reference is None or pd.isna(value) or pd.isna(reference):
        return ""
    diff = scale * (value - reference)
    good = (diff <= 0) if lower_is_better else (diff >= 0)
    sign = "+" if diff >= 0 else "−"
    return f' <span class="{"wb-good" if good else "wb-bad"}">({sign}{number(abs(diff))})</span>'


def _short(name: str, limit: int = 38) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


# ---------------------------------------------------------------- the dashboard

class OverviewDashboard(View):
    """Municipality overview: key figures, school means against the region, a table of schools, a school card.

    >>> dash = OverviewDashboard("data/store")                   # doctest: +SKIP
    >>> dash.subject.value = "rus"; dash.key_figures()["participants"]   # doctest: +SKIP
    """

    SECTIONS = {"grades": "список классов", "data": "данные выбора", "figures": "ключевые показатели",
                "chart": "график", "table": "таблица школ", "card": "карточка школы", "schools": "список школ"}

    def __init__(self, store: Store | str | Path | None = None, cache_dir: str | Path | None = None):
        super().__init__(store, cache_dir)
        self.min_n = load_defaults().privacy.min_pupils_publication.value
        self._table = pd.DataFrame()
        self._figures: dict | None = None
        self._chart: dict = {}
        self._card: pd.DataFrame = pd.DataFrame()
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
        self.grade = w.Dropdown(description="Класс:", style=style, layout=w.Layout(width="140px"))
        self.school = w.Dropdown(description="Карточка школы:", style=style, layout=w.Layout(width="560px"))
        for name in ("municipality", "year", "subject", "grade", "school"):
            getattr(self, name).add_class(f"wb-{name}")  # stable hooks for the browser test
        self.header = self._header(TITLE, f'Хранилище: {html.escape(str(self.store.root))} · ячейки менее чем по '
                                          f'{self.min_n} участникам скрыты')
        self.status = w.HTML(layout=wide)
        self.figures_html = w.HTML(layout=wide)
        self.chart_out = w.Output(layout=wide)
        self.table_html = w.HTML(layout=wide)
        self.card_html = w.HTML(layout=wide)
        self.card_table_html = w.HTML(layout=w.Layout(width="550px", margin="0 16px 0 0"))
        self.card_out = w.Output(layout=w.Layout(width="580px"))
        for x, hook in ((self.figures_html, "wb-figures"), (self.table_html, "wb-schools"),
                        (self.card_html, "wb-card-title"), (self.card_table_html, "wb-card-table"),
                        (self.chart_out, "wb-chart"), (self.card_out, "wb-card-chart")):
            x.add_class("wb-dash")
            x.add_class(hook)  # stable hooks for the browser test
        for dd in (self.municipality, self.year, self.subject, self.grade):
            dd.layout.margin = "2px 14px 2px 0"
        controls = w.HBox([self.municipality, self.year, self.subject, self.grade],
                          layout=w.Layout(flex_flow="row wrap"))
        card_body = w.HBox([self.card_table_html, self.card_out], layout=w.Layout(flex_flow="row wrap",
                                                                                 align_items="flex-start"))
        card = w.VBox([self.school, self.card_html, card_body], layout=w.Layout(
            border="1px solid #d5dde5", padding="6px 12px", margin="10px 0 0 0"))
        self.widget = w.VBox([self.header, controls, self.status, self.figures_html, self.chart_out,
                              self.table_html, card], layout=w.Layout(padding="4px 10px", max_width="1200px"))
        self.widget.add_class("wb-root")

    def _fill_options(self) -> None:
        """Dropdown options from what the store holds; a friendly message when it holds no ВПР."""
        if self.usable and {"vpr", "mark_scales"} <= set(self.data.tables()):
            works = self.data.query("SELECT DISTINCT municipality, year, subject FROM vpr")
        else:  # an empty store: the sections show how to load data
            works = pd.DataFrame(columns=["municipality", "year", "subject"])
        self._fill_municipalities_years(works)
        present = set(works.subject)
        self.subject.options = [(label, code) for code, label in SUBJECTS.items() if code in present]
        self.subject.value = "rus" if "rus" in present else (self.subject.options[0][1] if present else None)
        self._fill_grades()

    def _fill_grades(self) -> None:
        """Grades in which the chosen subject was written (any year); keeps the grade when still valid."""
        if self.subject.value is None:
            self.grade.options = []
            return
        grades = self._query("grades", self.subject.value, sql="SELECT DISTINCT grade FROM vpr WHERE subject = ? "
                             "ORDER BY 1").grade.astype(int).tolist()
        keep = self.grade.value
        self.grade.options = [(f"{g} класс", g) for g in grades]
        self.grade.value = keep if keep in grades else (grades[0] if grades else None)

    def _fill_schools(self) -> None:
        """Schools of the municipality with any ВПР result; keeps the open card when the school is still listed."""
        m = self.municipality.value
        keep = self.school.value
        schools = self._query("schools", m, sql="""
            SELECT DISTINCT v.school_id, coalesce(s.name, v.school_id) AS name
            FROM vpr v LEFT JOIN schools s USING (school_id) WHERE v.municipality = ? ORDER BY name""") \
            if m else pd.DataFrame(columns=["school_id", "name"])
        self.school.options = [("— выберите школу —", NO_SCHOOL)] + list(zip(schools.name, schools.school_id))
        self.school.value = keep if keep in set(schools.school_id) else NO_SCHOOL

    def _observe(self) -> None:
        for dd in (self.municipality, self.year, self.grade):
            dd.observe(self._on_selection, names="value")
        self.subject.observe(self._on_subject, names="value")
        self.school.observe(self._on_school, names="value")

    # ------------------------------------------------------------ hooks of View
    def _shown_text(self) -> str:
        return (self.figures_html.value + self.table_html.value + self.card_html.value
                + "".join(self._chart_messages))

    def _section_failed(self, name: str, text: str) -> None:
        target = {"data": self.figures_html, "figures": self.figures_html, "table": self.table_html,
                  "card": self.card_html, "schools": self.card_html}.get(name)
        if target is not None:
            target.value = message_html(text, error=True)
            if name == "card":
                self.card_table_html.value = ""
        elif name == "chart":
            self._chart_messages.append(text)
            self._show_in(self.chart_out, HTML(message_html(text, error=True)))

    # ------------------------------------------------------------ callbacks
    def _on_selection(self, _change=None) -> None:
        if not self._busy:
            with self._action():
                self._refresh_sections()

    def _on_subject(self, _change=None) -> None:
        if self._busy:
            return
        with self._action():
            with self._batch():
                self._render("grades", self._fill_grades)
            self._refresh_sections()

    def _on_school(self, _change=None) -> None:
        if not self._busy:
            with self._action():
                self._render("card", self._show_card)

    # ------------------------------------------------------------ public API
    def select(self, municipality: str | None = None, year: int | None = None, subject: str | None = None,
               grade: int | None = None, school: str | None = None) -> None:
        """Set any of the selectors at once and refresh once.

        >>> dash.select(municipality="004", year=2026, subject="math", grade=5)   # doctest: +SKIP
        """
        with self._action():
            with self._batch():
                for dd, value in ((self.municipality, municipality), (self.year, year), (self.subject, subject)):
                    if value is not None:
                        dd.value = value
                self._fill_grades()
                if grade is not None:
                    self.grade.value = grade
            self._refresh_sections()
        if school is not None:
            self.open_school(school)

    def open_school(self, school_id: str) -> None:
        """Open the card of a school of the current municipality (as if chosen in the selector)."""
        self.school.value = school_id

    def refresh(self) -> None:
        """Recompute every section for the current selection (each section fails on its own, in Russian)."""
        with self._action():
            self._refresh_sections()

    def _refresh_sections(self) -> None:
        start = time.perf_counter()
        self._chart_messages = []
        with self._batch():
            self._render("schools", self._fill_schools)
        if self._render("data", self._load_selection):
            # the chart last: drawing it takes longest (about 0.5 s), the figures and the table reach the page first
            for name, section in (("figures", self._show_figures), ("table", self._show_table),
                                  ("card", self._show_card), ("chart", self._show_chart)):
                self._render(name, section)
        else:  # without the selection's data every other section would only repeat the failure
            self._show_in(self.chart_out, HTML(""))
            self.table_html.value = ""
        self.timings["refresh"] = time.perf_counter() - start

    def table(self) -> pd.DataFrame:
        """The schools table as shown (suppressed values are NA, ``suppressed`` marks the rows)."""
        return self._table.copy()

    def key_figures(self) -> dict | None:
        """The key figures as shown (None when the municipality has no results for the work)."""
        return None if self._figures is None else dict(self._figures)

    def chart_data(self) -> dict:
        """What the chart plots: ``region`` (school means), ``schools`` (the municipality's), ``title``."""
        return dict(self._chart)

    def card_school(self) -> str | None:
        """The school id whose card is open (None when none)."""
        return self.school.value or None

    def card_table(self) -> pd.DataFrame:
        """The open card's years (suppressed like the main table)."""
        return self._card.copy()

    def _selection(self) -> tuple[str | None, int | None, str | None, int | None]:
        return self.municipality.value, self.year.value, self.subject.value, self.grade.value

    def _region_schools(self) -> pd.DataFrame:
        m, y, s, g = self._selection()
        # region-wide on purpose: one query gives the municipality's rows and the region's distribution
        return self._cached(("works", y, s, g),
                            lambda: overview.school_results(self.data, year=y, subject=s, grade=g))

    def _missing(self) -> str | None:
        """A Russian message when the selection cannot show anything, else None."""
        m, y, s, g = self._selection()
        if m is None or y is None or s is None or g is None:
            if not self.usable:
                return f"{self.store_message} Затем откройте панель заново."
            return (f"В хранилище {self.store.root} нет результатов ВПР. Загрузите данные "
                    "(например, `make run` для демонстрационного региона) и откройте панель заново.")
        if self._table.empty:
            return (f"Нет результатов ВПР для выбора «{work_label(s, g, y)}» в муниципалитете "
                    f"{self.municipality.label}. Выберите другой год, предмет или класс.")
        return None

    def _load_selection(self) -> None:
        """The municipality's schools table for the selection (the figures, chart and table all read it)."""
        m, y, s, g = self._selection()
        self._table = pd.DataFrame()
        if None not in (m, y, s, g):
            self._table = schools_table(self._region_schools(), m, self.min_n)

    def _show_figures(self) -> None:
        m, y, s, g = self._selection()
        self._figures = None
        if self._missing():
            self.figures_html.value = message_html(self._missing())
            return
        # the region's figures from the run's cache, every municipality's in one query per year: a switch reads
        vs = self._cached(("vs", m, y), lambda: overview.results_vs_region(
            self.data, m, y, reference=self.results.region_reference(y),
            results=self._cached(("municipalities", y), lambda: overview.municipality_results(self.data, None, y))))
        self._figures = selection_figures(vs, s, g, self.min_n)
        self.figures_html.value = self._figures_html(self._figures, s, g, y)

    def _figures_html(self, f: dict, s: str, g: int, y: int) -> str:
        m = self.municipality.value
        pct = "\u00a0%"
        cards = [
            ("Школ с результатами", number(f["schools"], 0), html.escape(municipality_names().get(m, m))),
            ("Участников", number(f["participants"], 0), f"в регионе: {number(f['region_participants'], 0)}"),
            ("Средний % от максимума", number(f["mean_pct"], 1, pct),
             f"регион: {number(f['region_mean_pct'], 1, pct)}{_diff_html(f['mean_pct'], f['region_mean_pct'])}"),
            ("Доля отметок «2»", share(f["share_2"]), f"регион: {share(f['region_share_2'])}"
             f"{_diff_html(f['share_2'], f['region_share_2'], scale=100, lower_is_better=True)}"),
        ]
        body = "".join(f'<div class="wb-card"><div class="l">{label}</div><div class="v">{value}</div>'
                       f'<div class="r">{remark}</div></div>' for label, value, remark in cards)
        return (f'<div class="wb-dash"><h3>Ключевые показатели: {html.escape(work_label(s, g, y))}</h3>'
                f'<div class="wb-cards">{body}</div></div>')

    def _show_chart(self) -> None:
        m, y, s, g = self._selection()
        self._chart = {}
        if self._missing():
            self._show_in(self.chart_out, HTML(message_html("График не построен: нет данных для выбора.")))
            return
        region = region_school_means(self._region_schools(), self.min_n)
        title = f"Средние результаты школ: {work_label(s, g, y)}"
        self._chart = {"region": region, "schools": self._table.loc[~self._table.suppressed], "title": title}
        fig = school_means_figure(region, self._table, title)
        self._show_in(self.chart_out, fig)

    def _show_table(self) -> None:
        if self._missing():
            self.table_html.value = ""
            return
        t = self._table
        q1 = region_school_means(self._region_schools(), self.min_n).quantile(0.25)
        rows = [[r.name, number(r.participants, 0), number(r.mean_pct, 1, "\u00a0%"), share(r.share_2),
                 share(r.share_45)] for r in t.itertuples()]
        classes = ["wb-hidden" if r.suppressed else ("wb-low" if r.mean_pct < q1 else "") for r in t.itertuples()]
        table = html_table(rows, ["Школа", "Участников", "Средний % от макс.", "Доля «2»", "Доля «4–5»"],
                           row_classes=classes)
        hidden = int(t.suppressed.sum())
        note = suppression_note(self.min_n) + (f" Скрыто строк: {hidden}." if hidden else "")
        low = "" if pd.isna(q1) else (f"Красным — средний результат ниже нижней четверти школ региона "
                                      f"(Q1 = {number(q1)} %). ")
        self.table_html.value = (f'<div class="wb-dash"><h3>Школы муниципалитета ({len(t)})</h3>{table}'
                                 f'<div class="wb-note">{low}{html.escape(note)}</div></div>')

    def _show_card(self) -> None:
        start = time.perf_counter()
        school_id, (m, _y, s, g) = self.school.value, self._selection()
        self._card = pd.DataFrame()
        if not school_id or None in (m, s, g):
            self.card_html.value = '<div class="wb-note">Выберите школу, чтобы открыть её карточку: результаты ' \
                                   'по годам в сравнении с муниципалитетом и регионом.</div>'
            self._clear_card_body()
            return
        results = self._cached(("history", s, g), lambda: overview.school_results(self.data, subject=s, grade=g))
        trend = self._cached(("trend", m), lambda: overview.municipality_trend(self.data, m))
        self._card = school_history(results, trend, school_id, s, g, self.min_n)
        name = self.school.label
        if self._card.empty:
            self.card_html.value = message_html(f"У школы «{name}» нет результатов ВПР по предмету "
                                                f"«{SUBJECTS.get(s, s)}» в {g} классе ни за один год.")
            self._clear_card_body()
            return
        self.card_html.value = (f'<div class="wb-dash"><h3>Карточка школы: {html.escape(name)}</h3>'
                                f'<div class="wb-sub">{html.escape(SUBJECTS.get(s, s))}, {g} класс: средний % от '
                                f'максимального балла по годам</div></div>')
        self.card_table_html.value = self._card_table()
        if self._card.mean_pct.notna().any():
            title = f"{_short(name, 50)}: {SUBJECTS.get(s, s)}, {g} класс"
            self._show_in(self.card_out, history_figure(self._card, title))
        else:
            self._show_in(self.card_out, HTML(message_html("График не построен: все значения школы скрыты.")))
        self.timings["card"] = time.perf_counter() - start

    def _clear_card_body(self) -> None:
        self.card_table_html.value = ""
        self._show_in(self.card_out, HTML(""))

    def _card_table(self) -> str:
        rows = [[str(int(r.year)), number(r.participants, 0), number(r.mean_pct, 1, "\u00a0%"),
                 number(r.mun_mean_pct, 1, "\u00a0%"), number(r.region_mean_pct, 1, "\u00a0%"), share(r.share_2)]
                for r in self._card.itertuples()]
        classes = ["wb-hidden" if r.suppressed else "" for r in self._card.itertuples()]
        table = html_table(rows, ["Год", "Участников", "Школа", "Муниципалитет", "Регион", "Доля «2»"],
                           row_classes=classes)
        return f'<div class="wb-dash">{table}</div>'

    # ------------------------------------------------------------ plumbing
    def _query(self, *key, sql: str) -> pd.DataFrame:
        params = [k for k in key[1:] if k is not None]
        return self._cached(key, lambda: self.data.query(sql, params))
