"""Voila dashboard: which schools of a municipality a methodology identifies as ШНОР / ШНСУ, and why.

The official picks a municipality, a year and a methodology (by default the municipality's own, with the
overrides of its params file, as :func:`workbench.reports.deliverables.methodology_of` resolves it); filters by group, school
type (DOMAIN §5 typology) and a part of the school's name; sees how the other methodologies would decide for
the same schools; and opens a school's card: each criterion with value, threshold, margin, years, interval and
whether it fired; the ВПР result relative to the region by year with interval bars; the three context indices;
value added and the school's type. A section «Объективность ВПР» shows the FIS OKO mark agreement of the
municipality against the region (:func:`workbench.agreement.agreement_report`, «все предметы») and the schools
with objectivity signals (:func:`workbench.objectivity.signals`, fired rows only); the card has an «Объективность»
panel with the school's agreement and its fired signal rows. Signals are worded as «признаки», never verdicts.

All logic lives here (the notebook ``notebooks/dashboards/identification.ipynb`` only displays the widget) and
every figure comes from :mod:`workbench.identify`. Only school aggregates are shown. A school with fewer than
``privacy.min_pupils_publication`` ВПР participants (Russian and mathematics, the selected year, else its
latest year with results) shows its group and which criteria fired, never a number; a criterion or a trend
year computed from fewer participants is hidden on its own.

Responsiveness: the region-wide results (methodologies per year and parameters, typology, trends, objectivity
signals) come from :class:`workbench.results.RegionResults`: the run computed them, so a kernel only reads
files, and what no run computed is computed once per store and shared with every later kernel. The agreement
report is cached per (year, municipality) in the instance (a Voila page has its own kernel: one visit).
Switching the municipality, a filter or the school then costs milliseconds.

Example
-------
>>> from workbench.dashboards.identification import IdentificationDashboard
>>> dash = IdentificationDashboard("data/store")                                  # doctest: +SKIP
>>> dash.select(municipality="004", year=2026)      # methodology: the municipality's own   # doctest: +SKIP
>>> dash.table()[["name", "group", "criteria_fired", "value", "suppressed"]]     # doctest: +SKIP
>>> dash.select(methodology="kamensk_uralsky"); dash.comparison()                # doctest: +SKIP
>>> dash.open_school(dash.table().school_id.iloc[0]); dash.card_criteria()       # doctest: +SKIP
>>> dash.objectivity_overview(); dash.objectivity_schools(); dash.card_objectivity()   # doctest: +SKIP
>>> dash.widget          # the top-level container to display in Jupyter / Voila       # doctest: +SKIP
"""
from __future__ import annotations

import html
import logging
import time
from pathlib import Path

import ipywidgets as w
import matplotlib.pyplot as plt  # never force a backend here: figures would vanish in Voila
import numpy as np
import pandas as pd
from IPython.display import HTML

from workbench import formatting as fmt
from workbench import identify
from workbench.agreement import ALL_SUBJECTS, agreement_report
from workbench.config import load_defaults, load_municipality, load_presets, load_region, resolve_methodology
from workbench.dashboards.base import COLORS, CSS, REGION_FILE, View, message_html, number
from workbench.data.store import Store
from workbench.objectivity import LEVELS as SIGNAL_LEVELS
from workbench.objectivity import school_signals
from workbench.privacy import MARK, suppress, suppression_note
from workbench.results import TREND_SUBJECTS
from workbench.vocab import SUBJECTS

log = logging.getLogger(__name__)

TITLE = "Выявление ШНОР и ШНСУ: школы муниципалитета по методикам"
NO_SCHOOL = ""
ALL_TYPES = ""
OWN_SUFFIX = " — методика муниципалитета"
GROUP_FILTERS = [("Все", "all"), ("ШНОР", "shnor"), ("Зона риска", "risk"), ("ШНСУ", "shnsu")]
GROUP_MEMBERS = {"shnor": {"ШНОР", "ШНОР и ШНСУ"}, "risk": {"зона риска"}, "shnsu": {"ШНСУ", "ШНОР и ШНСУ"}}
GROUP_ORDER = {"ШНОР и ШНСУ": 0, "ШНОР": 1, "зона риска": 2, "ШНСУ": 3, "": 4}
GROUP_CLASS = {"ШНОР и ШНСУ": "g-shnor", "ШНОР": "g-shnor", "зона риска": "g-risk", "ШНСУ": "g-shnsu"}
INDICES = [("social", "ИСБШ (социальное благополучие)"), ("staff", "Кадровый потенциал"),
           ("resources", "Ресурсное обеспечение")]
HIDDEN_TEXT = "Пояснение скрыто: результаты школы рассчитаны менее чем по {n} участникам."
MINUS = fmt.MINUS
AGREEMENT_SHOWN = ["level", "unit_name", "participants", "without_journal", "with_both", "lowered_share",
                   "confirmed_share", "raised_share", "diff2_share", "sample_size"]
AGREEMENT_SHARES = ["lowered_share", "confirmed_share", "raised_share", "diff2_share"]
SIGNAL_SHOWN = ["school_id", "subject", "grade", "level", "signal", "component", "title_ru", "n", "effect", "unit",
                "threshold", "statistic", "p_value", "q_value", "fired", "sample_size", "description_ru"]
SIGNAL_NUMBERS = ["n", "effect", "statistic", "p_value", "q_value"]
OBJECTIVITY_WORDING = ("Признаки — повод внимательнее посмотреть на организацию и проверку работ, а не вывод о "
                       "нарушениях: у каждого признака бывают естественные причины.")
NBSP = fmt.NBSP  # between a number and its unit
EXTRA_CSS = """
<style>
.wb-dash td.g-shnor {color: #c0392b; font-weight: bold;}
.wb-dash td.g-risk {color: #b9770e; font-weight: bold;}
.wb-dash td.g-shnsu {color: #1f5f99; font-weight: bold;}
.wb-dash td.ok {color: #c0392b; font-weight: bold; text-align: center;}
.wb-dash td.no {color: #8a96a3; text-align: center;}
.wb-dash tr.wb-sel td {font-weight: bold; background: #f3f7fb;}
.wb-dash table.wb-table td.w {white-space: normal; max-width: 420px;}
.wb-dash table.wb-table td.nm {white-space: normal; min-width: 160px; max-width: 260px;}
.wb-dash table.wb-table th {white-space: normal; vertical-align: bottom;}
.wb-expl {font-size: 13px; margin: 4px 0 8px 0; padding: 6px 10px; border-left: 3px solid #c8d2dc;
          background: #f8fafc;}
</style>
"""


# ---------------------------------------------------------------- the store, read through one connection

def own_methodology(code: str, region=None) -> tuple[str, object]:
    """(preset name, resolved rule parameters) of a municipality's own methodology: what
    :func:`workbench.reports.deliverables.methodology_of` returns (a test checks they agree), without importing
    ``workbench.reports.deliverables``, which pulls nbformat and jsonschema: two seconds of a Voila page's first render.
    """
    region = region or load_region(REGION_FILE)
    m = next((m for m in region.municipalities if m.code == code), None)
    path = Path(m.params) if m and m.params else None
    ident = load_municipality(path).identification if path else load_defaults().identification
    return ident.preset, resolve_methodology(ident, load_presets(), path or Path("defaults.yaml"))


# ---------------------------------------------------------------- formatting (Russian)

