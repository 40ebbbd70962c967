"""What every view of the dashboard app shares: the store, the page's look, Russian numbers, and :class:`View`.

A view is a small class on :class:`View`: it builds its widgets, says which of them show its sections
(:meth:`View._shown_text`, :meth:`View._section_failed`) and computes its sections; the base gives it one user
action with its «Обновление…» status line (:meth:`View._action`), sections that fail with a Russian message
instead of a traceback (:meth:`View._render`), batching of widget changes (:meth:`View._batch`), a per-visit
cache (:meth:`View._cached`), the region-wide results of the run (:attr:`View.results`) and figure display
(:meth:`View._show_in`).

Example
-------
>>> class Hello(View):                                                       # doctest: +SKIP
...     SECTIONS = {"text": "приветствие"}
...     def __init__(self, store=None):
...         super().__init__(store)
...         self.status, self.text = w.HTML(), w.HTML()
...         self.widget = w.VBox([self.status, self.text])
...         with self._action():
...             self._render("text", lambda: setattr(self.text, "value", "Здравствуйте"))
...     def _shown_text(self): return self.text.value
...     def _section_failed(self, name, text): self.text.value = message_html(text, error=True)
"""
from __future__ import annotations

import html
import io
import logging
import os
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import ipywidgets as w
import matplotlib.pyplot as plt  # never force a backend here: figures would vanish in Voila
from IPython.core.interactiveshell import InteractiveShell
from IPython.display import Image

from workbench import formatting as fmt
from workbench.config import load_region
from workbench.data.store import Store
from workbench.paths import DATA_DIR
from workbench.privacy import MARK
from workbench.results import RegionResults
from workbench.vocab import SUBJECTS

log = logging.getLogger(__name__)

NO_SCHOOL = ""
REGION_FILE = "regions/demo.yaml"
COLORS = {"school": "#1f5f99", "low": "#c0392b", "mun": "#e08a00", "region": "#7f8c8d", "band": "#dfe6ec"}
CSS = """
<style>
.wb-dash {font-family: 'DejaVu Sans', Arial, sans-serif; color: #1d2733; max-width: 1180px; line-height: 1.4;}
.wb-dash h2 {margin: 4px 0 2px 0; font-size: 22px;}
.wb-dash h3 {margin: 14px 0 6px 0; font-size: 17px;}
.wb-sub {color: #5d6d7e; font-size: 13px; margin-bottom: 6px;}
.wb-cards {display: flex; gap: 12px; flex-wrap: wrap; margin: 6px 0;}
.wb-card {border: 1px solid #d5dde5; border-radius: 8px; padding: 8px 14px; min-width: 200px; background: #f8fafc;}
.wb-card .v {font-size: 24px; font-weight: bold;}
.wb-card .l {font-size: 12px; color: #5d6d7e;}
.wb-card .r {font-size: 12px; color: #34495e;}
.wb-good {color: #1e8449;} .wb-bad {color: #c0392b;}
table.wb-table {border-collapse: collapse; font-size: 13px; margin: 4px 0;}
table.wb-table th {background: #eef2f6; text-align: left; padding: 5px 9px; border-bottom: 2px solid #c8d2dc;
                   white-space: nowrap;}
table.wb-table td {padding: 4px 9px; border-bottom: 1px solid #e5eaef;}
table.wb-table td.n {text-align: right; font-variant-numeric: tabular-nums;}
table.wb-table tr.wb-hidden td {color: #8a96a3; font-style: italic;}
table.wb-table tr.wb-low td.m {color: #c0392b; font-weight: bold;}
.wb-note {font-size: 12px; color: #5d6d7e; margin: 2px 0 8px 0;}
.wb-msg {padding: 10px 14px; border-radius: 6px; background: #fff8e1; border: 1px solid #f0d58c; font-size: 14px;}
.wb-err {background: #fdecea; border-color: #f5b7b1;}
</style>
"""


def resolve_store(store: Store | str | Path | None = None) -> Store:
    """The store to show: an explicit one, else ``$WORKBENCH_STORE``, else ``data/store`` of the project.

    >>> resolve_store("/tmp/x").root.as_posix()
    '/tmp/x'
    """
    if isinstance(store, Store):
        return store
    if store is None:
        store = os.environ.get("WORKBENCH_STORE") or DATA_DIR / "store"
    return Store(Path(store))


