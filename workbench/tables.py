"""Reading a non-ВПР table (CSV/XLSX) into a canonical, typed frame through a column mapping.

Headers are recognised in three ways: the municipality's mapping (``params``: their header → our
column), the canonical column name, or the Russian column title of the workbench template
(``schemas.columns_of``). Every cell is parsed to its column's type; a cell that cannot be parsed
becomes NA and a problem (rule, row, column, value) — the row is later quarantined, never dropped.

Example
-------
>>> import pandas as pd, tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
>>> _ = p.write_text("Год;Код муниципалитета;Код ОО;Учителей\\n2024;004;edu004001;35\\n", encoding="utf-8")
>>> r = read_table(p, "staff")
>>> r.frame.loc[0, "municipality"], int(r.frame.loc[0, "teachers"]), r.rows_read
('004', 35, 1)
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench import problems as P
from workbench.config import TableMapping
from workbench.schemas import columns_of



@dataclass
class RawSheet:
    """Cells of one sheet as read: ``rows`` are lists of Python values (str for CSV)."""
    file: str
    sheet: str | None
    rows: list[list[object]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # (min_row, min_col, max_row, max_col), 1-based


def norm_header(text: object) -> str:
    """Header spelling normalised for matching: case, ё, spaces, quotes and punctuation around words."""
    s = str(text or "").replace("\u00a0", " ").replace("ё", "е").replace("Ё", "Е").lower()
    s = re.sub(r"[«»\"“”]", "", s)
    s = re.sub(r"\s+", " ", s).strip(" .:;")
    return s


def decode_bytes(data: bytes, final: bool = True) -> tuple[str, str]:
    """(text, encoding): UTF-8 with BOM, UTF-8, else cp1251 (Russian Windows exports).

    ``final=False`` for a prefix of a file: a multi-byte character cut at the end is not a reason to
    fall back to cp1251.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=final), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace"), "cp1251"


def sniff_sep(text: str) -> str:
    """``;`` or ``,`` (or tab), by which splits the first non-empty lines most consistently."""
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    best, best_score = ";", -1.0
    for sep in (";", ",", "\t"):
        counts = [len(next(csv.reader([ln], delimiter=sep))) for ln in lines]
        if not counts or max(counts) < 2:
            continue
        score = np.mean([c == max(counts) for c in counts]) * max(counts)
        if score > best_score:
            best, best_score = sep, score
    return best


