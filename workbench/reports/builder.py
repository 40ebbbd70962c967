"""What a production notebook uses to publish: headings, paragraphs, findings, tables and figures.

A notebook creates one ``Report`` for its section (``notebook_support.start_section``). Every call saves one
*block* into the run folder (``blocks/NNNN.json``, in order across the municipality's notebooks); tables go
through the suppression gate and are saved numeric (parquet) with the mask and the kind of each column; figures
are saved as PNG. The writers of ``workbench.reports`` build the справка (HTML, DOCX, PDF) and the XLSX
workbook from these blocks, so every format shows the same content. In the notebook each block is shown once,
formatted as in the справка; the calls return nothing a cell would display a second time.

Example
-------
>>> import pandas as pd, tempfile
>>> rep = Report(tempfile.mkdtemp(), section="Обзор", min_n=5, show=False)
>>> df = pd.DataFrame({"school": ["a", "b"], "participants": [30, 3], "mean_pct": [55.0, 71.0]})
>>> rep.table(df, "schools", "Школы", "Средний процент выполнения по школам.",
...           columns={"school": "Школа", "participants": "Участников", "mean_pct": "Средний %"},
...           count="participants", values=["mean_pct"], kinds={"mean_pct": "percent"})
>>> from workbench.reports.document import load_table
>>> load_table(rep.dir, "schools").texts()["Средний %"]
['55,0\xa0%', 'скрыто']
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from workbench import formatting as fmt
from workbench.privacy import suppress, suppression_note

TABLES_DIR, FIGURES_DIR, BLOCKS_DIR = "tables", "figures", "blocks"
SUPPRESSED = "__suppressed"
TEXT_COLUMNS = ("year", "grade", "school_id", "municipality")
BODY_ROWS = 15      # a longer table shows its first rows in the body and goes whole to the appendix


def _slug(key: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]{1,40}", key):
        raise ValueError(f"table/figure key must be short snake_case ASCII, got {key!r}")
    return key


class Report:
    """Collects one notebook section's blocks into ``output_dir``."""

    def __init__(self, output_dir: str | Path, *, section: str, min_n: int, show: bool = True):
        self.dir = Path(output_dir)
        self.section, self.min_n, self.show = section, min_n, show
        for sub in (TABLES_DIR, FIGURES_DIR, BLOCKS_DIR):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.order = len(list((self.dir / BLOCKS_DIR).glob("*.json")))

    # ---------------------------------------------------------------- saving
    def _save(self, kind: str, **content: Any) -> dict:
        self.order += 1
        block = {"kind": kind, "section": self.section, "order": self.order, **content}
        path = self.dir / BLOCKS_DIR / f"{self.order:04d}.json"
        path.write_text(json.dumps(block, ensure_ascii=False, indent=1), encoding="utf-8")
        return block

    def _show_html(self, block: dict) -> None:
        if self.show:
            from IPython.display import HTML, display

            from workbench.reports.html import block_html

            display(HTML(block_html(self.dir, block)))

    # ---------------------------------------------------------------- blocks
    def heading(self, text: str, level: int = 2) -> None:
        """A heading (level 2: a section of the справка, level 3: a subsection; both reach the contents)."""
        self._show_html(self._save("heading", text=text, level=level))

    def note(self, text: str) -> None:
        """A paragraph. ``**bold**`` and ``*italic*`` are the only markup."""
        self._show_html(self._save("note", text=text))

    def warning(self, text: str) -> None:
        """A boxed paragraph the reader must not miss (incomplete data and the like)."""
        self._show_html(self._save("warning", text=text))

    def findings(self, sentences: list[str]) -> None:
        """«Основные выводы»: sentences with their figures; the справка prints them first, after the title."""
        self._show_html(self._save("findings", sentences=list(sentences)))

    def table(self, df: pd.DataFrame, key: str, title: str, sentence: str, *, columns: dict[str, str],
              count: str | None = None, values: list[str] | None = None, kinds: dict[str, str] | None = None,
              pupil_rows: pd.Series | None = None, body_rows: int | None = BODY_ROWS, appendix_only: bool = False,
              body_columns: list[str] | None = None, sheet: str | None = None) -> None:
        """Suppress small cells, rename to Russian headers, save and show the table.

        ``count`` is the column with the number of pupils behind each row and ``values`` the columns computed
        from those pupils: they are hidden when the count is below the threshold. ``pupil_rows`` (boolean, by
        row) says which rows hold pupil statistics at all; the others (context indices, staff data) are never
        suppressed. ``kinds`` maps source columns to ``workbench.formatting`` kinds (``int``, ``share``,
        ``percent``, ``pp``, ...); unnamed columns get theirs from the dtype. A table longer than
        ``body_rows`` shows its first rows in the body and the whole table in the appendix;
        ``appendix_only`` puts it in the appendix alone; ``body_columns`` (source names) narrows what the body
        shows, the appendix and the XLSX keep every column. ``sheet`` is its XLSX sheet name (≤ 31 characters;
        default: the title shortened at a word).
        """
        meta = self._save_table(df, key, columns=columns, count=count, values=values, kinds=kinds,
                                pupil_rows=pupil_rows)
        block = self._save("table", title=title, sentence=sentence, **meta,
                           body_rows=None if appendix_only else body_rows, appendix_only=appendix_only,
                           body_columns=[columns[c] for c in body_columns] if body_columns else None, sheet=sheet)
        self._show_html(block)

    def _save_table(self, df: pd.DataFrame, key: str, *, columns: dict[str, str], count: str | None = None,
                    values: list[str] | None = None, kinds: dict[str, str] | None = None,
                    pupil_rows: pd.Series | None = None) -> dict:
        """Suppress, rename, save the numeric table with its mask; returns the metadata a block records."""
        key = _slug(key)
        out = df.copy()
        suppressed = pd.Series(False, index=out.index)
        if count is not None:
            out = suppress(out, count=count, values=list(values or []), min_n=self.min_n, pupil_rows=pupil_rows)
            suppressed = out.pop("suppressed")
        data = out[list(columns)].rename(columns=columns).reset_index(drop=True)
        hidden = [columns[c] for c in list(values or []) + ([count] if count else []) if c in columns]
        kinds = dict(kinds or {})
        for c in TEXT_COLUMNS:       # codes and years are labels: «2026», not «2 026»
            kinds.setdefault(c, "text")
        if count is not None:
            kinds.setdefault(count, "int")
        col_kinds = {columns[c]: kinds.get(c) or fmt.infer_kind(out[c]) for c in columns}
        # Saved numeric (NA where hidden) with the mask beside it; formatted only when published.
        data.assign(**{SUPPRESSED: suppressed.to_numpy()}).to_parquet(self.dir / TABLES_DIR / f"{key}.parquet")
        return {"key": key, "kinds": col_kinds, "hidden_columns": hidden, "suppressed_rows": int(suppressed.sum()),
                "min_n": self.min_n, "rows": len(data),
                "note": suppression_note(self.min_n) if suppressed.any() else ""}

    def evidence_card(self, card) -> None:
        """«Почему школа в списке» (``workbench.reports.evidence.EvidenceCard``): in the appendix of the справка and as a
        one-page document of its own. The criteria are pupil statistics only where they have participants."""
        from workbench.reports import evidence as E

        slug = re.sub(r"[^a-z0-9_]", "_", card.school_id.lower())[:24]
        crit = self._save_table(card.criteria, f"card_{slug}_criteria", columns=E.CRITERIA_COLUMNS, count="n",
                                values=["value", "margin", "ci_low", "ci_high", "probability"],
                                pupil_rows=card.criteria["n"].notna(), kinds=E.CRITERIA_KINDS)
        inputs = self._save_table(card.inputs, f"card_{slug}_inputs", columns=E.INPUT_COLUMNS, count="n",
                                  values=["mean", "diff", "share_2"], kinds=E.INPUT_KINDS)
        block = self._save("card", school_id=card.school_id, name=card.name, title=card.title, group=card.group,
                           lines=card.lines,
                           tables=[{**crit, "title": "Критерии методики", "sentence": ""},
                                   {**inputs, "title": "Исходные результаты школы", "sentence": ""}])
        self._show_html(block)

    def figure(self, fig, key: str, title: str, sentence: str) -> None:
        """Save a matplotlib figure as PNG, show it with its caption and sentence, close it."""
        import matplotlib.pyplot as plt

        key = _slug(key)
        fig.savefig(self.dir / FIGURES_DIR / f"{key}.png", dpi=150, bbox_inches="tight")
        plt.close(fig)
        self._show_html(self._save("figure", key=key, title=title, sentence=sentence))