def signed(x, digits: int = 1) -> str:
    """A difference with its sign: ``signed(-12.34)`` → ``'−12,3'``, ``signed(4.2)`` → ``'+4,2'``; «скрыто» for NA.

    >>> signed(-12.34), signed(4.2), signed(0.0, 2), signed(None)
    ('−12,3', '+4,2', '0,00', 'скрыто')
    """
    return fmt.number(x, digits, signed=True, na=MARK)


def unit_of_headline(headline) -> str:
    """The unit of a flags row's headline figure (identify's flags carry the text, not the unit).

    >>> [unit_of_headline(h) for h in ("ВПР, п.п. к региону", "ООО, SD к региону", "доля «2»: физика, 7 кл.",
    ...                                "ОГЭ математика", "ВПР русский язык")]
    ['п.п.', 'SD', 'доля', 'балла', 'п.п.']
    """
    if not isinstance(headline, str) or not headline:
        return "п.п."
    if "SD" in headline:
        return "SD"
    if headline.startswith("доля"):
        return "доля"
    if headline.startswith(("ОГЭ", "ЕГЭ")):
        return "балла"
    return "п.п."


def value_text(x, unit: str, with_unit: bool = True) -> str:
    """One value in its unit: shares as percent, differences signed, indices (z, SD) with two decimals.

    >>> [value_text(*a).replace(NBSP, " ") for a in ((-12.34, "п.п."), (0.125, "доля"), (-0.281, "SD"), (None, "z"))]
    ['−12,3 п.п.', '12,5 %', '−0,28 SD', 'скрыто']
    """
    if x is None or pd.isna(x):
        return MARK
    if unit == "доля":
        text = (MINUS if x < 0 else "") + number(abs(100 * float(x)), 1)
        return text + ("\u00a0%" if with_unit else "")
    text = signed(x, 2 if unit in ("SD", "z") else 1)
    return text + (f"\u00a0{unit}" if with_unit and unit and unit != "z" else "")


def interval_text(value, low, high, unit: str) -> str:
    """«−12,3 [−15,0; −9,6] п.п.»: a value with its interval (without brackets when there is none).

    >>> [interval_text(*a).replace(NBSP, " ") for a in ((-12.3, -15.0, -9.6, "п.п."), (0.2, None, None, "доля"))]
    ['−12,3 [−15,0; −9,6] п.п.', '20,0 %']
    """
    if value is None or pd.isna(value):
        return MARK
    body = value_text(value, unit, with_unit=False)
    if low is not None and high is not None and not pd.isna(low) and not pd.isna(high):
        body += f" [{value_text(low, unit, False)}; {value_text(high, unit, False)}]"
    suffix = "\u00a0%" if unit == "доля" else ("" if unit == "z" else f"\u00a0{unit}")
    return body + suffix