def store_problem(store: Store) -> tuple[bool, str | None]:
    """(usable, Russian message) for a dashboard: a store without a completed import is not usable; an
    interrupted or running import is said (the page shows the last completed import).

    >>> import tempfile
    >>> store_problem(Store(tempfile.mkdtemp()))[0]
    False
    """
    status = store.status()
    usable = status.completed and not status.legacy
    return usable, status.problem_ru()


@lru_cache(maxsize=1)
def municipality_names() -> dict[str, str]:
    """Names of the region file's municipalities by code (empty when the file cannot be read).

    >>> municipality_names().get("004")                                      # doctest: +SKIP
    'город Лесосибирск'
    """
    try:
        return {m.code: m.name for m in load_region(REGION_FILE).municipalities}
    except Exception:  # a broken params file must not take the dashboard down: codes are shown instead
        log.warning("не удалось прочитать %s", REGION_FILE, exc_info=True)
        return {}


def number(x, digits: int = 1, suffix: str = "") -> str:
    """Russian number formatting (``workbench.formatting``); «скрыто» for a suppressed (NA) value.

    >>> number(56.25, 1, " %"), number(None)
    ('56,3 %', 'скрыто')
    """
    return fmt.number(x, digits, na=MARK) + (suffix if not fmt.is_missing(x) else "")


def share(x) -> str:
    """A 0–1 share as a Russian percent. ``share(0.125)`` → ``'12,5 %'``."""
    return fmt.share(x, na=MARK)


