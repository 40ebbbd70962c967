"""Reading files: the raw cells of any supported file, and a non-ВПР table into a canonical, typed frame.

:func:`read_raw` reads ``SUPPORTED_SUFFIXES``: workbooks (.xlsx, .xlsm, .xlsb, .xls, .ods) through
python-calamine, one fast reader for all of them (openpyxl stays for writing), and text tables (.csv, .txt,
.tsv; UTF-8 with or without BOM, UTF-16 LE/BE, cp1251). A file it cannot read raises :class:`UnreadableFile`
with a rule of its own (``encrypted``, ``empty_file``, ``corrupt_file``, ``unsupported_format``) and a Russian
detail saying what to do; nothing is skipped in silence. :func:`peek_rows` gives the first rows cheaply.

:func:`read_table`: headers are recognised in three ways: the municipality's mapping (``params``: their
header → our column), the canonical column name, or the Russian column title of the workbench template
(``schemas.columns_of``); spelling is normalised (case, ё/е, spaces and line breaks, spaces around «/»,
quotes) and a header is also matched without trailing notes in parentheses («Вакансий (ставок)»). A header
still unknown is ``similar_column`` when difflib's ratio to a known spelling is ≥ 0.8 (it names that
column), else ``unknown_column``. Every cell is parsed to its column's type; a cell that cannot be parsed
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
import difflib
import io
import re
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import problems as P
from workbench.config import TableMapping
from workbench.data.schemas import TABLES, columns_of



SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
TEXT_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
SUPPORTED_SUFFIXES = SPREADSHEET_SUFFIXES | TEXT_SUFFIXES
"""File suffixes the readers read (lower case); anything else is ``unsupported_format``."""

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"     # OLE compound file: .xls, or an encrypted OOXML workbook
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")   # the stream name in an encrypted OOXML container
_PEEK_BYTES = 1 << 16
_KNOWN_OTHER = {".pdf": "документ PDF", ".doc": "документ Word", ".docx": "документ Word", ".rtf": "документ RTF",
                ".odt": "текстовый документ", ".zip": "архив: распакуйте его и загрузите файлы из него",
                ".rar": "архив: распакуйте его и загрузите файлы из него",
                ".7z": "архив: распакуйте его и загрузите файлы из него",
                ".html": "веб-страница", ".htm": "веб-страница", ".xml": "файл XML", ".json": "файл JSON"}


class UnreadableFile(Exception):
    """A file the readers cannot read at all, with the problem rule and a Russian detail.

    ``rule`` is one of ``encrypted``, ``empty_file``, ``corrupt_file``, ``unsupported_format``
    (all ``fatal`` in ``problems.RULES``); :meth:`problem` turns it into a problem record.

    >>> e = UnreadableFile("empty_file", "0 байт")
    >>> e.problem("2024/a.xlsx")["message"]
    'Файл пуст: 0 байт'
    """

    def __init__(self, rule: str, detail: str):
        if rule not in P.RULES:
            raise KeyError(rule)
        super().__init__(f"{rule}: {detail}")
        self.rule, self.detail = rule, detail

    def problem(self, name: str) -> dict:
        """The file-level problem record (row and column NA, value = the file's display name)."""
        return P.problem(name, None, None, None, name, self.rule, detail=self.detail)


@dataclass
class RawSheet:
    """Cells of one sheet as read: ``rows`` are lists of Python values (str for CSV, '' for an empty cell).

    Grid row ``i`` is the row the user sees as ``i + 1`` (leading empty rows and columns are kept).
    """
    file: str
    sheet: str | None
    rows: list[list[object]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # (min_row, min_col, max_row, max_col), 1-based


def _text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def norm_header(text: object) -> str:
    """Header spelling normalised for matching: case, ё, spaces (line breaks, around «/»), quotes, punctuation.

    >>> norm_header("Подтвердили / повысили\\nкатегорию:")
    'подтвердили/повысили категорию'
    """
    return _norm_spelling("" if text is None else _text(text))


@lru_cache(maxsize=1 << 16)       # headers repeat across files and candidate tables: normalised once
def _norm_spelling(s: str) -> str:
    s = s.replace("\u00a0", " ").replace("ё", "е").replace("Ё", "Е").lower()
    s = re.sub(r"[«»\"“”]", "", s)
    s = re.sub(r"\s+", " ", s).strip(" .:;")
    return re.sub(r" ?/ ?", "/", s)


_NOTE_RE = re.compile(r"\s*\([^()]*\)\s*$")


def strip_note(h: str) -> str:
    """A normalised header without its last trailing note in parentheses, or a trailing «№».

    >>> strip_note('класс № (список формируется из листа классы)'), strip_note('класс №'), strip_note('№')
    ('класс №', 'класс', '№')
    """
    out = _NOTE_RE.sub("", h).strip()
    if out == h:
        out = re.sub(r"(?<=\S)\s*№$", "", h).strip()
    return out


@lru_cache(maxsize=1 << 16)
def bare_header(h: str) -> str:
    """A normalised header without any trailing notes: «Удовлетворенность (ноко)» → «удовлетворенность».

    Only for tables whose headers never carry data in parentheses (ВПР task headers «1 (2б)» do).

    >>> bare_header('класс № (список формируется из листа классы)')
    'класс'
    """
    prev = None
    while prev != h:
        prev, h = h, strip_note(h)
    return h


def similar_header(h: str, known: list[str], cutoff: float = 0.8) -> str | None:
    """The known normalised header closest to ``h`` with difflib ratio ≥ ``cutoff``, else None.

    >>> similar_header("количестов учителей", ["количество учителей", "вакансии"])
    'количество учителей'
    """
    hit = difflib.get_close_matches(h, known, n=1, cutoff=cutoff)
    return hit[0] if hit else None


def decode_bytes(data: bytes, final: bool = True) -> tuple[str, str]:
    """(text, encoding): UTF-8 with BOM, UTF-16 (LE/BE, with BOM or detected by its zero bytes), UTF-8, else
    cp1251 (Russian Windows exports).

    ``final=False`` for a prefix of a file: a multi-byte character cut at the end is not a reason to
    fall back to cp1251.

    >>> decode_bytes("Код;Класс".encode("utf-16"))
    ('Код;Класс', 'utf-16-le')
    """
    for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            text = codecs.getincrementaldecoder(enc)(errors="replace").decode(data[len(bom):], final=final)
            return text, ("utf-8-sig" if enc == "utf-8" else enc)
    enc = _utf16_without_bom(data[:4096])
    if enc:
        return codecs.getincrementaldecoder(enc)(errors="replace").decode(data, final=final), enc
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=final), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace"), "cp1251"


def _utf16_without_bom(sample: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when zero bytes fill one of the two byte positions (ASCII digits, separators
    and line ends of a UTF-16 table), else None. Text in UTF-8 or cp1251 has no zero bytes."""
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd >= 0.2 * half and even <= 0.02 * half:
        return "utf-16-le"
    if even >= 0.2 * half and odd <= 0.02 * half:
        return "utf-16-be"
    return None


def decode_text_file(data: bytes, suffix: str = ".csv", final: bool = True) -> str:
    """The text of a .csv/.txt/.tsv file (see :func:`decode_bytes`); :class:`UnreadableFile` (``corrupt_file``)
    when the bytes are a workbook or an archive with a text suffix, or binary.

    >>> try:
    ...     decode_text_file(b"PK\\x03\\x04...", ".csv")
    ... except UnreadableFile as e:
    ...     print(e.rule)
    corrupt_file
    """
    if data.startswith((b"PK\x03\x04", _OLE_MAGIC)):
        raise UnreadableFile("corrupt_file", f"файл {suffix} на самом деле книга Excel или архив: "
                                             "сохраните его с правильным расширением (.xlsx, .xls, .zip)")
    text, _ = decode_bytes(data, final=final)
    if "\x00" in text:
        raise UnreadableFile("corrupt_file", "в тексте есть нулевые байты: это не текстовая таблица")
    return text


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


def check_file(path: Path) -> None:
    """Raise :class:`UnreadableFile` for what can be told without parsing: suffix, size, a password.

    >>> try:
    ...     check_file(Path("отчёт.pdf"))
    ... except UnreadableFile as e:
    ...     print(e.rule, "—", e.detail)
    unsupported_format — .pdf (документ PDF); читаются .csv, .ods, .tsv, .txt, .xls, .xlsb, .xlsm, .xlsx
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        what = f"{suffix} ({_KNOWN_OTHER[suffix]})" if suffix in _KNOWN_OTHER else (suffix or "файл без расширения")
        raise UnreadableFile("unsupported_format", f"{what}; читаются {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    size = path.stat().st_size
    if size == 0:
        raise UnreadableFile("empty_file", "0 байт")
    if suffix in SPREADSHEET_SUFFIXES and suffix != ".xls" and _is_encrypted(path):
        raise UnreadableFile("encrypted", _PASSWORD_HINT)


_PASSWORD_HINT = "снимите пароль (Excel: Файл → Сведения → Защита книги → Зашифровать с использованием пароля) " \
                 "и загрузите файл снова"


def _is_encrypted(path: Path) -> bool:
    """An encrypted OOXML workbook: an OLE compound file (D0 CF 11 E0 …) holding an EncryptionInfo stream."""
    with path.open("rb") as f:
        if f.read(8) != _OLE_MAGIC:
            return False
        return _ENCRYPTION_STREAM in f.read()


def _content_kind(path: Path) -> str | None:
    """What the first bytes say the file really is, in Russian, when that is not a workbook."""
    with path.open("rb") as f:
        head = f.read(512)
    low = head.lstrip().lower()
    if head.startswith(b"%PDF"):
        return "документ PDF"
    if low.startswith((b"<!doctype html", b"<html", b"<table")) or b"<html" in low[:200]:
        return "веб-страница (HTML): откройте её в Excel и сохраните как .xlsx"
    if low.startswith(b"<?xml"):
        return "файл XML (возможно, «Таблица XML 2003»): откройте его в Excel и сохраните как .xlsx"
    if head.startswith(b"{\\rtf"):
        return "документ RTF"
    return None


def read_raw(path: Path, nrows: int | None = None, *, name: str | None = None) -> list[RawSheet]:
    """All sheets of a workbook (.xlsx, .xlsm, .xlsb, .xls, .ods: values and merged ranges) or the single
    table of a .csv/.txt/.tsv. ``nrows``: only the first rows of every sheet (the first 64 KiB of a text file).

    Raises :class:`UnreadableFile` (never anything else for a damaged file): ``unsupported_format``,
    ``empty_file`` (0 bytes or no non-empty cell on any sheet), ``encrypted``, ``corrupt_file``.
    Numbers come as float (int for .xls), dates as ``datetime.date``/``datetime.datetime``, empty cells as ''.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_text("Код;Класс\\n00101;4А\\n", encoding="utf-16")
    >>> read_raw(p)[0].rows
    [['Код', 'Класс'], ['00101', '4А']]
    """
    path = Path(path)
    name = name or path.name
    check_file(path)
    suffix = path.suffix.lower()
    sheets = _read_text(path, name, nrows) if suffix in TEXT_SUFFIXES else _read_book(path, name, nrows)
    if not any(not is_blank(v) for s in sheets for r in s.rows for v in r):
        if nrows is not None:   # the first rows are empty: the whole file decides
            return read_raw(path, name=name)
        raise UnreadableFile("empty_file", "ни на одном листе нет заполненных ячеек" if suffix in SPREADSHEET_SUFFIXES
                             else "в файле нет ни одного значения")
    return sheets


def peek_rows(path: Path, n: int = 30) -> list[list[object]]:
    """The first ``n`` rows of every sheet, one list (cheap: for classifying a file). Raises :class:`UnreadableFile`.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_text("Год,Код ОО\\n2024,edu1\\n2025,edu2\\n", encoding="utf-8")
    >>> peek_rows(p, 2)
    [['Год', 'Код ОО'], ['2024', 'edu1']]
    """
    return [r for s in read_raw(Path(path), nrows=n) for r in s.rows[:n]]


def _read_text(path: Path, name: str, nrows: int | None) -> list[RawSheet]:
    with path.open("rb") as f:
        data = f.read(_PEEK_BYTES) if nrows is not None else f.read()
    partial = nrows is not None and len(data) == _PEEK_BYTES
    text = decode_text_file(data, path.suffix, final=not partial)
    if partial:
        text = text[: text.rfind("\n") + 1] or text
    sep = "\t" if path.suffix.lower() == ".tsv" else sniff_sep(text)
    rows = [list(r) for r in csv.reader(io.StringIO(text), delimiter=sep)]
    # A trailing separator (Moscow open data) yields an empty last field on every line: drop it.
    if rows and all((len(r) > 0 and r[-1] == "") for r in rows if r):
        rows = [r[:-1] for r in rows]
    return [RawSheet(name, None, rows[:nrows] if nrows is not None else rows)]


_LAST_BOOK: dict[tuple, list[RawSheet]] = {}   # the workbook read in full by the last peek, until it is read


def _read_book(path: Path, name: str, nrows: int | None) -> list[RawSheet]:
    """Sheets of a workbook; a peek (``nrows``) keeps the full read for the next full read of the same file.

    calamine has no lazy reading: the first rows of a sheet cost the whole sheet. The importer peeks at a
    file to classify it and then reads it, so the sheets of the last peeked workbook (one file, keyed by
    path, size and modification time) are handed to the full read instead of parsing the file twice.
    """
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if nrows is None:
        sheets = _LAST_BOOK.pop(key, None) or _load_book(path)
        return [RawSheet(name, s.sheet, s.rows, s.merged) for s in sheets]
    if key not in _LAST_BOOK:
        _LAST_BOOK.clear()
        _LAST_BOOK[key] = _load_book(path)
    return [RawSheet(name, s.sheet, s.rows[:nrows], list(s.merged)) for s in _LAST_BOOK[key]]


def _load_book(path: Path) -> list[RawSheet]:
    """Every worksheet through python-calamine; failures classified into UnreadableFile rules."""
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
    except pc.PasswordError:
        raise UnreadableFile("encrypted", _PASSWORD_HINT) from None
    except Exception as exc:   # calamine raises its own errors, but also ValueError/OSError on odd input
        raise _classify_failure(path, exc) from None
    out = []
    try:
        for i, meta in enumerate(wb.sheets_metadata):
            if meta.typ != pc.SheetTypeEnum.WorkSheet:
                continue
            sheet = wb.get_sheet_by_index(i)
            rows = sheet.to_python(skip_empty_area=False)
            merged = [(r1 + 1, c1 + 1, r2 + 1, c2 + 1) for (r1, c1), (r2, c2) in (sheet.merged_cell_ranges or [])]
            out.append(RawSheet(path.name, sheet.name, rows, merged))
    except pc.PasswordError:
        raise UnreadableFile("encrypted", _PASSWORD_HINT) from None
    except Exception as exc:
        raise _classify_failure(path, exc) from None
    finally:
        wb.close()
    if path.suffix.lower() == ".ods":
        spans = _ods_merges(path)
        for s in out:
            s.merged = spans.get(s.sheet, [])
    return out


def _classify_failure(path: Path, exc: Exception) -> UnreadableFile:
    if _is_encrypted(path):
        return UnreadableFile("encrypted", _PASSWORD_HINT)
    kind = _content_kind(path)
    if kind:
        return UnreadableFile("corrupt_file", f"по содержимому это {kind}, а не книга {path.suffix}")
    return UnreadableFile("corrupt_file", f"структура книги {path.suffix} нарушена ({type(exc).__name__}: {exc}); "
                                          "откройте файл в Excel и сохраните его заново")


def _ods_merges(path: Path) -> dict[str, list[tuple[int, int, int, int]]]:
    """Merged ranges of every sheet of an .ods, 1-based (calamine does not report them for OpenDocument)."""
    import zipfile
    from xml.etree.ElementTree import iterparse

    t = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
    cells = (t + "table-cell", t + "covered-table-cell")
    out: dict[str, list[tuple[int, int, int, int]]] = {}
    sheet, row, col, depth = None, 0, 0, 0
    try:
        with zipfile.ZipFile(path) as z, z.open("content.xml") as f:
            for event, el in iterparse(f, events=("start", "end")):
                if el.tag == t + "table":
                    depth += 1 if event == "start" else -1
                    if event == "start" and depth == 1:
                        sheet, row = el.get(t + "name"), 0
                        out[sheet] = []
                elif depth != 1:
                    continue
                elif el.tag == t + "table-row":
                    if event == "start":
                        col = 0
                    else:
                        row += int(el.get(t + "number-rows-repeated", 1))
                        el.clear()
                elif el.tag in cells:
                    if event == "start":
                        cs, rs = int(el.get(t + "number-columns-spanned", 1)), int(el.get(t + "number-rows-spanned", 1))
                        if el.tag == cells[0] and (cs > 1 or rs > 1):
                            out[sheet].append((row + 1, col + 1, row + rs, col + cs))
                    else:
                        col += int(el.get(t + "number-columns-repeated", 1))
                        el.clear()
    except (KeyError, OSError, ValueError, SyntaxError):   # already read by calamine: merges are a bonus
        return {}
    return out


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
    # Each known header also without its trailing notes («Класс (параллель)» → «класс»), unless two
    # columns would share that short form or it is a known header itself.
    bare: dict[str, set[str]] = {}
    for h, c in look.items():
        bare.setdefault(bare_header(h), set()).add(c)
    look.update({b: next(iter(cs)) for b, cs in bare.items() if b and len(cs) == 1 and b not in look})
    return look


def resolve_header(header: object, look: dict[str, str]) -> str | None:
    """Canonical column of a header cell: its normalised spelling, else without trailing notes in parentheses.

    >>> resolve_header("Код ОО\\n(логин в ФИС ОКО)", {"код оо": "school_id"})
    'school_id'
    """
    h = norm_header(header)
    return look.get(h) or look.get(bare_header(h))


def similar_column(header: object, table: str, mapping: TableMapping | None) -> str | None:
    """For a header that is not recognised: ««Title»» of the known column it resembles (difflib ratio ≥ 0.8
    against every known header spelling, also without trailing notes), else None.

    >>> similar_column("Количество учителей всего", "staff", None) is None, similar_column("Учителй", "staff", None)
    (True, '«Учителей»')
    """
    look = header_lookup(table, mapping)
    h = norm_header(header)
    known = list(look)
    hit = similar_header(h, known) or similar_header(bare_header(h), known)
    if hit is None:
        return None
    canon = look[hit]
    return f"«{columns_of(table).get(canon, {}).get('title') or canon}»"


def required_columns(table: str, mapping: TableMapping | None) -> list[str]:
    """Columns that must come from the file (not nullable and not filled by a constant)."""
    consts = set(mapping.constants) if mapping else set()
    return [c for c, m in columns_of(table).items() if not m["nullable"] and c not in consts]


def match_score(headers: list[object], table: str, mapping: TableMapping | None) -> tuple[float, int]:
    """(share of the table's required columns these headers provide, number of headers recognised)."""
    look = header_lookup(table, mapping)
    found = {resolve_header(h, look) for h in headers if not is_blank(h)} - {None}
    req = required_columns(table, mapping)
    return (sum(c in found for c in req) / len(req) if req else 0.0), len(found)


# ------------------------------------------------------------------ cell parsing

_TRUE = {"да", "1", "true", "истина", "+", "yes", "д"}
_FALSE = {"нет", "0", "false", "ложь", "-", "no", "н"}


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
        if how in ("period_start", "period_end"):   # a roadmap term: «декабрь 2026 г.», «в течение 2027 г.»
            from workbench.periods import TermError, parse_term
            try:
                term = parse_term(s)
            except TermError:
                return None, "not_a_term"
            return pd.Timestamp(term.start if how == "period_start" else term.end), None
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


def read_table(path: Path, table: str, mapping: TableMapping | None = None, *, name: str | None = None) -> TableRead:
    """Read one table file into canonical typed columns; every non-empty data row is kept.

    ``name`` is how the file is named in problems and in ``source_file`` (default: the file name; the
    importer passes the path relative to the import root). File-level failures (unreadable —
    :class:`UnreadableFile` rules —, no header, missing required column) come back as problems of severity
    ``fatal`` with ``rows_read`` = the non-empty data rows, all of which go to quarantine. Example::

        read_table(Path("raw/2024/staff.xlsx"), "staff", name="2024/staff.xlsx").frame.source_file.iat[0]
        # '2024/staff.xlsx'
    """
    path = Path(path)
    fname = name or path.name
    probs: list[dict] = []
    try:
        sheets = read_raw(path, name=fname)
    except UnreadableFile as e:
        return TableRead(table, pd.DataFrame(), P.frame([e.problem(fname)]), 0)
    except Exception as e:  # permission denied, a vanished file: the user's file, reported not raised
        probs.append(P.problem(fname, None, None, None, fname, "file_unreadable", detail=str(e) or type(e).__name__))
        return TableRead(table, pd.DataFrame(), P.frame(probs), 0)
    if mapping and mapping.sheet:
        sheets = [s for s in sheets if s.sheet == mapping.sheet] or sheets
    # Data sheet = the first that has a header; the others are reported and skipped.
    chosen, hdr = None, None
    for s in sheets:
        h = find_header_row(s.rows, table, mapping)
        if h is not None:
            chosen, hdr = s, h
            break
    if chosen is None:
        return _no_header(fname, sheets, table, mapping, probs)
    for s in sheets:
        if s is not chosen and s.sheet not in TABLES[table].helper_sheets and any(not all(is_blank(v) for v in r) for r in s.rows):
            probs.append(P.problem(fname, s.sheet, None, None, s.sheet, "extra_sheet"))
    return _parse_rows(fname, chosen, hdr, table, mapping, probs)


def _no_header(fname: str, sheets: list[RawSheet], table: str, mapping: TableMapping | None,
               probs: list[dict]) -> TableRead:
    """No sheet has all required columns: each missing one is fatal; the rows below the first filled row
    are the data rows (all quarantined)."""
    s = next((s for s in sheets if any(not is_blank(v) for r in s.rows for v in r)), sheets[0])
    look = header_lookup(table, mapping)
    filled = [i for i, r in enumerate(s.rows) if not all(is_blank(v) for v in r)]
    first = s.rows[filled[0]] if filled else []
    found = {resolve_header(h, look) for h in first if not is_blank(h)}
    row = (filled[0] + 1) if filled else 1
    for h in first:   # a misspelt required column is the likely reason: say what it resembles
        like = None if is_blank(h) or resolve_header(h, look) else similar_column(h, table, mapping)
        if like:
            probs.append(P.problem(fname, s.sheet, row, _text(h), _text(h), "similar_column", detail=like))
    titles = columns_of(table)
    for c in required_columns(table, mapping):
        if c not in found:
            probs.append(P.problem(fname, s.sheet, row, c, titles[c]["title"] or c,
                                   "missing_column", detail=f"столбец {c} таблицы {table}"))
    rows = [i + 1 for i in filled[1:]]
    frame = pd.DataFrame({"source_file": [fname] * len(rows), "source_sheet": s.sheet,
                          "source_row": pd.array(rows, dtype="Int64")})
    return TableRead(table, frame, P.frame(probs), len(rows), s.sheet)


def _parse_rows(fname: str, sheet: RawSheet, hdr: int, table: str, mapping: TableMapping | None,
                probs: list[dict]) -> TableRead:
    cols = columns_of(table)
    look = header_lookup(table, mapping)
    ignore = {norm_header(x) for x in [*(mapping.ignore if mapping else []), *TABLES[table].derived_headers]}
    header = sheet.rows[hdr]
    positions: dict[str, int] = {}
    for j, h in enumerate(header):
        if is_blank(h):
            continue
        canon = resolve_header(h, look)
        text = _text(h)
        if canon is None:
            if norm_header(h) not in ignore and bare_header(norm_header(h)) not in ignore:
                like = similar_column(h, table, mapping)
                probs.append(P.problem(fname, sheet.sheet, hdr + 1, text, text, "similar_column" if like else "unknown_column",
                                       detail=like or ""))
        elif canon in positions:
            probs.append(P.problem(fname, sheet.sheet, hdr + 1, text, text, "duplicate_column"))
        else:
            positions[canon] = j
    body = [(hdr + 2 + k, r) for k, r in enumerate(sheet.rows[hdr + 1:])]
    data = [(n, r) for n, r in body if not all(is_blank(v) for v in r)]
    last = data[-1][0] if data else 0
    for n, r in body:   # blank rows between data rows are reported; trailing ones are not worth a message
        if n < last and all(is_blank(v) for v in r):
            probs.append(P.problem(fname, sheet.sheet, n, None, None, "empty_row"))
    out: dict[str, list] = {}
    parse = mapping.parse if mapping else {}
    values = mapping.values if mapping else {}
    for canon, meta in cols.items():
        if canon not in positions:
            continue
        j, dtype = positions[canon], meta["dtype"]
        how = parse.get(canon) or (f"period_{meta['period']}" if meta.get("period") else None)
        head = _text(header[j])
        vals = []
        parsed: dict[tuple, tuple] = {}   # columns repeat few values (years, codes, flags): parse each once
        for n, r in data:
            v = r[j] if j < len(r) else None
            if is_blank(v):
                vals.append(None)
                continue
            if canon in ID_COLUMNS and isinstance(v, (int, float)) and not isinstance(v, bool):
                probs.append(P.problem(fname, sheet.sheet, n, head, _text(v), "id_as_number"))
            if canon in values:
                v = values[canon].get(_text(v), v)
            key = (v.__class__, v)
            try:
                val, rule = parsed[key]
            except KeyError:
                val, rule = parsed[key] = parse_cell(v, dtype, how)
            except TypeError:   # an unhashable cell value
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
    headers = {c: _text(header[j]) for c, j in positions.items()}
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