def rich_table(header: list[str], rows: list[list], row_classes: list[str] | None = None,
               row_titles: list[str] | None = None) -> str:
    """An HTML table; a cell is text or ``(text, css class)``; text is escaped; a row may carry a tooltip."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        attrs = ""
        if row_classes and row_classes[i]:
            attrs += f' class="{row_classes[i]}"'
        if row_titles and row_titles[i]:
            attrs += f' title="{html.escape(row_titles[i])}"'
        cells = []
        for cell in row:
            text, cls = cell if isinstance(cell, tuple) else (cell, "")
            cells.append(f'<td class="{cls}">{html.escape(str(text))}</td>')
        body.append(f"<tr{attrs}>{''.join(cells)}</tr>")
    return f'<table class="wb-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


# ---------------------------------------------------------------- data for one selection (pure)

def school_participants(trend: pd.DataFrame, year: int) -> pd.Series:
    """ВПР participants per school (Russian and mathematics) in ``year``, else in its latest earlier year."""
    t = trend[trend["year"] <= year].sort_values("year")
    return t.groupby("school_id")["n"].last()


def identification_table(flags: pd.DataFrame, typ: pd.DataFrame, participants: pd.Series, municipality: str,
                         min_n: int) -> pd.DataFrame:
    """One row per school of the municipality: group, criteria, headline figure with interval, type; numbers of
    schools with fewer than ``min_n`` participants hidden (``suppressed``). Flagged schools first."""
    f = flags[flags["municipality"] == municipality].copy()
    f["name"] = f["name"].fillna(f["school_id"])
    f["unit"] = f["headline"].map(unit_of_headline)
    t = typ.set_index("school_id") if len(typ) else pd.DataFrame(columns=["type", "type_ru"])
    f["type"] = f["school_id"].map(t["type"]).fillna("other")
    f["type_ru"] = f["school_id"].map(t["type_ru"]).fillna(identify.TYPES["other"])
    f["participants"] = f["school_id"].map(participants)
    f["no_data"] = f["value"].isna()
    heads = ["value", "ci_low", "ci_high", "probability"]
    out = suppress(f, count="participants", values=heads, min_n=min_n)
    # the headline's own participants, when identify reports them: a figure from a small cell is hidden too
    small_head = (out["n"].astype(float).lt(min_n).fillna(False) if "n" in out
                  else pd.Series(False, index=out.index))
    for c in heads + (["n"] if "n" in out else []):
        out[c] = out[c].astype("float64").where(~(small_head | out["suppressed"]), np.nan)
    out["headline_hidden"] = (small_head | out["suppressed"]).to_numpy(bool)
    out["explanation"] = out["explanation"].where(~out["suppressed"], HIDDEN_TEXT.format(n=min_n))
    out["_order"] = out["group"].map(GROUP_ORDER).fillna(9)
    out = out.sort_values(["_order", "criteria_fired", "name"], ascending=[True, False, True])
    return out.drop(columns="_order").reset_index(drop=True)


def filter_table(table: pd.DataFrame, group: str = "all", school_type: str = ALL_TYPES, search: str = "") \
        -> pd.DataFrame:
    """Rows of ``table`` in a group (all / shnor / risk / shnsu), of a type, whose name contains ``search``.

    >>> t = pd.DataFrame({"school_id": ["a", "b"], "name": ["СОШ № 1", "Лицей"], "group": ["ШНОР и ШНСУ", ""],
    ...                   "type": ["shnsu", "other"]})
    >>> filter_table(t, "shnsu").name.tolist(), filter_table(t, search="лиц").name.tolist()
    (['СОШ № 1'], ['Лицей'])
    """
    keep = pd.Series(True, index=table.index)
    if group in GROUP_MEMBERS:
        keep &= table["group"].isin(GROUP_MEMBERS[group])
    if school_type:
        keep &= table["type"] == school_type
    text = (search or "").strip().casefold()
    if text:
        keep &= (table["name"].astype(str).str.casefold().str.contains(text, regex=False)
                 | table["school_id"].astype(str).str.casefold().str.contains(text, regex=False))
    return table[keep].reset_index(drop=True)


def comparison_table(results: dict[str, identify.Identification], municipality: str, selected: str,
                     own: str | None = None) -> pd.DataFrame:
    """Per methodology, for the municipality: schools flagged as ШНОР, in the risk zone, ШНСУ; flagged by both it
    and ``selected``; Jaccard similarity with ``selected`` (NaN when neither flags any school)."""
    cmp = identify.compare(results, municipality)
    overlap = cmp["overlap"]
    rows = []
    for name, res in results.items():
        f = res.flags[res.flags["municipality"] == municipality]
        flagged = int(f["flagged"].sum())
        if name == selected:
            both, jac = flagged, (1.0 if flagged else np.nan)
        else:
            pair = overlap[((overlap["first"] == name) & (overlap["second"] == selected))
                           | ((overlap["first"] == selected) & (overlap["second"] == name))]
            both = int(pair["both"].iloc[0]) if len(pair) else 0
            jac = float(pair["jaccard"].iloc[0]) if len(pair) else np.nan
        rows.append({"methodology": name, "title": res.title, "flagged": flagged,
                     "risk_zone": int(f["risk_zone"].sum()), "shnsu": int(f["shnsu"].sum()), "both": both,
                     "jaccard": jac, "selected": name == selected, "own": name == own})
    return pd.DataFrame(rows)


def card_criteria_table(criteria: pd.DataFrame, school_id: str, participants, min_n: int) -> pd.DataFrame:
    """The school's criteria rows of a methodology; numbers hidden for a small school and for criteria computed
    from fewer than ``min_n`` participants (``suppressed``); the thresholds stay (they are not the school's)."""
    c = criteria[criteria["school_id"] == school_id].copy().reset_index(drop=True)
    small_school = participants is None or pd.isna(participants) or float(participants) < min_n
    hide = c["n"].astype(float).lt(min_n).fillna(False) | small_school
    for col in ("value", "margin", "n", "ci_low", "ci_high", "probability"):
        c[col] = c[col].astype("float64").where(~hide, np.nan)
    c["note"] = c["note"].where(~hide, "")
    c["suppressed"] = hide.to_numpy(bool)
    return c


def card_trend_table(trend: pd.DataFrame, school_id: str, min_n: int, hidden: bool = False) -> pd.DataFrame:
    """The school's yearly ВПР results relative to the region; years with fewer than ``min_n`` participants
    hidden, and every year when the whole school is (``hidden``)."""
    t = trend[trend["school_id"] == school_id].drop(columns="school_id").reset_index(drop=True)
    if hidden:
        t["n"] = np.nan
    return suppress(t, count="n", values=["estimate", "se", "ci_low", "ci_high"], min_n=min_n)


def card_context_table(context: pd.DataFrame, school_id: str, hidden: bool) -> pd.DataFrame:
    """The three context indices of the school (municipal reference) with notes on missing components."""
    row = context[context["school_id"] == school_id]
    out = []
    for key, title in INDICES:
        value = row[f"{key}_index"].iloc[0] if len(row) and f"{key}_index" in row else np.nan
        note = str(row[f"{key}_note"].iloc[0] or "") if len(row) and f"{key}_note" in row else ""
        missing = str(row[f"{key}_missing"].iloc[0] or "") if len(row) and f"{key}_missing" in row else ""
        if not note and missing:
            note = f"нет данных: {missing}"
        if not len(row):
            note = "нет данных о контексте школы"
        elif pd.isna(value) and not note:
            note = "индекс не рассчитан"
        out.append({"index": key, "title": title, "value": np.nan if hidden else value,
                    "note": "" if hidden else note, "suppressed": hidden})
    return pd.DataFrame(out)


def value_added_sentence(row: dict | None, level: float, window: str) -> str:
    """One Russian sentence about the school's value added (what its context predicts vs what it achieved)."""
    if not row or pd.isna(row.get("value_added")):
        return ("Добавленная ценность не оценена: нет ИСБШ школы или мало результатов ВПР "
                f"({window}).")
    va, lo, hi = row["value_added"], row["va_low"], row["va_high"]
    what = (f"Добавленная ценность ({window}, с учётом ИСБШ): "
            f"{interval_text(va, lo, hi, 'п.п.')} ({level * 100:.0f} % интервал)")
    if hi < 0:
        return what + " — результаты уверенно ниже ожидаемых при таком социальном контексте."
    if lo > 0:
        return what + " — результаты уверенно выше ожидаемых при таком социальном контексте."
    return what + " — в пределах ожидаемого при таком контексте (интервал включает ноль)."


def agreement_lines(report: pd.DataFrame, min_n: int, school_id: str | None = None,
                    hidden: bool = False) -> pd.DataFrame:
    """The «все предметы» rows of an agreement report: the school (when ``school_id``), the municipality and the
    region, in that order. Shares and counts of a row with fewer than ``min_n`` pupils with both marks are
    hidden (``suppressed``), and every figure of the school when ``hidden`` (a small school)."""
    a = report[report["subject"] == ALL_SUBJECTS] if len(report) else report
    parts = []
    if school_id is not None:
        parts.append(a[(a["level"] == "школа") & (a["school_id"] == school_id)])
    parts += [a[a["level"] == "муниципалитет"], a[a["level"] == "регион"]]
    out = pd.concat(parts, ignore_index=True) if len(a) else pd.DataFrame(columns=AGREEMENT_SHOWN)
    out = out[AGREEMENT_SHOWN].copy()
    if hidden and school_id is not None:
        out.loc[out["level"] == "школа", "with_both"] = 0
    counts = ["participants", "without_journal"]
    out = suppress(out, count="with_both", values=AGREEMENT_SHARES + counts, min_n=min_n)
    out["sample_size"] = out["sample_size"].where(~out["suppressed"], MARK)
    return out.reset_index(drop=True)


def objectivity_school_table(sig: pd.DataFrame, municipality: str, names: pd.Series, hidden: pd.Series,
                             min_n: int) -> pd.DataFrame:
    """Schools of the municipality with fired objectivity signals (``school_signals``), most signals first:
    school_id, name, signals_fired, rows_fired, min_q, summary_ru; a school hidden for privacy (``hidden``) keeps
    its summary wording (which checks fired) but not its q (``suppressed``)."""
    cols = ["school_id", "name", "signals_fired", "rows_fired", "min_q", "summary_ru", "suppressed"]
    s = sig[sig["municipality"] == municipality] if len(sig) else sig
    per = school_signals(s)
    per = per[per["rows_fired"] > 0].copy() if len(per) else pd.DataFrame(columns=cols)
    per["name"] = per["school_id"].map(names).fillna(per["school_id"])
    per["suppressed"] = per["school_id"].map(hidden).fillna(False).astype(bool)
    per["min_q"] = per["min_q"].astype("float64").where(~per["suppressed"], np.nan)
    per["summary_ru"] = per["summary_ru"].where(
        ~per["suppressed"], per["summary_ru"].astype(str).str.replace(r"; наименьшее q [^.]*\.$", ".", regex=True))
    return per[cols].reset_index(drop=True)


def card_signal_table(sig: pd.DataFrame, school_id: str, min_n: int, hidden: bool = False) -> pd.DataFrame:
    """The school's fired signal rows (``SIGNAL_SHOWN`` plus ``work``, ``suppressed``), strongest (smallest q) first;
    numbers of a small school (``hidden``) and of rows from fewer than ``min_n`` participants are NA."""
    f = sig[(sig["school_id"] == school_id) & sig["fired"].astype(bool)] if len(sig) else sig
    f = f.reindex(columns=SIGNAL_SHOWN).sort_values(["q_value", "signal", "subject", "grade"], kind="stable",
                                                    na_position="last").reset_index(drop=True)
    f["work"] = [SIGNAL_LEVELS["school"] if lv == "school" else
                 f"{SUBJECTS.get(sb, sb)}, {int(g)} кл." if not pd.isna(g) else str(SUBJECTS.get(sb, sb))
                 for lv, sb, g in zip(f["level"], f["subject"], f["grade"])]
    hide = f["n"].astype(float).lt(min_n).fillna(True) | hidden
    for c in SIGNAL_NUMBERS:
        f[c] = f[c].astype("float64").where(~hide, np.nan)
    f["description_ru"] = f["description_ru"].where(~hide, HIDDEN_TEXT.format(n=min_n))
    f["suppressed"] = hide.to_numpy(bool)
    return f


def share_text(x) -> str:
    """A share as a Russian percent with one decimal; «скрыто» for NA.

    >>> share_text(0.3383).replace(NBSP, " "), share_text(None)
    ('33,8 %', 'скрыто')
    """
    return fmt.share(x, na=MARK)


def q_text(q) -> str:
    """A q-value: «< 0,001» or three decimals; «скрыто» for NA.

    >>> q_text(2e-8).replace(NBSP, " "), q_text(0.0123), q_text(None)
    ('< 0,001', '0,012', 'скрыто')
    """
    return fmt.p_value(q, na=MARK)


def effect_text(x, unit: str) -> str:
    """A signal's effect in its unit, signed: «+49,7 п.п.», «+0,62 SD», «−35,0 %»."""
    if x is None or pd.isna(x):
        return MARK
    return signed(x, 2 if unit == "SD" else 1) + (f"\u00a0{unit}" if unit else "")


def agreement_html(lines: pd.DataFrame) -> str:
    rows, classes = [], []
    for r in lines.itertuples():
        rows.append([(r.unit_name if r.level != "регион" else "Регион", "nm"),
                     (MARK if pd.isna(r.with_both) else number(r.with_both, 0), "n"),
                     (share_text(r.lowered_share), "n"), (share_text(r.confirmed_share), "n"),
                     (share_text(r.raised_share), "n"), (share_text(r.diff2_share), "n"),
                     (MARK if pd.isna(r.without_journal) else number(r.without_journal, 0), "n"),
                     (str(r.sample_size), "w")])
        classes.append("wb-sel" if r.level != "регион" else "")
    return rich_table(["", "Участников с обеими отметками", "Понизили, %", "Подтвердили, %", "Повысили, %",
                       "Разница на 2 и более балла, %", "Без отметки по журналу", "Надёжность"], rows, classes)


# ---------------------------------------------------------------- figure

def trend_figure(trend: pd.DataFrame, title: str, level: float):
    """The school's yearly ВПР result relative to the region with interval bars (hidden years left out)."""
    fig, ax = plt.subplots(figsize=(5.4, 3.3), dpi=100, layout="constrained")
    shown = trend[~trend["suppressed"]]
    years = trend["year"].astype(int).tolist()
    ax.axhline(0, color=COLORS["region"], ls="--", lw=1.2, label="среднее по региону")
    if len(shown):
        y = shown["estimate"].to_numpy(float)
        err = np.vstack([y - shown["ci_low"].to_numpy(float), shown["ci_high"].to_numpy(float) - y])
        ax.errorbar(shown["year"].astype(int), y, yerr=err, fmt="-o", color=COLORS["school"], ecolor=COLORS["school"],
                    elinewidth=1.2, capsize=4, lw=2, ms=6, label=f"школа ({level * 100:.0f} % интервал)")
        low = y < 0
        ax.scatter(shown["year"].astype(int)[low], y[low], s=40, color=COLORS["low"], zorder=5)
    ax.set_xticks(years)
    ax.set_xlim(min(years) - 0.5, max(years) + 0.5) if years else None
    ax.set_ylabel("п.п. к среднему по региону")
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(color="#e5eaef")
    ax.spines[["top", "right"]].set_visible(False)
    fig.legend(loc="outside lower center", fontsize=8, frameon=False, ncol=2)
    return fig


# ---------------------------------------------------------------- the dashboard

class IdentificationDashboard(View):
    """ШНОР / ШНСУ of a municipality under a methodology: table, comparison of methodologies, school card.

    >>> dash = IdentificationDashboard("data/store")                              # doctest: +SKIP
    >>> dash.methodology.value = "kamensk_uralsky"; dash.table().group.value_counts()   # doctest: +SKIP
    """

    SECTIONS = {"data": "данные выбора", "types": "список типов школ", "table": "таблица выявления",
                "compare": "сравнение методик", "card": "карточка школы", "objectivity": "объективность ВПР",
                "card_objectivity": "объективность в карточке школы"}

    def __init__(self, store: Store | str | Path | None = None, *, min_n: int | None = None,
                 cache_dir: str | Path | None = None):
        start = time.perf_counter()
        super().__init__(store, cache_dir)
        defaults = load_defaults()
        self.min_n = defaults.privacy.min_pupils_publication.value if min_n is None else int(min_n)
        self.unc = defaults.uncertainty
        self.typ = defaults.typology
        self.presets = load_presets()
        self._own_cache: dict[str, tuple] = {}
        self._region = None
        self._full = pd.DataFrame()
        self._table = pd.DataFrame()
        self._comparison = pd.DataFrame()
        self._card_criteria = pd.DataFrame()
        self._card_trend = pd.DataFrame()
        self._card_context = pd.DataFrame()
        self._card_va: dict = {}
        self._obj_lines = pd.DataFrame()
        self._obj_schools = pd.DataFrame()
        self._card_agreement = pd.DataFrame()
        self._card_signals = pd.DataFrame()
        self._build_widgets()
        with self._action():
            self._fill_options()
            self._refresh_sections()
        self._observe()
        self.timings["first_render"] = time.perf_counter() - start
        log.info("панель выявления построена за %.2f с", self.timings["first_render"])

    # ------------------------------------------------------------ construction
    def _build_widgets(self) -> None:
        style, wide = {"description_width": "initial"}, w.Layout(width="auto")
        self.municipality = w.Dropdown(description="Муниципалитет:", style=style, layout=w.Layout(width="470px"))
        self.year = w.Dropdown(description="Год:", style=style, layout=w.Layout(width="130px"))
        self.methodology = w.Dropdown(description="Методика:", style=style, layout=w.Layout(width="880px"))
        self.group = w.ToggleButtons(options=GROUP_FILTERS, value="all", description="Группа:", style={
            "description_width": "initial", "button_width": "112px"})
        self.school_type = w.Dropdown(description="Тип школы:", style=style, layout=w.Layout(width="520px"))
        self.search = w.Text(description="Поиск школы:", placeholder="часть названия", style=style,
                             layout=w.Layout(width="300px"), continuous_update=True)
        self.school = w.Dropdown(description="Карточка школы:", style=style, layout=w.Layout(width="560px"))
        for name in ("municipality", "year", "methodology", "group", "school_type", "search", "school"):
            getattr(self, name).add_class(f"wb-{name.replace('_', '-')}")  # stable hooks for the browser test
        self.header = self._header(TITLE, f'Хранилище: {html.escape(str(self.store.root))} · данные только по школам '
                                          f'в целом; числа школ и показателей менее чем по {self.min_n} участникам скрыты',
                                   css=CSS + EXTRA_CSS)
        self.status = w.HTML(layout=wide)
        self.table_html = w.HTML(layout=wide)
        self.compare_html = w.HTML(layout=wide)
        self.objectivity_html = w.HTML(layout=wide)
        self.card_obj_html = w.HTML(layout=wide)
        self.card_html = w.HTML(layout=wide)
        self.trend_out = w.Output(layout=w.Layout(width="560px"))
        self.side_html = w.HTML(layout=w.Layout(width="520px", margin="0 0 0 14px"))
        for x, hook in ((self.table_html, "wb-ident-table"), (self.compare_html, "wb-compare"),
                        (self.card_html, "wb-card-title"), (self.trend_out, "wb-trend"),
                        (self.side_html, "wb-card-context"), (self.objectivity_html, "wb-objectivity"),
                        (self.card_obj_html, "wb-card-objectivity")):
            x.add_class("wb-dash")
            x.add_class(hook)
        for x in (self.municipality, self.year, self.school_type, self.group, self.search):
            x.layout.margin = "2px 14px 2px 0"
        row1 = w.HBox([self.municipality, self.year], layout=w.Layout(flex_flow="row wrap"))
        row2 = w.HBox([self.group, self.search], layout=w.Layout(flex_flow="row wrap", align_items="center"))
        card_body = w.HBox([self.trend_out, self.side_html], layout=w.Layout(flex_flow="row wrap",
                                                                              align_items="flex-start"))
        card = w.VBox([self.school, self.card_html, card_body, self.card_obj_html], layout=w.Layout(
            border="1px solid #d5dde5", padding="6px 12px", margin="10px 0 0 0"))
        self.widget = w.VBox([self.header, row1, self.methodology, row2, self.school_type, self.status, self.table_html,
                              self.compare_html, self.objectivity_html, card], layout=w.Layout(padding="4px 10px", max_width="1200px"))
        self.widget.add_class("wb-root")

    def _fill_options(self) -> None:
        """Municipalities and years from the store's ВПР; the methodology list of the first municipality."""
        works = (self.data.query("SELECT DISTINCT municipality, year FROM vpr") if self.usable and "vpr" in self.data.tables()
                 else pd.DataFrame(columns=["municipality", "year"]))
        self._fill_municipalities_years(works)
        self._fill_methodologies(reset=True)

    def _own(self, municipality: str | None) -> tuple[str, object]:
        """(preset name, resolved parameters) of the municipality's own methodology (defaults when unknown)."""
        if municipality not in self._own_cache:
            try:
                if self._region is None:
                    self._region = load_region(REGION_FILE)
                name, params = own_methodology(municipality, self._region)
            except Exception:  # a broken params file: the default preset, and say so
                log.warning("методика муниципалитета %s не прочитана", municipality, exc_info=True)
                name, params = load_defaults().identification.preset, None
                self.errors.append(f"Не удалось прочитать методику муниципалитета {municipality}; показана методика "
                                   f"по умолчанию «{self.presets[name].title}».")
            self._own_cache[municipality] = (name, params)
        return self._own_cache[municipality]

    def _fill_methodologies(self, reset: bool) -> None:
        """Every preset, the municipality's own first and marked; its own is chosen on ``reset``."""
        m = self.municipality.value
        own = self._own(m)[0] if m else None
        keep = self.methodology.value
        order = ([own] if own in self.presets else []) + [n for n in self.presets if n != own]
        self.methodology.options = [(self.presets[n].title + (OWN_SUFFIX if n == own else ""), n) for n in order]
        self.methodology.value = own if (reset or keep not in self.presets) and own in self.presets else \
            (keep if keep in self.presets else (order[0] if order else None))

    def _fill_types(self) -> None:
        """School types present in the municipality (typology of the year); keeps the chosen type when present."""
        keep = self.school_type.value
        present = set(self._full["type"]) if len(self._full) else set()
        options = [("все типы", ALL_TYPES)] + [(label, code) for code, label in identify.TYPES.items()
                                               if code in present]
        self.school_type.options = options
        self.school_type.value = keep if keep in {v for _, v in options} else ALL_TYPES

    def _observe(self) -> None:
        self.municipality.observe(self._on_municipality, names="value")
        for dd in (self.year, self.methodology):
            dd.observe(self._on_selection, names="value")
        for x in (self.group, self.school_type, self.search):
            x.observe(self._on_filter, names="value")
        self.school.observe(self._on_school, names="value")

    # ------------------------------------------------------------ hooks of View
    def _shown_text(self) -> str:
        return (self.table_html.value + self.compare_html.value + self.card_html.value + self.side_html.value
                + self.objectivity_html.value + self.card_obj_html.value)

    def _section_failed(self, name: str, text: str) -> None:
        target = {"data": self.table_html, "table": self.table_html, "types": self.table_html,
                  "compare": self.compare_html, "card": self.card_html, "objectivity": self.objectivity_html,
                  "card_objectivity": self.card_obj_html}.get(name)
        if target is not None:
            target.value = message_html(text, error=True)
        if name == "card":
            self._clear_card_body()
        if name == "objectivity":
            self._obj_lines = self._obj_schools = pd.DataFrame()
        if name == "card_objectivity":
            self._card_agreement = self._card_signals = pd.DataFrame()

    # ------------------------------------------------------------ callbacks
    def _on_municipality(self, _change=None) -> None:
        if self._busy:
            return
        with self._action("refresh_municipality"):
            with self._batch():
                self._fill_methodologies(reset=True)
            self._refresh_sections()

    def _on_selection(self, _change=None) -> None:
        if not self._busy:
            with self._action("refresh_selection"):
                self._refresh_sections()

    def _on_filter(self, _change=None) -> None:
        if not self._busy:
            with self._action("filter"):
                self._render("table", self._show_table)
                self._render_card()

    def _on_school(self, _change=None) -> None:
        if not self._busy:
            with self._action("card"):
                self._render_card()

    # ------------------------------------------------------------ public API
    def select(self, municipality: str | None = None, year: int | None = None, methodology: str | None = None,
               group: str | None = None, school_type: str | None = None, search: str | None = None,
               school: str | None = None) -> None:
        """Set any selector or filter at once and refresh once. A new municipality without ``methodology``
        switches to that municipality's own methodology.

        >>> dash.select(municipality="004", year=2026, methodology="kamensk_uralsky", group="shnor")  # doctest: +SKIP
        """
        if methodology is not None and methodology not in self.presets:
            raise ValueError(f"неизвестная методика «{methodology}»; допустимые: {', '.join(self.presets)}")
        with self._action("refresh"):
            with self._batch():
                if municipality is not None and municipality != self.municipality.value:
                    self.municipality.value = municipality
                    self._fill_methodologies(reset=True)
                if year is not None:
                    self.year.value = year
                if methodology is not None:
                    self.methodology.value = methodology
                if group is not None:
                    self.group.value = group
                if search is not None:
                    self.search.value = search
            self._refresh_sections()
            if school_type is not None:
                with self._batch():
                    self.school_type.value = school_type
                self._render("table", self._show_table)
                self._render_card()
        if school is not None:
            self.open_school(school)

    def open_school(self, school_id: str) -> None:
        """Open the card of a school listed in the (filtered) table, as if chosen in the selector."""
        if school_id not in {v for _, v in self.school.options}:
            raise ValueError(f"школы {school_id} нет в таблице (проверьте муниципалитет и фильтры)")
        if self.school.value == school_id:
            with self._action("card"):
                self._render_card()
        else:
            self.school.value = school_id

    def refresh(self) -> None:
        """Recompute every section for the current selection (each section fails on its own, in Russian)."""
        with self._action("refresh"):
            self._refresh_sections()

    def table(self) -> pd.DataFrame:
        """The identification table as shown (filters applied; hidden numbers are NA, ``suppressed`` marks them)."""
        return self._table.copy()

    def full_table(self) -> pd.DataFrame:
        """The municipality's identification table before the filters."""
        return self._full.copy()

    def comparison(self) -> pd.DataFrame:
        """The comparison block: per methodology flagged / risk zone / ШНСУ counts, overlap and Jaccard."""
        return self._comparison.copy()

    def card_school(self) -> str | None:
        """The school id whose card is open (None when none)."""
        return self.school.value or None

    def card_criteria(self) -> pd.DataFrame:
        """The open card's criteria (the methodology's rows for the school; hidden numbers are NA)."""
        return self._card_criteria.copy()

    def card_trend(self) -> pd.DataFrame:
        """The open card's ВПР results by year: year, n, estimate (п.п. to the region), se, ci_low, ci_high."""
        return self._card_trend.copy()

    def card_context(self) -> pd.DataFrame:
        """The open card's three context indices with their notes."""
        return self._card_context.copy()

    def card_value_added(self) -> dict:
        """The open card's typology row: result, value added with interval, type (numbers NA when hidden)."""
        return dict(self._card_va)

    def objectivity_overview(self) -> pd.DataFrame:
        """The agreement line of the section «Объективность ВПР»: «все предметы» of the municipality and the region
        (level, unit_name, participants, without_journal, with_both, the shares, sample_size, suppressed)."""
        return self._obj_lines.copy()

    def objectivity_schools(self) -> pd.DataFrame:
        """Schools of the municipality with fired objectivity signals: school_id, name, signals_fired, rows_fired,
        min_q, summary_ru, suppressed (q hidden for a small school)."""
        return self._obj_schools.copy()

    def card_agreement(self) -> pd.DataFrame:
        """The open card's agreement («все предметы»): the school, the municipality, the region."""
        return self._card_agreement.copy()

    def card_objectivity(self) -> pd.DataFrame:
        """The open card's fired objectivity signal rows (numbers NA when hidden, ``suppressed``)."""
        return self._card_signals.copy()

    def signals(self) -> pd.DataFrame:
        """The cached region-wide objectivity signals of the selected year (every row, fired or not)."""
        return pd.DataFrame() if self.year.value is None else self._signals()

    def evidence(self) -> identify.Evidence | None:
        """The cached region-wide evidence of the selected year."""
        return None if self.year.value is None else self._evidence()

    def result(self) -> identify.Identification | None:
        """The region-wide result of the selected methodology (with the municipality's overrides when its own)."""
        m, y, name = self._selection()
        return None if None in (m, y, name) else self._result(name, self._params(m, name))

    def _selection(self) -> tuple[str | None, int | None, str | None]:
        return self.municipality.value, self.year.value, self.methodology.value

    def _timed(self, name: str, get):
        start = time.perf_counter()
        value = get()
        self.timings[name] = time.perf_counter() - start
        return value

    # region-wide results: read from the run's cache (or computed once per store and shared between kernels)
    def _evidence(self) -> identify.Evidence:
        return self.results.evidence(self.year.value)

    def _params(self, municipality: str, name: str):
        """The municipality's overrides for its own methodology, the preset's parameters for any other."""
        own, params = self._own(municipality)
        return params if name == own and params is not None else self.presets[name].params

    def _result(self, name: str, params) -> identify.Identification:
        return self._timed("methodology", lambda: self.results.identification(self.year.value, name, params, self.unc))

    def _typology(self) -> pd.DataFrame:
        return self._timed("typology", lambda: self.results.typology(self.year.value))

    def _trend(self) -> pd.DataFrame:
        return self._timed("trend", lambda: self.results.trend(self.year.value, self.unc.level.value))

    def _signals(self) -> pd.DataFrame:
        return self._timed("signals", lambda: self.results.signals(self.year.value))

    def _agreement(self) -> pd.DataFrame:
        m, y, _name = self._selection()
        label = self.municipality.label or m
        return self._cached(("agreement", y, m), lambda: agreement_report(self.data, y, m, municipality_name=label))

    def _participants(self) -> pd.Series:
        y = self.year.value
        return self._cached(("participants", y), lambda: school_participants(self._trend(), y))

    # ------------------------------------------------------------ sections
    def _refresh_sections(self) -> None:
        start = time.perf_counter()
        if self._render("data", self._load_selection):
            with self._batch():
                self._render("types", self._fill_types)
            self._render("table", self._show_table)
            self._render("compare", self._show_comparison)
            self._render("objectivity", self._show_objectivity)
        else:  # without the selection's data every other section would only repeat the failure
            self._full = self._table = pd.DataFrame()
            self.compare_html.value = self.objectivity_html.value = ""
            self._obj_lines = self._obj_schools = pd.DataFrame()
            with self._batch():
                self.school.options = [("— выберите школу —", NO_SCHOOL)]
                self.school.value = NO_SCHOOL
        self._render_card()
        self.timings["refresh"] = time.perf_counter() - start

    def _missing(self) -> str | None:
        """A Russian message when the selection cannot show anything, else None."""
        m, y, name = self._selection()
        if m is None or y is None or name is None:
            if not self.usable:
                return f"{self.store_message} Затем откройте панель заново."
            return (f"В хранилище {self.store.root} нет результатов ВПР. Загрузите данные (например, `make run` "
                    "для демонстрационного региона) и откройте панель заново.")
        if self._full.empty:
            return (f"В реестре школ нет школ муниципалитета {self.municipality.label}. Выберите другой "
                    "муниципалитет или загрузите реестр школ.")
        return None

    def _load_selection(self) -> None:
        """The municipality's identification table under the selected methodology (before the filters)."""
        m, y, name = self._selection()
        self._full = pd.DataFrame()
        if None in (m, y, name):
            return
        res = self._result(name, self._params(m, name))
        self._full = identification_table(res.flags, self._typology(), self._participants(), m, self.min_n)

    def _show_table(self) -> None:
        start = time.perf_counter()
        missing = self._missing()
        if missing:
            self._table = pd.DataFrame()
            self.table_html.value = message_html(missing)
            self._fill_schools()
            return
        full = self._full
        self._table = filter_table(full, self.group.value, self.school_type.value, self.search.value)
        t = self._table
        _m, y, name = self._selection()
        res = self.result()
        own = name == self._own(self.municipality.value)[0]
        summary = (f"Методика: {self.presets[name].title}{' (методика муниципалитета)' if own else ''}, "
                   f"{y} год. Школ: {len(full)}; ШНОР: {int(full.flagged.sum())} (из них также ШНСУ: "
                   f"{int((full.flagged & full.shnsu).sum())}); зона риска: {int(full.risk_zone.sum())}; "
                   f"ШНСУ: {int(full.shnsu.sum())}.")
        if len(full) and "flagged_uncertainty" in full and (full["decision"] == "point").all():
            summary += (f" Флаги — по правилу, как оно записано; с учётом неопределённости (вероятность не менее "
                        f"{self.unc.min_probability.value * 100:.0f} %) ШНОР: "
                        f"{int((full.flagged & full.flagged_uncertainty).sum())} из {int(full.flagged.sum())}")
            extra = int((~full.flagged & full.flagged_uncertainty).sum())
            summary += (f", и ещё {extra} только с учётом неопределённости (по всем годам вместе)." if extra else ".")
        notes = [html.escape(n) for n in (res.notes if res is not None else [])]
        if t.empty:
            body = message_html("Нет школ, подходящих под выбранные фильтры. Сбросьте фильтр группы, типа "
                                "или строку поиска.")
        else:
            rows, classes = [], []
            for r in t.itertuples():
                shown = "нет данных" if r.no_data else (
                    MARK if r.headline_hidden else interval_text(r.value, r.ci_low, r.ci_high, r.unit))
                prob = MARK if r.headline_hidden and not r.no_data else fmt.probability(r.probability)
                sure = getattr(r, "group_uncertainty", "") or "—"
                rows.append([(r.name, "nm"), (r.group or "—", GROUP_CLASS.get(r.group, "")),
                             (sure, GROUP_CLASS.get(sure, "")),
                             (f"{int(r.criteria_fired)} / {r.criteria_required}", "n"),
                             r.headline if isinstance(r.headline, str) and r.headline else "—",
                             (shown, "n"), (prob, "n"), (r.type_ru, "w")])
                classes.append("wb-hidden" if r.headline_hidden else "")
            body = rich_table(["Школа", "Группа", "С учётом неопределённости", "Критерии: выполнено / нужно",
                               "Главный показатель",
                               f"Значение [{self.unc.level.value * 100:.0f} % интервал]", "Вероятность за порогом",
                               "Тип школы (с учётом контекста)"], rows, classes, list(t["explanation"]))
        hidden = int(t["headline_hidden"].sum()) if len(t) else 0
        note = suppression_note(self.min_n) + (f" Скрыто строк: {hidden}." if hidden else "")
        self.table_html.value = (
            f'<div class="wb-dash"><h3>Школы муниципалитета: показано {len(t)} из {len(full)}</h3>'
            f'<div class="wb-sub wb-ident-summary">{html.escape(summary)}</div>{body}'
            f'<div class="wb-note">Наведите указатель на строку, чтобы прочитать пояснение; откройте карточку школы '
            f'ниже. Вероятность — вероятность того, что истинное значение главного показателя за порогом '
            f'методики. {html.escape(note)}</div>'
            + "".join(f'<div class="wb-note">{n}</div>' for n in notes) + "</div>")
        self._fill_schools()
        self.timings["table"] = time.perf_counter() - start

    def _fill_schools(self) -> None:
        """The card selector lists the filtered table; keeps the open card while its school is listed."""
        keep = self.school.value
        ids = list(self._table["school_id"]) if len(self._table) else []
        names = list(self._table["name"]) if len(self._table) else []
        with self._batch():
            self.school.options = [("— выберите школу —", NO_SCHOOL)] + list(zip(names, ids))
            self.school.value = keep if keep in set(ids) else NO_SCHOOL

    def _show_comparison(self) -> None:
        m, _y, name = self._selection()
        self._comparison = pd.DataFrame()
        if self._missing():
            self.compare_html.value = ""
            return
        own = self._own(m)[0]
        results = {n: self._result(n, self._params(m, n)) for n in self.presets}
        self._comparison = comparison_table(results, m, name, own)
        rows, classes = [], []
        for r in self._comparison.itertuples():
            label = r.title + (" (методика муниципалитета)" if r.own else "") + (" — выбрана" if r.selected else "")
            jac = "—" if pd.isna(r.jaccard) else number(r.jaccard, 2)
            rows.append([(label, "w"), (str(r.flagged), "n"), (str(r.risk_zone), "n"), (str(r.shnsu), "n"),
                         (str(r.both), "n"), (jac, "n")])
            classes.append("wb-sel" if r.selected else "")
        table = rich_table(["Методика", "ШНОР", "Зона риска", "ШНСУ", "ШНОР, общие с выбранной",
                            "Сходство с выбранной (Жаккар)"], rows, classes)
        self.compare_html.value = (
            f'<div class="wb-dash"><h3>Сравнение методик для муниципалитета {html.escape(self.municipality.label)}'
            f'</h3>{table}<div class="wb-note">Сходство Жаккара — число школ, выделенных обеими методиками, делённое '
            'на число школ, выделенных хотя бы одной из них (1 — одинаковые списки, 0 — ни одной общей школы; «—» — '
            'обе методики никого не выделили). Методика муниципалитета — с его собственными значениями параметров.'
            '</div></div>')

    def _show_card(self) -> None:
        start = time.perf_counter()
        school_id = self.school.value
        self._card_criteria = self._card_trend = self._card_context = pd.DataFrame()
        self._card_va = {}
        if not school_id or self._full.empty or school_id not in set(self._full["school_id"]):
            self.card_html.value = ('<div class="wb-note">Выберите школу, чтобы открыть её карточку: критерии '
                                    'методики, результаты по годам, контекст и добавленная ценность.</div>')
            self._clear_card_body()
            return
        row = self._full.set_index("school_id").loc[school_id]
        m, y, name = self._selection()
        res = self._result(name, self._params(m, name))
        participants = self._participants().get(school_id, np.nan)
        hidden = bool(row["suppressed"])
        self._card_criteria = card_criteria_table(res.criteria, school_id, participants, self.min_n)
        self._card_trend = card_trend_table(self._trend(), school_id, self.min_n, hidden)
        self._card_context = card_context_table(self._evidence().context, school_id, hidden)
        typ = self._typology()
        trow = typ[typ["school_id"] == school_id]
        va = trow.iloc[0].to_dict() if len(trow) else {}
        if hidden:
            va = {k: (np.nan if k in ("result", "se", "n", "eb", "ci_low", "ci_high", "p_low", "social_index",
                                      "value_added", "va_low", "va_high") else v) for k, v in va.items()}
        self._card_va = va
        group = row["group"] or "не выделена"
        self.card_html.value = (
            f'<div class="wb-dash"><h3>Карточка школы: {html.escape(str(row["name"]))}</h3>'
            f'<div class="wb-sub">Методика: {html.escape(self.presets[name].title)} · группа: '
            f'<b>{html.escape(group)}</b>'
            + (f' (с учётом неопределённости: {html.escape(row.get("group_uncertainty") or "не выделена")})'
               if "group_uncertainty" in row else "")
            + f' · критериев выполнено {int(row["criteria_fired"])} из нужных '
            f'{html.escape(str(row["criteria_required"]))} · тип: {html.escape(str(row["type_ru"]))}</div>'
            f'<div class="wb-expl">{html.escape(str(row["explanation"]))}</div>'
            f'{self._criteria_html()}</div>')
        subjects = ", ".join(SUBJECTS.get(s, s).lower() for s in TREND_SUBJECTS)
        self.side_html.value = self._side_html(hidden, subjects)   # before the figure, which takes longest to draw
        if self._card_trend.empty:
            self._show_in(self.trend_out, HTML(message_html("У школы нет результатов ВПР за эти годы.")))
        elif self._card_trend["suppressed"].all():
            why = "у школы" if hidden else "во все годы"
            self._show_in(self.trend_out, HTML(message_html(
                f"График не построен: {why} менее {self.min_n} участников, значения скрыты.")))
        else:
            title = f"ВПР ({subjects}): разница со средним по региону"
            self._show_in(self.trend_out, trend_figure(self._card_trend, title, self.unc.level.value))
        self.timings["card"] = time.perf_counter() - start

    def _render_card(self) -> None:
        self._render("card", self._show_card)
        self._render("card_objectivity", self._show_card_objectivity)

    def _show_objectivity(self) -> None:
        start = time.perf_counter()
        self._obj_lines = self._obj_schools = pd.DataFrame()
        if self._missing():
            self.objectivity_html.value = ""
            return
        m, y, _name = self._selection()
        full = self._full
        self._obj_lines = agreement_lines(self._agreement(), self.min_n)
        hidden = full.set_index("school_id")["suppressed"]
        self._obj_schools = objectivity_school_table(self._signals(), m, full.set_index("school_id")["name"], hidden,
                                                     self.min_n)
        if self._obj_lines.empty:
            agreement = message_html(f"Нет отметок ВПР за {y} год: соответствие отметкам по журналу не рассчитано.")
        else:
            agreement = agreement_html(self._obj_lines)
        t = self._obj_schools
        if t.empty:
            schools = (f'<div class="wb-expl">Признаков необъективности результатов ВПР за {y} год не выявлено '
                       'ни в одной школе муниципалитета.</div>')
        else:
            rows = [[(r.name, "nm"), (str(int(r.signals_fired)), "n"), (str(int(r.rows_fired)), "n"),
                     (q_text(r.min_q), "n"), (r.summary_ru, "w")] for r in t.itertuples()]
            schools = rich_table(["Школа", "Сработало проверок", "Строк с признаком (работы и школа в целом)",
                                  "Наименьшее q", "Признаки"], rows, ["wb-hidden" if h else "" for h in t.suppressed])
        self.objectivity_html.value = (
            f'<div class="wb-dash"><h3>Объективность ВПР: {html.escape(self.municipality.label or m)}, {y} год</h3>'
            '<div class="wb-sub">Соответствие отметок за ВПР отметкам по журналу, все предметы (как в отчёте '
            'ФИС ОКО): муниципалитет и регион</div>'
            f'{agreement}<div class="wb-note">Доли — от участников, у которых есть и отметка за ВПР, и отметка по '
            'журналу. «Понизили» — отметка за ВПР ниже журнальной, «повысили» — выше.</div>'
            f'<h3>Школы с признаками необъективности: {len(t)}</h3>{schools}'
            f'<div class="wb-note">{html.escape(OBJECTIVITY_WORDING)} q — вероятность ложной тревоги с поправкой '
            'Бенджамини — Хохберга на все проверки региона; признак засчитан, когда q мал и величина достигает '
            f'порога. Подробности — в карточке школы. {html.escape(suppression_note(self.min_n))}</div></div>')
        self.timings["objectivity"] = time.perf_counter() - start

    def _show_card_objectivity(self) -> None:
        start = time.perf_counter()
        self._card_agreement = self._card_signals = pd.DataFrame()
        school_id = self.school.value
        if not school_id or self._full.empty or school_id not in set(self._full["school_id"]):
            self.card_obj_html.value = ""
            return
        _m, y, _name = self._selection()
        hidden = bool(self._full.set_index("school_id").loc[school_id, "suppressed"])
        self._card_agreement = agreement_lines(self._agreement(), self.min_n, school_id, hidden)
        sig = self._signals()
        self._card_signals = card_signal_table(sig, school_id, self.min_n, hidden)
        if self._card_agreement.empty:
            agreement = message_html(f"Нет отметок ВПР за {y} год.")
        else:
            agreement = agreement_html(self._card_agreement)
        f = self._card_signals
        if f.empty:
            own = sig[sig["school_id"] == school_id] if len(sig) else sig
            if own.empty:
                text = f"Признаки не проверялись: у школы нет результатов ВПР за {y} год."
            else:
                text = school_signals(own)["summary_ru"].iloc[0]
            body = f'<div class="wb-expl">{html.escape(text)}</div>'
        else:
            rows = []
            for r in f.itertuples():
                effect = MARK if r.suppressed else effect_text(r.effect, r.unit)
                threshold = "—" if pd.isna(r.threshold) else effect_text(r.threshold, r.unit).lstrip("+")
                n = MARK if r.suppressed else number(r.n, 0)
                rows.append([(r.title_ru, "w"), (r.work, "nm"), (effect, "n"), (threshold, "n"),
                             (q_text(r.q_value), "n"), (n, "n"), (str(r.sample_size), "w"), (r.description_ru, "w")])
            body = rich_table(["Признак", "Работа", "Величина", "Порог", "q", "Участников", "Надёжность", "Описание"],
                              rows, ["wb-hidden" if h else "" for h in f.suppressed])
        notes = [OBJECTIVITY_WORDING]
        if hidden:
            notes.append(f"Результаты школы рассчитаны менее чем по {self.min_n} участникам: числа скрыты.")
        self.card_obj_html.value = (
            f'<div class="wb-dash"><h3>Объективность</h3><div class="wb-sub">Соответствие отметок за ВПР отметкам по '
            f'журналу, все предметы, {y} год: школа, муниципалитет, регион</div>{agreement}'
            f'<h3>Признаки необъективности результатов ВПР: {len(f)}</h3>{body}'
            + "".join(f'<div class="wb-note">{html.escape(n)}</div>' for n in notes) + "</div>")
        self.timings["card_objectivity"] = time.perf_counter() - start

    def _criteria_html(self) -> str:
        c = self._card_criteria
        if c.empty:
            return message_html("По этой методике для школы нет оценённых критериев (нет данных).")
        level = f"{self.unc.level.value * 100:.0f} %"
        rows, classes = [], []
        for r in c.itertuples():
            interval = MARK if r.suppressed else (
                "—" if pd.isna(r.ci_low) else f"[{value_text(r.ci_low, r.unit, False)}; "
                                               f"{value_text(r.ci_high, r.unit, False)}]")
            years = str(r.years_held or "")
            if r.years_assessed:
                years = f"{years} (оценено: {r.years_assessed})"
            n = MARK if r.suppressed else ("—" if pd.isna(r.n) else number(r.n, 0))
            value = MARK if r.suppressed else ("—" if pd.isna(r.value) else value_text(r.value, r.unit))
            rows.append([(r.title, "w"), (value, "n"),
                         ("—" if pd.isna(r.threshold) else value_text(r.threshold, r.unit), "n"),
                         (MARK if r.suppressed else ("—" if pd.isna(r.margin) else value_text(r.margin, r.unit)), "n"),
                         (interval, "n"), (n, "n"), (years or "—", "w"),
                         ("✓", "ok") if r.fired else ("—", "no"), (r.note or "", "w")])
            classes.append("wb-hidden" if r.suppressed else "")
        table = rich_table(["Критерий", "Значение", "Порог", "Запас до порога", f"Интервал {level}", "Участников",
                            "Годы, когда выполнен", "Выполнен", "Примечание"], rows, classes)
        return (f'{table}<div class="wb-note">Запас — значение минус порог. Интервал — {level} интервал после '
                'эмпирической байесовской поправки на малую выборку.</div>')

    def _side_html(self, hidden: bool, subjects: str) -> str:
        trend = self._card_trend
        notes = []
        if hidden:
            notes.append(f"Результаты школы рассчитаны менее чем по {self.min_n} участникам: все числа скрыты.")
        elif len(trend) and trend["suppressed"].any():
            years = ", ".join(str(int(y)) for y in trend.loc[trend["suppressed"], "year"])
            notes.append(f"Годы {years} скрыты: менее {self.min_n} участников.")
        rows = [[(r.title, "w"), (MARK if r.suppressed else value_text(r.value, "z", False), "n"), (r.note or "—", "w")]
                for r in self._card_context.itertuples()]
        context = rich_table(["Индекс", "Значение (z)", "Примечание"], rows)
        window = f"ВПР ({subjects}) за {self.typ.years.value} года"
        va = self._card_va
        if hidden:
            va_text = "Добавленная ценность скрыта: менее " + f"{self.min_n} участников."
        else:
            va_text = value_added_sentence(va, self.unc.level.value, window)
        type_text = va.get("type_ru") or identify.TYPES["other"]
        result = "" if hidden or not va or pd.isna(va.get("result")) else (
            f'<div class="wb-note">Результат ({window}): {interval_text(va["result"], va["ci_low"], va["ci_high"], "п.п.")}'
            f' к среднему по региону; ИСБШ по региону: {value_text(va.get("social_index"), "z", False)}.</div>')
        return (f'<div class="wb-dash"><h3>Контекст школы</h3>{context}<div class="wb-note">Индексы — z-оценки '
                'относительно школ муниципалитета: меньше нуля — хуже среднего.</div>'
                f'<h3>Добавленная ценность и тип</h3><div class="wb-expl">{html.escape(va_text)}</div>{result}'
                f'<div class="wb-expl">Тип школы: {html.escape(str(type_text))}.</div>'
                + "".join(f'<div class="wb-note">{html.escape(n)}</div>' for n in notes) + "</div>")

    def _clear_card_body(self) -> None:
        self.side_html.value = ""
        self._show_in(self.trend_out, HTML(""))
