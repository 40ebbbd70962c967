"""The справка as content: the blocks a municipality's notebooks saved, read back in order, with the title data.

Every writer (HTML, DOCX, PDF, XLSX) renders a :class:`Document`; none of them reads notebooks.

Example
-------
>>> import pandas as pd, tempfile
>>> from workbench.reports.builder import Report
>>> d = tempfile.mkdtemp()
>>> rep = Report(d, section="Обзор", min_n=5, show=False)
>>> rep.heading("Школы")
>>> rep.table(pd.DataFrame({"n": range(20)}), "many", "Много строк", "Двадцать строк.", columns={"n": "Число"})
>>> doc = load_document(d, title="Справка", municipality="Город", year=2026)
>>> [b["kind"] for b in doc.body], [t.title for t in doc.appendix]
(['heading', 'table'], ['Много строк'])
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench import formatting as fmt
from workbench.reports.builder import BLOCKS_DIR, FIGURES_DIR, SUPPRESSED, TABLES_DIR


APPENDIX_ROWS = 60   # rows an appendix table prints (about two pages); the workbook keeps every row
MAX_SHEET = 31       # Excel's limit of a sheet name
RESERVED_SHEETS = {"содержание", "о документе"}


def sheet_name(title: str, used: set[str]) -> str:
    """A sheet name ≤ 31 characters cut at a word, unique in the workbook (case-insensitive, as Excel compares).

    >>> sheet_name("Критерии: значение, порог, запас и годы", set())
    'Критерии значение порог запас и'
    """
    words = re.sub(r"[\[\]:*?/\\,;«»()]", " ", title).split()
    base = ""
    for w in words:
        if len(base) + len(w) + (1 if base else 0) > MAX_SHEET:
            break
        base = f"{base} {w}".strip()
    base = base or (words[0][:MAX_SHEET] if words else "Таблица")
    name, i = base, 2
    while name.lower() in used:
        suffix = f" {i}"
        name, i = base[:MAX_SHEET - len(suffix)].rstrip() + suffix, i + 1
    used.add(name.lower())
    return name


@dataclass
class Table:
    """One saved table: numeric values, the suppression mask, the kind of each column."""
    key: str
    title: str
    sentence: str
    data: pd.DataFrame
    hidden: pd.Series
    kinds: dict[str, str]
    hidden_columns: list[str]
    note: str = ""
    body_rows: int | None = None
    appendix_only: bool = False
    sheet: str | None = None
    body_columns: list[str] | None = None
    number: str = ""          # «П.3» once placed in the appendix
    sheet_name: str = ""      # its sheet in the workbook, once the document names them

    @property
    def in_appendix(self) -> bool:
        return self.appendix_only or self.shortened

    @property
    def shortened(self) -> bool:
        """The body shows less than the whole table (fewer rows or columns)."""
        return bool(self.body_columns) or (self.body_rows is not None and len(self.data) > self.body_rows)

    def body(self) -> "Table":
        """What the body of the справка shows: the first rows, the body columns."""
        if not self.shortened:
            return self
        cols = self.body_columns or list(self.data.columns)
        rows = self.body_rows if self.body_rows is not None else len(self.data)
        return Table(self.key, self.title, self.sentence, self.data[cols].head(rows), self.hidden.head(rows),
                     {c: k for c, k in self.kinds.items() if c in cols}, [c for c in self.hidden_columns if c in cols],
                     self.note, number=self.number)

    def printed(self, rows: int = APPENDIX_ROWS) -> "Table":
        """What the appendix prints: the whole table, or its first ``rows`` rows with a note naming the sheet of
        the workbook that holds it all (hundreds of rows are read in Excel, not on paper)."""
        if len(self.data) <= rows:
            return self
        note = (f"Показаны первые {rows} строк из {len(self.data)}; полностью — в файле Excel, лист "
                f"«{self.sheet_name}».")
        return Table(self.key, self.title, self.sentence, self.data.head(rows), self.hidden.head(rows), self.kinds,
                     self.hidden_columns, " ".join(x for x in (self.note, note) if x), number=self.number,
                     sheet_name=self.sheet_name)

    def texts(self, rows: int | None = None) -> dict[str, list[str]]:
        """Every column formatted the Russian way; hidden cells read «скрыто»."""
        data = self.data if rows is None else self.data.head(rows)
        mask = self.hidden.head(len(data)).to_numpy()
        return {c: fmt.column_texts(data[c], self.kinds.get(c, "text"),
                                    hidden=mask if c in self.hidden_columns else None) for c in data.columns}

    def numeric_columns(self) -> set[str]:
        return {c for c, k in self.kinds.items() if k != "text"}


def load_table(folder: str | Path, key: str, block: dict | None = None) -> Table:
    folder = Path(folder)
    if block is None:
        block = next(b for b in load_blocks(folder) if b["kind"] == "table" and b["key"] == key)
    data = pd.read_parquet(folder / TABLES_DIR / f"{key}.parquet")
    hidden = data.pop(SUPPRESSED) if SUPPRESSED in data else pd.Series(False, index=data.index)
    return Table(key, block["title"], block["sentence"], data, hidden.astype(bool), block.get("kinds", {}),
                 block.get("hidden_columns", []), block.get("note", ""), block.get("body_rows"),
                 block.get("appendix_only", False), block.get("sheet"), block.get("body_columns"))


def load_card(folder: str | Path, block: dict) -> Card:
    return Card(block["school_id"], block["name"], block["title"], block.get("group", ""), block["lines"],
                [load_table(folder, t["key"], t) for t in block["tables"]])


def load_blocks(folder: str | Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((Path(folder) / BLOCKS_DIR).glob("*.json"))]


@dataclass
class Card:
    """«Почему школа в списке» of one school: sentences and two tables (criteria, inputs)."""
    school_id: str
    name: str
    title: str
    group: str
    lines: list[str]
    tables: list[Table]


@dataclass
class Document:
    folder: Path
    title: str
    municipality: str
    year: int
    made: str                       # date the справка was made, «02.12.2026»
    data_as_of: str                 # when the data were imported
    findings: list[str] = field(default_factory=list)
    body: list[dict] = field(default_factory=list)       # blocks in order (tables carry their Table as "table")
    appendix: list[Table] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)    # every table, for the XLSX
    cards: list[Card] = field(default_factory=list)      # evidence cards, after the appendix tables

    def figure_path(self, key: str) -> Path:
        return self.folder / FIGURES_DIR / f"{key}.png"

    def contents(self) -> list[tuple[int, str]]:
        """(level, heading) of the body, then the appendix."""
        items = [(1, "Основные выводы")] if self.findings else []
        items += [(b["level"] - 1, b["text"]) for b in self.body if b["kind"] == "heading"]
        if self.appendix or self.cards:
            items.append((1, "Приложения"))
        return items


def load_document(folder: str | Path, *, title: str, municipality: str, year: int, data_as_of: str = "",
                  made: dt.date | None = None) -> Document:
    """The municipality's справка from its run folder: findings first, the body, the appendix numbered П.1…"""
    folder = Path(folder)
    doc = Document(folder, title, municipality, year, (made or dt.date.today()).strftime("%d.%m.%Y"), data_as_of)
    for block in load_blocks(folder):
        if block["kind"] == "findings":
            doc.findings += block["sentences"]
            continue
        if block["kind"] == "card":
            doc.cards.append(load_card(folder, block))
            continue
        if block["kind"] == "table":
            t = load_table(folder, block["key"], block)
            doc.tables.append(t)
            if t.in_appendix:
                doc.appendix.append(t)
                t.number = f"П.{len(doc.appendix)}"
            block = {**block, "table": t}
            if t.appendix_only:
                continue
        doc.body.append(block)
    used = set(RESERVED_SHEETS)
    for t in doc.tables:
        t.sheet_name = sheet_name(t.sheet or t.title, used)
    return doc