def read_raw(path: Path) -> list[RawSheet]:
    """All sheets of an .xlsx (values, merged ranges) or the single table of a .csv/.txt."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        wb = openpyxl.load_workbook(path, data_only=True, read_only=False)
        out = []
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            merged = [(m.min_row, m.min_col, m.max_row, m.max_col) for m in ws.merged_cells.ranges]
            out.append(RawSheet(path.name, ws.title, rows, merged))
        return out
    if suffix in (".csv", ".txt"):
        text, _ = decode_bytes(path.read_bytes())
        sep = sniff_sep(text)
        rows = [list(r) for r in csv.reader(io.StringIO(text), delimiter=sep)]
        # A trailing separator (Moscow open data) yields an empty last field on every line: drop it.
        if rows and all((len(r) > 0 and r[-1] == "") for r in rows if r):
            rows = [r[:-1] for r in rows]
        return [RawSheet(path.name, None, rows)]
    raise ValueError(f"неподдерживаемый тип файла «{path.suffix}» (ожидается .xlsx или .csv)")


def is_blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and v.strip() == "")


# ------------------------------------------------------------------ header resolution

_LOOKUPS: dict[tuple[str, int], tuple[TableMapping | None, dict[str, str]]] = {}


def header_lookup(table: str, mapping: TableMapping | None) -> dict[str, str]:
    """Normalised header → canonical column, from canonical names, template titles and the mapping."""
    key = (table, id(mapping))
    hit = _LOOKUPS.get(key)
    if hit is not None and hit[0] is mapping:  # the mapping object itself is kept, so its id is not reused
        return hit[1]
    look = _header_lookup(table, mapping)
    _LOOKUPS[key] = (mapping, look)
    return look


def _header_lookup(table: str, mapping: TableMapping | None) -> dict[str, str]:
    cols = columns_of(table)
    look = {norm_header(c): c for c in cols}
    look.update({norm_header(meta["title"]): c for c, meta in cols.items() if meta["title"]})
    if mapping:
        look.update({norm_header(src): dst for src, dst in mapping.columns.items()})
    return look


def required_columns(table: str, mapping: TableMapping | None) -> list[str]:
    """Columns that must come from the file (not nullable and not filled by a constant)."""
    consts = set(mapping.constants) if mapping else set()
    return [c for c, m in columns_of(table).items() if not m["nullable"] and c not in consts]


def match_score(headers: list[object], table: str, mapping: TableMapping | None) -> tuple[float, int]:
    """(share of the table's required columns these headers provide, number of headers recognised)."""
    look = header_lookup(table, mapping)
    found = {look.get(norm_header(h)) for h in headers if not is_blank(h)} - {None}
    req = required_columns(table, mapping)
    return (sum(c in found for c in req) / len(req) if req else 0.0), len(found)


# ------------------------------------------------------------------ cell parsing

_TRUE = {"да", "1", "true", "истина", "+", "yes", "д"}
_FALSE = {"нет", "0", "false", "ложь", "-", "no", "н"}


def _text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def parse_cell(v: object, dtype: str, how: str | None = None):
    """(value, rule or None) for one non-blank cell; rule names the parse failure."""
    if how == "academic_year_end":
        m = re.fullmatch(r"\s*(\d{4})\s*[-–/]\s*(\d{2,4})\s*", _text(v))
        if m:
            end = m.group(2)
            return (int(end) if len(end) == 4 else int(m.group(1)[:2] + end)), None
    if how == "date_dmy" and not isinstance(v, (dt.date, dt.datetime)):
        try:
            return pd.Timestamp(dt.datetime.strptime(_text(v), "%d.%m.%Y")), None
        except ValueError:
            return None, "not_a_date"
    if dtype == "Int64":
        if isinstance(v, bool):
            return None, "not_an_integer"
        if isinstance(v, (int, np.integer)):
            return int(v), None
        if isinstance(v, float):
            return (int(v), None) if v.is_integer() else (None, "not_an_integer")
        s = _text(v).replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            f = float(s)
        except ValueError:
            return None, "not_an_integer"
        return (int(f), None) if f.is_integer() else (None, "not_an_integer")
    if dtype == "Float64":
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            f = float(v)
        else:
            s = _text(v).replace("\u00a0", "").replace(" ", "").replace("%", "").replace(",", ".")
            try:
                f = float(s)
            except ValueError:
                return None, "not_a_number"
        return (f / 100.0 if how == "percent" else f), None
    if dtype == "boolean" or how == "yes_no":
        s = _text(v).lower()
        if s in _TRUE:
            return True, None
        if s in _FALSE:
            return False, None
        return None, "not_a_bool"
    if dtype.startswith("datetime"):
        if isinstance(v, (dt.date, dt.datetime)):
            return pd.Timestamp(v), None
        s = _text(v)
        for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
            try:
                return pd.Timestamp(dt.datetime.strptime(s, fmt)), None
            except ValueError:
                pass
        return None, "not_a_date"
    return _text(v), None


ID_COLUMNS = {"school_id", "municipality", "partner_id", "measure_id", "participant"}


@dataclass
class TableRead:
    table: str
    frame: pd.DataFrame          # canonical columns + source_file, source_sheet, source_row
    problems: pd.DataFrame
    rows_read: int
    sheet: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # canonical column -> header text in the file


def find_header_row(rows: list[list[object]], table: str, mapping: TableMapping | None, limit: int = 30) -> int | None:
    """0-based index of the first row that provides all required columns (the mapping's header_row wins)."""
    if mapping and mapping.header_row != 1:
        return mapping.header_row - 1
    for i, row in enumerate(rows[:limit]):
        if match_score(row, table, mapping)[0] == 1.0:
            return i
    return None


def read_table(path: Path, table: str, mapping: TableMapping | None = None) -> TableRead:
    """Read one table file into canonical typed columns; every non-empty data row is kept.

    File-level failures (unreadable, no header, missing required column) come back as problems of
    severity ``fatal`` with ``rows_read`` = the non-empty data rows, all of which go to quarantine.
    """
    path = Path(path)
    probs: list[dict] = []
    try:
        sheets = read_raw(path)
    except Exception as e:  # any reader failure is the user's file, reported not raised
        probs.append(P.problem(path.name, None, None, None, None, "file_unreadable", detail=str(e)))
        return TableRead(table, pd.DataFrame(), P.frame(probs), 0)
    if mapping and mapping.sheet:
        sheets = [s for s in sheets if s.sheet == mapping.sheet] or sheets
    # Data sheet = the first that has a header; the others are reported and skipped.
    chosen, hdr = None, None
    for s in sheets:
        h = find_header_row(s.rows, table, mapping)
        if h is not None and chosen is None:
            chosen, hdr = s, h
        elif any(not all(is_blank(v) for v in r) for r in s.rows):
            probs.append(P.problem(path.name, s.sheet, None, None, s.sheet, "extra_sheet"))
    if chosen is None:
        s = sheets[0]
        look = header_lookup(table, mapping)
        first = next((r for r in s.rows if not all(is_blank(v) for v in r)), [])
        found = {look.get(norm_header(h)) for h in first}
        missing = [c for c in required_columns(table, mapping) if c not in found]
        data_rows = sum(1 for r in s.rows[1:] if not all(is_blank(v) for v in r))
        titles = columns_of(table)
        for c in missing:
            probs.append(P.problem(path.name, s.sheet, 1, c, titles[c]["title"] or c, "missing_column",
                                   detail=f"столбец {c} таблицы {table}"))
        frame = pd.DataFrame({"source_file": [path.name] * data_rows, "source_sheet": s.sheet,
                              "source_row": pd.array(range(2, 2 + data_rows), dtype="Int64")})
        return TableRead(table, frame, P.frame(probs), data_rows, s.sheet)
    return _parse_rows(path.name, chosen, hdr, table, mapping, probs)


def _parse_rows(fname: str, sheet: RawSheet, hdr: int, table: str, mapping: TableMapping | None,
                probs: list[dict]) -> TableRead:
    cols = columns_of(table)
    look = header_lookup(table, mapping)
    ignore = {norm_header(x) for x in (mapping.ignore if mapping else [])}
    header = sheet.rows[hdr]
    positions: dict[str, int] = {}
    for j, h in enumerate(header):
        if is_blank(h):
            continue
        canon = look.get(norm_header(h))
        if canon is None:
            if norm_header(h) not in ignore:
                probs.append(P.problem(fname, sheet.sheet, hdr + 1, str(h), h, "unknown_column"))
        elif canon in positions:
            probs.append(P.problem(fname, sheet.sheet, hdr + 1, str(h), h, "duplicate_column"))
        else:
            positions[canon] = j
    body = [(hdr + 2 + k, r) for k, r in enumerate(sheet.rows[hdr + 1:])]
    data = [(n, r) for n, r in body if not all(is_blank(v) for v in r)]
    for n, r in body:
        if all(is_blank(v) for v in r) and any(not all(is_blank(v) for v in rr) for _, rr in body if _ > n):
            probs.append(P.problem(fname, sheet.sheet, n, None, None, "empty_row"))
    out: dict[str, list] = {}
    parse = mapping.parse if mapping else {}
    values = mapping.values if mapping else {}
    for canon, meta in cols.items():
        if canon not in positions:
            continue
        j, how, dtype = positions[canon], parse.get(canon), meta["dtype"]
        head = str(header[j])
        vals = []
        for n, r in data:
            v = r[j] if j < len(r) else None
            if is_blank(v):
                vals.append(None)
                continue
            if canon in ID_COLUMNS and isinstance(v, (int, float)) and not isinstance(v, bool):
                probs.append(P.problem(fname, sheet.sheet, n, head, _text(v), "id_as_number"))
            if canon in values:
                v = values[canon].get(_text(v), v)
            val, rule = parse_cell(v, dtype, how)
            if rule:
                probs.append(P.problem(fname, sheet.sheet, n, head, v, rule))
            vals.append(val)
        out[canon] = vals
    frame = pd.DataFrame(out, index=range(len(data)))
    for canon, value in (mapping.constants.items() if mapping else []):
        if canon not in positions:  # a constant fills a column the file lacks; it never overwrites the file
            frame[canon] = value
    for canon, meta in cols.items():
        if canon not in frame:
            frame[canon] = None
        frame[canon] = _as_dtype(frame[canon], meta["dtype"])
    frame = frame[list(cols)]
    frame["source_file"] = fname
    frame["source_sheet"] = sheet.sheet
    frame["source_row"] = pd.array([n for n, _ in data], dtype="Int64")
    headers = {c: str(header[j]) for c, j in positions.items()}
    return TableRead(table, frame, P.frame(probs), len(data), sheet.sheet, headers)


def _as_dtype(s: pd.Series, dtype: str) -> pd.Series:
    """Typed column from parsed Python values (None = missing)."""
    def present(x: object) -> bool:
        return x is not None and not (isinstance(x, float) and np.isnan(x))

    if dtype == "Int64":
        return pd.Series(pd.array([int(x) if present(x) else None for x in s], dtype="Int64"), index=s.index)
    if dtype == "Float64":
        return pd.Series(pd.array([float(x) if present(x) else None for x in s], dtype="Float64"), index=s.index)
    if dtype == "boolean":
        return pd.Series(pd.array([bool(x) if present(x) else None for x in s], dtype="boolean"), index=s.index)
    if dtype.startswith("datetime"):
        return pd.to_datetime(s, errors="coerce").astype("datetime64[ns]")
    return s.astype("str").where(s.notna(), None) if len(s) else s.astype("str")
