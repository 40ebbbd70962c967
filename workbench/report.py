"""What a production notebook uses to publish: tables, figures and notes for the municipal deliverables.

A notebook creates one ``Report`` for its section. Every table goes through the suppression gate,
is displayed with its caption and a plain-language sentence, and is saved (parquet + metadata) into
the run folder; every figure is saved as PNG. After the notebooks ran, ``workbench.deliverables``
assembles the HTML report and the single XLSX workbook from what was saved here — the files the
package writes are the canonical results; the executed notebook is the readable log.

Example
-------
>>> import pandas as pd, tempfile
>>> rep = Report(tempfile.mkdtemp(), section="Обзор", min_n=5, show=False)
>>> df = pd.DataFrame({"school": ["a", "b"], "participants": [30, 3], "mean_pct": [55.0, 71.0]})
>>> t = rep.table(df, "schools", "Школы", "Средний процент выполнения по школам.",
...               columns={"school": "Школа", "participants": "Участников", "mean_pct": "Средний %"},
...               count="participants", values=["mean_pct"])
>>> t["Средний %"].tolist()
[55.0, 'скрыто']
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.privacy import MARK, suppress, suppression_note

TABLES_DIR, FIGURES_DIR = "tables", "figures"
SUPPRESSED = "__suppressed"


def mark_hidden(data: pd.DataFrame, mask, hidden: list[str]) -> pd.DataFrame:
    """The table as published: hidden cells of suppressed rows read «скрыто»."""
    out = data.copy()
    for c in hidden:
        out[c] = out[c].astype(object).where(~pd.Series(mask, index=out.index), MARK)
    return out


def _slug(key: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]{1,40}", key):
        raise ValueError(f"table/figure key must be short snake_case ASCII, got {key!r}")
    return key


class Report:
    """Collects one notebook section's tables and figures into ``output_dir``."""

    def __init__(self, output_dir: str | Path, *, section: str, min_n: int, show: bool = True):
        self.dir = Path(output_dir)
        self.section, self.min_n, self.show = section, min_n, show
        (self.dir / TABLES_DIR).mkdir(parents=True, exist_ok=True)
        (self.dir / FIGURES_DIR).mkdir(parents=True, exist_ok=True)
        self.order = len(list((self.dir / TABLES_DIR).glob("*.json"))) + len(list((self.dir / FIGURES_DIR).glob("*.json")))

    def _display(self, obj: Any) -> None:
        if self.show:
            from IPython.display import display

            display(obj)

    def _markdown(self, text: str) -> None:
        if self.show:
            from IPython.display import Markdown, display

            display(Markdown(text))

    def heading(self, text: str, level: int = 2) -> None:
        """A section heading in the report (shown in the contents)."""
        self._markdown("#" * level + " " + text)

    def note(self, text: str) -> None:
        """A paragraph of explanation."""
        self._markdown(text)

    def table(self, df: pd.DataFrame, key: str, title: str, sentence: str, *, columns: dict[str, str],
              count: str | None = None, values: list[str] | None = None, formats: dict[str, str] | None = None) -> pd.DataFrame:
        """Suppress small cells, rename to Russian headers, display with caption and sentence, save.

        ``count`` is the column with the number of pupils behind each row; ``values`` are the columns
        hidden when that number is below the threshold. ``formats`` maps Russian headers to Excel number
        formats ("0.0", "0%", ...). Returns the published (Russian) table.
        """
        key = _slug(key)
        out = df.copy()
        suppressed = pd.Series(False, index=out.index)
        if count is not None:
            out = suppress(out, count=count, values=list(values or []), min_n=self.min_n)
            suppressed = out.pop("suppressed")
        data = out[list(columns)].rename(columns=columns).reset_index(drop=True)
        hidden = [columns[c] for c in list(values or []) + ([count] if count else []) if c in columns]
        self.order += 1
        # Saved numeric (NA where hidden) with the mask beside it; the mark is applied when published.
        data.assign(**{SUPPRESSED: suppressed.to_numpy()}).to_parquet(self.dir / TABLES_DIR / f"{key}.parquet")
        meta = {"key": key, "title": title, "sentence": sentence, "section": self.section, "order": self.order,
                "formats": formats or {}, "hidden_columns": hidden, "suppressed_rows": int(suppressed.sum()),
                "min_n": self.min_n}
        (self.dir / TABLES_DIR / f"{key}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        self._markdown(f"**Таблица. {title}.** {sentence}")
        if suppressed.any():
            self._markdown("*" + suppression_note(self.min_n) + "*")
        published = mark_hidden(data, suppressed.to_numpy(), hidden)
        self._display(published.style.hide(axis="index").format(precision=1, na_rep="—"))
        return published

    def figure(self, fig, key: str, title: str, sentence: str) -> Path:
        """Save a matplotlib figure as PNG, display it with its caption and sentence, close it."""
        import matplotlib.pyplot as plt

        key = _slug(key)
        self.order += 1
        path = self.dir / FIGURES_DIR / f"{key}.png"
        fig.savefig(path, dpi=120, bbox_inches="tight")
        meta = {"key": key, "title": title, "sentence": sentence, "section": self.section, "order": self.order}
        (self.dir / FIGURES_DIR / f"{key}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        self._markdown(f"**Рисунок. {title}.** {sentence}")
        self._display(fig)
        plt.close(fig)
        return path