def figure_png(fig) -> bytes:
    """A figure as a palette PNG (white background, 256 colours).

    >>> import matplotlib.figure
    >>> fig = matplotlib.figure.Figure(figsize=(2, 1)); _ = fig.add_subplot().plot([0, 1], [1, 0], color="#c0392b")
    >>> figure_png(fig)[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    from PIL import Image as Picture

    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    picture = Picture.open(io.BytesIO(buf.getvalue())).convert("RGB")
    out = io.BytesIO()
    picture.quantize(colors=256, method=Picture.Quantize.FASTOCTREE).save(out, format="PNG")
    return out.getvalue()


def message_html(text: str, error: bool = False) -> str:
    """A friendly boxed message (yellow; red for errors). ``message_html("Нет данных")``."""
    cls = "wb-msg wb-err" if error else "wb-msg"
    return f'<div class="{cls}">{html.escape(text)}</div>'


def work_label(subject: str, grade: int, year: int) -> str:
    """«Математика, 5 класс, 2026 год» for headings and messages."""
    return f"{SUBJECTS.get(subject, subject)}, {grade} класс, {year} год"


def html_table(rows: list[list[str]], header: list[str], numeric_from: int = 1,
               row_classes: list[str] | None = None) -> str:
    """A compact HTML table; columns from ``numeric_from`` are right-aligned numbers (already formatted)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = "".join(
            f'<td class="{_cell_class(j, numeric_from)}">{html.escape(str(v))}</td>' for j, v in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f'<table class="wb-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _cell_class(column: int, numeric_from: int) -> str:
    """``n`` for number columns, plus ``m`` for the mean (the column after the count) that turns red when low."""
    return ("n" if column >= numeric_from else "") + (" m" if column == numeric_from + 1 else "")


class View:
    """The base of a view: store, results, errors, timings and the plumbing every view needs.

    Subclasses set :attr:`SECTIONS` (section key → Russian name used in messages) and implement
    :meth:`_shown_text` and :meth:`_section_failed`; they create ``self.status`` (an ``HTML`` widget) and
    ``self.widget`` (the view's top-level container).
    """

    SECTIONS: dict[str, str] = {}

    def __init__(self, store: Store | str | Path | None = None, cache_dir: str | Path | None = None):
        self.store = resolve_store(store)
        self.data = self.store  # one DuckDB connection over the store's compact files, pinned to one version
        self.usable, self.store_message = store_problem(self.store)
        self.results = RegionResults.shared(self.store, cache_dir)
        self.errors: list[str] = []          # Russian messages of failed sections (tests and logs read them)
        self.timings: dict[str, float] = {}  # seconds: first_render, refresh, card, cached computations, …
        self._cache: dict[tuple, object] = {}
        self._busy = 0

    def _header(self, title: str, subtitle: str, css: str = CSS) -> w.HTML:
        """The view's title block; an interrupted or running import is said under it (the page shows the data of
        the last completed import)."""
        header = w.HTML(f'{css}<div class="wb-dash"><h2>{title}</h2><div class="wb-sub">{subtitle}</div></div>')
        if self.usable and self.store_message:
            header.value += message_html(self.store_message + " Панель показывает данные последней завершённой "
                                         "загрузки.", error=True)
        return header

    # ------------------------------------------------------------ hooks of a view
    def _shown_text(self) -> str:
        """The text of every section widget: an error shown there is not repeated in the status line."""
        return ""

    def _section_failed(self, name: str, text: str) -> None:
        """Put the Russian message of a failed section where that section is shown."""

    # ------------------------------------------------------------ plumbing
    @contextmanager
    def _batch(self):
        """Set several widgets without a refresh per change (one refresh at the end is the caller's)."""
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1

    @contextmanager
    def _action(self, timing: str = "action"):
        """One user action: fresh error list, «Обновление…» while it runs, nothing escapes as a traceback."""
        start = time.perf_counter()
        self.errors = []
        self.status.value = '<span class="wb-note">Обновление…</span>'
        try:
            yield
        except Exception as exc:  # a last guard: sections catch their own errors, this catches the glue
            log.exception("действие панели не выполнено")
            self.errors.append(f"Не удалось обновить панель ({type(exc).__name__}). Попробуйте другой выбор; "
                               "если ошибка повторяется, сообщите администратору.")
        shown = self._shown_text()
        pending = [e for e in self.errors if e not in shown]
        self.status.value = message_html(pending[-1], error=True) if pending else ""
        self.timings[timing] = time.perf_counter() - start

    def _render(self, name: str, section) -> bool:
        """Run one section; on failure show a Russian message instead of a traceback (and log the traceback)."""
        try:
            section()
            return True
        except Exception as exc:  # every failure must reach the user as a message, never as a traceback
            log.exception("раздел %s панели не построен", name)
            text = (f"Не удалось построить раздел «{self.SECTIONS.get(name, name)}» для выбранных значений "
                    f"({type(exc).__name__}). Попробуйте другой выбор; если ошибка повторяется, "
                    "сообщите администратору.")
            self.errors.append(text)
            self._section_failed(name, text)
            return False

    def _fill_municipalities_years(self, works) -> None:
        """Municipality and year selectors from the (municipality, year) pairs the store holds, the first
        municipality and the latest year chosen (ipywidgets 8 leaves value None after options are assigned)."""
        names = municipality_names()
        codes = sorted(works["municipality"].dropna().astype(str).unique())
        self.municipality.options = [(f"{c} — {names[c]}" if c in names else c, c) for c in codes]
        self.year.options = [(str(int(y)), int(y)) for y in sorted(works["year"].dropna().unique(), reverse=True)]
        self.municipality.value = codes[0] if codes else None
        self.year.value = self.year.options[0][1] if self.year.options else None

    def _cached(self, key: tuple, compute):
        """Computed once per visit (a Voila page has its own kernel); the seconds go to ``timings[key[0]]``."""
        if key not in self._cache:
            start = time.perf_counter()
            self._cache[key] = compute()
            self.timings[key[0]] = time.perf_counter() - start
        return self._cache[key]

    def _show_in(self, out: w.Output, obj) -> None:
        """Replace an Output's content with one object; figures are closed so they do not pile up.

        A figure is sent as its PNG, drawn once: the inline backend's tight bounding box draws it twice (0.30 s
        against 0.22 s for the overview's chart), and the figures' constrained layout already keeps every label
        inside. The PNG is reduced to a 256-colour palette (the charts use a handful of colours; the overview's
        chart 128 KB → 38 KB in 16 ms), which the page receives and decodes sooner."""
        fig = obj if hasattr(obj, "savefig") else None
        try:
            if fig is not None:
                obj = Image(data=figure_png(fig), format="png")
            # set in the widget's state (one update, no flicker), not printed inside ``with out:``: the page
            # captures printed output by the request the kernel is answering, which misplaces what a background
            # thread (a hidden view following the selection) sends, and sends every image back to the kernel
            data, metadata = InteractiveShell.instance().display_formatter.format(obj)
            out.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)
        finally:
            if fig is not None:
                plt.close(fig)

    def _repr_mimebundle_(self, **kwargs):
        # lets a notebook show the view by evaluating the object itself
        return self.widget._repr_mimebundle_(**kwargs)
