"""FIS OKO ВПР files: reader and writer for the collection form, the «Ф1» export and the region protocol.

Three layouts are read from ``.xlsx``, ``.xlsm``, ``.xlsb``, ``.xls`` and ``.ods`` (python-calamine, through
``tables.read_raw``) and from ``.csv``/``.txt``/``.tsv`` (UTF-8, UTF-8 with BOM, UTF-16 LE/BE or cp1251; «;», «,»
or tab). A file that cannot be read at all is one fatal problem of a ``tables.UnreadableFile`` rule
(``encrypted``, ``empty_file``, ``corrupt_file``, ``unsupported_format``):

``school_form``
    «форма сбора результатов» of one school: an optional title block, then the header row «Код»,
    «Вариант» (once, or twice — a merged «Вариант» over two columns, or «Вариант (часть 1)» and «Вариант
    (часть 2)» of a work in two parts), one column per task whose
    header carries its maximum («1 (2б)», «9.1 (1б)», «К1 (3б)», «11.3 K1 (2б)»), «Класс» (also «Класс №
    (список формируется из листа "Классы")»), «Пол», the journal mark («Отметка за предыдущую четверть»,
    «…триместр», «…полугодие», «…год», «…триместр/ четверть/полугодие», «Отметка по журналу»), the total
    («Первичный балл» / «Итого баллов») and «Отметка».
``f1``
    «Ф1 Индивидуальные результаты»: title rows (subject, «Максимальный первичный балл», «Дата»), the school
    line «(edu004001) МБОУ … Кол-во участников: N», a row with each task's level Б/П/В just above the
    column header, then the same table.
``region_protocol``
    many schools of a region in one file: the same table plus a school login column («Логин ОО» /
    «Код ОО») and optionally the municipality («Код АТЕ» / «Муниципалитет»).

One file holds one (year, subject, grade). These come, first found wins, from

1. the keyword arguments of :func:`read_vpr`;
2. the title block above the header: cells such as «Год: 2024», «Предмет: Математика», «Класс: 5»,
   «Логин ОО: edu004001», «Код АТЕ: 0301», «Дата: 18.04.2024», «Всероссийские проверочные работы 2024»,
   the F1 school line «(edu004001) … Кол-во участников: N» (a label cell ending in «:» may also be
   followed by its value in the next cell);
3. the file name, split at «_», «-», «.» and spaces: a year 20NN, a subject code or Russian name, a grade,
   a login eduNNNNNN — e.g. ``VPR_2024_math_5_edu004001.xlsx`` (what the demo generator uses).

The school comes the same way for ``school_form`` and ``f1``, and from each row for ``region_protocol``.
Whatever is still missing is reported as a fatal ``missing_metadata`` naming it («Год», «Предмет»,
«Класс (параллель)», «Логин ОО»).

Reading rules: the header row is searched in the first rows (a two-row header and merged header cells are
combined); spelling is normalised (case, ё/е, spaces and line breaks, spaces around «/», Latin look-alikes
such as K/К, X/Х). A header not known as written is tried again without its trailing notes in parentheses,
one at a time, and without a trailing «№» — never a task header, whose «(2б)» is its maximum. A header still
unknown is ``similar_column`` («похоже на отметку по журналу») when it resembles a known column: keyword rules
per column first (``_SIMILAR``: e.g. «отметк»/«оценк» with «четв»/«тримест»/«полугод»/«журнал» → the journal
mark; digits followed by «(» → a task header), then difflib ratio ≥ 0.8 against the known spellings; otherwise
``unknown_column``. A sheet without the journal mark gets the warning ``no_journal_mark`` (objectivity cannot
be computed for it); a sheet with totals but no task columns gets ``no_task_scores`` (no analysis by task;
the file's total is the primary score); no participant code, or neither tasks nor a total, is fatal. Every non-empty
row below the header is one row of ``works`` — nothing is dropped; problems are reported with the file
name, sheet, the row number the user sees and the header text as in the file. A file with a fatal problem
still returns its rows; the caller rejects the whole file. Primary score and mark are recomputed from the
task scores («X»/«Х»/«-» = not done, counts 0) and the mark scale; the file's values are kept in
``*_reported``. Absent pupils («отсутствовал», «не присутствовал» in the variant column) keep NA scores.
Canonical forms: task labels upper case with Cyrillic look-alikes («11.3 k1» → «11.3 К1»), class labels
upper case without spaces with Cyrillic look-alikes («5 a» → «5А»), sex М/Ж.

Example
-------
>>> import pandas as pd, tempfile
>>> from pathlib import Path
>>> from workbench.scales import ScaleBook, load_scales
>>> tasks = pd.DataFrame({"position": [1, 2], "task": ["1", "2"], "max_score": [2, 1], "level": ["Б", "П"]})
>>> works = pd.DataFrame({"year": [2022], "subject": ["math"], "grade": [4], "school_id": ["edu000001"],
...                       "participant": ["00012"], "variant": [1], "absent": [False], "task_01": [2], "task_02": [1]})
>>> path = Path(tempfile.mkdtemp()) / "form.csv"
>>> write_vpr(works, tasks, path, "school_form")
>>> read = read_vpr(path, ScaleBook(load_scales()))
>>> read.works[["participant", "primary_score", "mark"]].values.tolist()
[['00012', 3, 2]]
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench import vocab
from workbench.data.problems import frame, problem
from workbench.scales import ScaleBook
from workbench.data.schemas import ID_PATTERN
from workbench.data.tables import (TEXT_SUFFIXES, UnreadableFile, check_file, decode_text_file, read_raw,
                              similar_header, strip_note)

FORMATS: tuple[str, ...] = ("school_form", "f1", "region_protocol")
XLSX_CREATED = dt.datetime(2000, 1, 1)  # document date written into every .xlsx (reproducible bytes)
SCAN_ROWS = 60          # the header (and the title block above it) sits in the first rows
SOURCE_COLUMNS = ["source_file", "source_sheet", "source_row"]
BASE_COLUMNS = ["year", "municipality", "school_id", "subject", "grade", "class_label", "participant", "variant",
                "absent", "sex", "journal_mark", "primary_score", "mark", "primary_score_reported", "mark_reported"]
STR_COLUMNS = ("municipality", "school_id", "subject", "class_label", "participant", "sex", "source_file", "source_sheet")
INT_COLUMNS = ("year", "grade", "variant", "journal_mark", "primary_score", "mark", "primary_score_reported",
               "mark_reported", "source_row")
TASK_COLUMNS_ORDER = ["year", "subject", "grade", "position", "task", "max_score", "level", "skill"]

# Russian names of what may be missing: «column» and «value» of a missing_column problem (a file-level
# problem, row NA; the name in «column» keeps several of them apart).
REQUIRED_NAMES = {"participant": "Код участника", "task": "Баллы за задания (заголовок вида «1 (2б)»)",
                  "year": "Год", "subject": "Предмет", "grade": "Класс (параллель)", "school_id": "Логин ОО"}

_LATIN_TO_CYR = str.maketrans("abcehkmoptxy", "авсенкмортху")   # applied after lower()
_NOT_DONE = frozenset({"x", "X", "х", "Х", "-", "–", "—"})
_NO_MARK = _NOT_DONE | {"н/а", "Н/А", "н/a", "Н/A"}   # journal mark cell with no mark («не аттестован»)
_ABSENT_PAT = r"^(?:отсутств|не ?присутств|не ?писал|неявка|н/я$)"
_SEXES = {"м": "М", "муж": "М", "мужской": "М", "ж": "Ж", "жен": "Ж", "женский": "Ж"}
_PARTICIPANT_RE = r"^\d{1,10}$"

# Known headers after normalise_header(); spellings seen in exports or plausible variants of them.
_HEADERS: dict[str, tuple[str, ...]] = {
    "participant": ("код", "код участника", "код участника впр", "код уч-ка", "код ученика", "код обучающегося"),
    "variant": ("вариант", "номер варианта", "вариант работы", "№ варианта"),
    "class_label": ("класс", "литер класса", "класс (литер)", "буква класса", "класс (буква)"),
    "sex": ("пол",),
    "total": ("первичный балл", "итого баллов", "итого", "сумма баллов", "итоговый балл", "всего баллов",
              "первичный балл (сумма)", "сумма первичных баллов", "сумма"),
    "mark": ("отметка", "отметка за работу", "отметка за впр", "оценка", "оценка за работу", "отметка по впр"),
    "school_id": ("логин оо", "код оо", "логин", "логин образовательной организации", "код образовательной организации"),
    "municipality": ("код ате", "муниципалитет", "код муниципалитета", "муниципальное образование", "код мо", "ате"),
    "ignore": ("учебник", "№", "№ п/п", "п/п", "наименование оо", "оо", "название оо", "наименование", "фио",
               "примечание", "комментарий"),
}
_PERIOD = r"(?:четверть|триместр|полугодие|год|период)"
_JOURNAL_RE = re.compile(rf"^(?:отметка|оценка) (?:за (?:\S+ )?(?:учебн\S* )?{_PERIOD}(?:/{_PERIOD})*"
                         r"|по журналу|в журнале)(?: .*)?$|^журнальная отметка$")
_TASK_RE = re.compile(r"^(?:задание ?)?(?:№ ?)?(?P<label>(?:[а-я]{1,2} ?)?\d+(?:[.,]\d+)*(?: ?[а-я]{1,2} ?\d*)?)"
                      r" ?\( ?(?:макс\.? ?)?(?P<max>\d{1,2}) ?б(?:алл(?:а|ов)?)?\.? ?\)$")

# Title-block patterns, tried on each title cell (original spelling, case-insensitive).
_META_RE: dict[str, list[re.Pattern]] = {k: [re.compile(p, re.I) for p in v] for k, v in {
    "year": [r"\bгод\w*\s*:?\s*(?:20\d\d\s*[/–-]\s*)?(20\d\d)\b",
             r"\bдата\w*(?:\s+\w+)?\s*:?\s*(?:\d{1,2}\.\d{1,2}\.)?(20\d\d)\b",
             r"(?:впр|проверочн\w*\s+работ\w*)\D{0,20}(20\d\d)\b"],
    "subject": [r"^\s*предмет\w*\s*:?\s*(.+?)\s*$"],
    "grade": [r"^\s*(?:класс|параллель)\w*\s*:?\s*(\d{1,2})\b", r"^\s*(\d{1,2})\s*класс\w*\s*$"],
    "school_id": [r"^\s*(?:логин|код)\s+оо\s*:?\s*([0-9A-Za-zА-Яа-яЁё_\-]+)\s*$",
                  r"^\s*\(([0-9A-Za-zА-Яа-яЁё_\-]+)\).*кол-?\s?во\s+участников", r"\b(edu\d{4,})\b"],
    "municipality": [r"^\s*(?:код\s+ате|муниципалитет|код\s+муниципалитета|код\s+мо)\s*:?\s*([0-9A-Za-z_\-]+)\s*$"],
    "max_primary": [r"максимальн\w*\s+(?:первичн\w*\s+)?балл\w*\s*:?\s*(\d+)"],
}.items()}
_F1_MARKERS = re.compile(r"кол-?\s?во\s+участников|индивидуальн\w*\s+результат|\bф1\b", re.I)


# --------------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------------

@dataclass
class VprRead:
    """What :func:`read_vpr` returns.

    ``works``: one row per non-empty data row (never dropped), columns of ``schemas.Vpr`` for the tasks
    present plus ``source_file``, ``source_sheet`` (NA for CSV) and ``source_row`` (the row the user sees).
    ``tasks``: ``schemas.VprTasks`` rows from the headers. ``problems``: ``problems.frame`` of everything
    found; a ``fatal`` one rejects the whole file. ``rows_read == len(works)``. ``format``: "school_form",
    "f1", "region_protocol", or "unknown" when no table was found (file unreadable or no header).
    Example: ``read.works[read.works.absent]`` are the absent pupils, with NA scores.
    """

    works: pd.DataFrame
    tasks: pd.DataFrame
    problems: pd.DataFrame
    rows_read: int
    format: str


@dataclass(frozen=True)
class VprStyle:
    """Header and formatting variants of real exports; the demo generator picks them to exercise the reader.

    Example: ``VprStyle(not_done="Х", journal_header="Отметка за предыдущий триместр", sep=",")``.
    """

    journal_header: str = "Отметка за предыдущую четверть"
    not_done: str = "X"
    absent_word: str = "отсутствовал"
    two_variant_columns: bool = False
    formula_totals: bool = False
    encoding: str = "utf-8"
    sep: str = ";"
    total_header: str = "Первичный балл"
    work_date: str | None = None   # f1 only: the «Дата» line (e.g. «16.04.2024»); default: the year only


# --------------------------------------------------------------------------------------------------
# Header spelling
# --------------------------------------------------------------------------------------------------

def cell_text(v: Any) -> str:
    """One cell as text: Excel numbers 1234.0 → «1234», dates dd.mm.yyyy, None → ''."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v.replace("\xa0", " ").strip()
    if isinstance(v, bool):
        return "ИСТИНА" if v else "ЛОЖЬ"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (dt.datetime, dt.date)):
        return v.strftime("%d.%m.%Y")
    return str(v).strip()


def normalise_header(text: Any) -> str:
    """Header text in a canonical spelling: lower case, ё→е, single spaces (line breaks too, none around «/»),
    Latin look-alikes → Cyrillic.

    >>> normalise_header("  11.3 K1\\xa0(2Б) "), normalise_header("Отметка за предыдущий\\nтриместр/ четверть")
    ('11.3 к1 (2б)', 'отметка за предыдущий триместр/четверть')
    """
    s = cell_text(text).lower().replace("ё", "е").translate(_LATIN_TO_CYR)
    s = re.sub(r"\s+", " ", s).strip().rstrip("*").strip()
    s = re.sub(r" ?/ ?", "/", s)            # «триместр/ четверть» (FIS OKO form) = «триместр/четверть»
    return re.sub(r"\s*([()])\s*", lambda m: " (" if m.group(1) == "(" else ")", s).strip()


def parse_task_header(text: Any) -> tuple[str, int] | None:
    """(task label, maximum) from a task header, or None.

    >>> parse_task_header("11.3 k1 (2б)"), parse_task_header("К1(3 балла)"), parse_task_header("Класс")
    (('11.3 К1', 2), ('К1', 3), None)
    """
    m = _TASK_RE.match(normalise_header(text))
    if not m:
        return None
    label = re.sub(r"\s+", " ", m["label"].replace(",", ".")).strip().upper()
    return label, int(m["max"])


@lru_cache(maxsize=4096)
def _classify(text: str) -> tuple[str, str, int] | None:
    """(kind, label, task max) of a header cell, or None when it is not a known header.

    The label is the task label for tasks and the note of a variant column («Вариант (часть 1)» → «часть 1»).
    A header that is not known as written is tried again without its trailing notes in parentheses, one at a
    time («Класс № (список формируется из листа "Классы")» → «Класс №» → «Класс»); task headers are matched
    before that, so their maximum «(2б)» is never stripped.
    """
    h = normalise_header(text)
    if not h:
        return None
    hit = _classify_exact(h)
    short = h
    while hit is None:
        shorter = strip_note(short)
        if not shorter or shorter == short:
            return None
        short = shorter
        hit = _classify_exact(short)
    if hit[0] == "variant" and short != h:
        return ("variant", h[len(short):].strip(" ()"), 0)
    return hit


def _classify_exact(h: str) -> tuple[str, str, int] | None:
    task = parse_task_header(h)
    if task:
        return ("task", task[0], task[1])
    kind = _HEADER_LOOKUP.get(h)
    if kind:
        return (kind, "", 0)
    if _JOURNAL_RE.match(h):
        return ("journal_mark", "", 0)
    return None


# What an unrecognised header resembles: (pattern on the normalised header, Russian name after «похоже на»).
# Keywords first (each rule can be read and explained); then difflib ratio ≥ 0.8 against the known spellings.
_SIMILAR: list[tuple[re.Pattern, str]] = [(re.compile(p), what) for p, what in (
    (r"(?:отметк|оценк).*(?:четв|тримест|полугод|журнал|предыдущ|прошл)|(?:четв|тримест|полугод|журнал).*(?:отметк|оценк)",
     "отметку по журналу"),
    (r"^(?:задани\S* ?)?(?:№ ?)?(?:[а-я]{1,2} ?)?\d+(?:[.,]\d+)* ?\(", "балл за задание (ожидается заголовок вида «1 (2б)»)"),
    (r"\bкод\b.*(?:участ|учащ|учен|обуч|работ)", "код участника"),
    (r"вариант", "вариант"),
    (r"(?:первичн|сумм|итог).*балл|балл.*(?:первичн|сумм|итог)", "первичный балл"),
    (r"^(?:отметк|оценк)", "отметку за работу"),
    (r"логин|\bкод оо\b", "логин ОО"),
    (r"^класс", "класс"),
)]
_KIND_NAMES = {"participant": "код участника", "variant": "вариант", "class_label": "класс", "sex": "пол",
               "total": "первичный балл", "mark": "отметку за работу", "school_id": "логин ОО",
               "municipality": "код АТЕ", "journal_mark": "отметку по журналу"}


def similar_to(text: Any) -> str | None:
    """What an unrecognised header resembles, in Russian (for «похоже на …»), or None.

    >>> similar_to("Отметка за прошлую четв."), similar_to("Сумма балов"), similar_to("Комментарий учителя")
    ('отметку по журналу', 'первичный балл («сумма баллов»)', None)
    """
    h = normalise_header(text)
    for pattern, what in _SIMILAR:
        if pattern.search(h):
            return what
    hit = similar_header(h, list(_SIMILAR_KNOWN))
    if hit is None:
        return None
    what = _KIND_NAMES[_SIMILAR_KNOWN[hit]]
    return what if hit == what else f"{what} («{hit}»)"


_HEADER_LOOKUP = {normalise_header(v): k for k, vs in _HEADERS.items() for v in vs}
_SIMILAR_KNOWN = {**{h: k for h, k in _HEADER_LOOKUP.items() if k != "ignore"},
                  **{normalise_header(h): "journal_mark" for h in ("Отметка за предыдущую четверть", "Отметка по журналу")}}


def _canon_class(text: str) -> str:
    """Class label «5 a» → «5А» (upper case, no spaces, Cyrillic look-alikes)."""
    return re.sub(r"\s+", "", text).lower().translate(_LATIN_TO_CYR).upper()


_SUBJECT_LOOKUP = {**{re.sub(r"\s+", " ", v.lower().replace("ё", "е")): k for k, v in vocab.SUBJECTS.items()},
                   **{k: k for k in vocab.SUBJECTS}}


def subject_code(text: Any) -> str | None:
    """Subject code from a code or a Russian name, else None.

    >>> subject_code("Русский язык"), subject_code("math"), subject_code("Астрономия")
    ('rus', 'math', None)
    """
    s = re.sub(r"\s+", " ", str(text).lower().replace("ё", "е")).strip(" «»\"'.,;:")
    if s in _SUBJECT_LOOKUP:
        return _SUBJECT_LOOKUP[s]
    for name in sorted(_SUBJECT_LOOKUP, key=len, reverse=True):   # «Математика (5 класс)»
        if len(name) > 4 and s.startswith(name):
            return _SUBJECT_LOOKUP[name]
    return None


# --------------------------------------------------------------------------------------------------
# Loading cells
# --------------------------------------------------------------------------------------------------

@dataclass
class _Sheet:
    name: str | None              # None for CSV
    cells: np.ndarray             # 2-D object array of stripped str; grid row i is user row i + 1
    numeric: np.ndarray | None    # xlsx: True where the cell held a number (ids stored as numbers)
    codes: np.ndarray | None = None    # cells == values[codes]: the parsers work once per distinct text
    values: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.codes is None:
            codes, uniques = pd.factorize(self.cells.ravel(), use_na_sentinel=False)
            self.codes, self.values = codes.reshape(self.cells.shape), np.asarray(uniques, dtype=object)

    def text(self, rows: np.ndarray, cols) -> "_Text":
        """Cells of ``rows`` × ``cols`` (one column index or a list) with their distinct texts."""
        sub = self.codes[np.ix_(rows, cols)] if isinstance(cols, list) else self.codes[rows, cols]
        codes, uniques = pd.factorize(sub.ravel())
        values = self.values[uniques]
        return _Text(values[codes].reshape(sub.shape), codes.reshape(sub.shape), values)


@dataclass
class _Text:
    """Text cells of a column or block with each distinct text once: ``cells == values[codes]``.

    The cell parsers below work per distinct text: a column of 100,000 scores repeats a handful of values."""
    cells: np.ndarray
    codes: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, cells: "np.ndarray | _Text") -> "_Text":
        if isinstance(cells, _Text):
            return cells
        codes, uniques = pd.factorize(cells.ravel(), use_na_sentinel=False)
        return cls(cells, codes.reshape(cells.shape), np.asarray(uniques, dtype=object))

    def per_value(self, func, dtype=object) -> np.ndarray:
        """``func`` applied to each distinct text, spread over the cells."""
        out = np.empty(len(self.values), dtype=dtype)
        out[:] = [func(v) for v in self.values]
        return out[self.codes]


def _strip(values) -> np.ndarray:
    """Cell texts as the readers compare them: no-break spaces as spaces, outer blanks removed."""
    return np.array([v.replace("\xa0", " ").strip() if isinstance(v, str) else "" for v in values], dtype=object)


def _grid(rows: list[list[str]], width: int) -> np.ndarray:
    out = np.full((len(rows), width), "", dtype=object)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def _load_book(path: Path, name: str, nrows: int | None = None) -> list[_Sheet]:
    """Every worksheet of an .xlsx/.xlsm/.xlsb/.xls/.ods (python-calamine through ``tables.read_raw``).

    Formula cells give their cached values; a merged value belongs to every covered cell (a «Вариант»
    merged over two columns heads both). Raises ``tables.UnreadableFile``.
    """
    sheets = []
    for raw in read_raw(path, nrows, name=name):
        grid = raw.rows
        width = max((len(r) for r in grid), default=0)
        if any(len(r) != width for r in grid):
            grid = [list(r) + [""] * (width - len(r)) for r in grid]
        for r1, c1, r2, c2 in raw.merged:   # 1-based, inclusive; rows are copied: read_raw may share them
            if r1 <= len(grid) and c1 <= width:
                value = grid[r1 - 1][c1 - 1]
                for r in range(r1 - 1, min(r2, len(grid))):
                    grid[r] = list(grid[r])
                    grid[r][c1 - 1:min(c2, width)] = [value] * (min(c2, width) - c1 + 1)
        numeric = np.zeros((len(grid), width), dtype=bool)
        cells = np.empty((len(grid), width), dtype=object)
        for i, row in enumerate(grid):
            numeric[i] = [type(v) in (int, float) for v in row]
            cells[i] = [cell_text(v) for v in row]
        sheets.append(_Sheet(raw.sheet, cells, numeric))
    return sheets


def _sniff_sep(lines: list[str]) -> str:
    """The separator whose split of the first lines gives the best header; «;» on a tie."""
    best, best_key = ";", None
    for sep in (";", ",", "\t"):
        if not any(sep in line for line in lines[:SCAN_ROWS]):
            key = (0, False)   # one column per row: no header row of two known columns is possible
        else:
            rows = [[c.strip() for c in r] for r in csv.reader(lines[:SCAN_ROWS], delimiter=sep)]
            found = _find_header(rows)
            key = (found[3] if found else 0, True)
        if best_key is None or key > best_key:
            best, best_key = sep, key
    return best


# Line breaks str.splitlines() knows and the CSV parsers do not (UTF-8): with one of them a line is not a record.
_ODD_BREAKS = tuple(ch.encode() for ch in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def _load_csv(path: Path) -> list[_Sheet]:
    text = decode_text_file(path.read_bytes(), path.suffix)
    if not text.strip(" \t\r\n;,\ufeff"):
        raise UnreadableFile("empty_file", "в файле нет ни одного значения")
    lines = text.splitlines()
    sep = _sniff_sep(lines)
    data = text.encode("utf-8")
    if b'"' in data or any(br in data for br in _ODD_BREAKS):      # quotes or odd breaks: the general parser
        width = max(line.count(sep) for line in lines) + 1   # an upper bound (quoted separators count too)
        codes, values = _csv_codes_pandas(text, sep, width)
    else:
        width = _max_fields(data, sep)
        codes, values = _csv_codes_arrow(data, sep, width) or _csv_codes_pandas(text, sep, width)
    return [_Sheet(None, values[codes], None, codes, values)]


def _max_fields(data: bytes, sep: str) -> int:
    """Fields of the widest line of unquoted UTF-8 text (``sep`` is one ASCII character).

    >>> _max_fields(b"a;b\\r\\n1;2;3\\n\\n4", ";")
    3
    """
    b = np.frombuffer(data, dtype=np.uint8)
    seps = np.flatnonzero(b == ord(sep))
    ends = np.append(np.flatnonzero((b == 10) | (b == 13)), len(b))
    per_line = np.diff(np.searchsorted(seps, ends), prepend=0)     # separators before each line end
    return int(per_line.max()) + 1


def _csv_codes_pandas(text: str, sep: str, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(codes, stripped distinct texts) of the grid, by pandas' C parser (quoted fields, any line breaks)."""
    # skip_blank_lines=False keeps grid row i on line i + 1; every cell stays text (leading zeros).
    df = pd.read_csv(io.StringIO(text), sep=sep, header=None, names=range(width), dtype=object,
                     keep_default_na=False, na_filter=False, skip_blank_lines=False, engine="c")
    codes, uniques = pd.factorize(df.to_numpy(dtype=object).ravel(), use_na_sentinel=True)
    values = np.append(_strip(uniques), "")        # a missing field (code -1) takes the trailing ''
    return codes.reshape(df.shape), values


def _csv_codes_arrow(data: bytes, sep: str, width: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The same grid by Arrow's CSV reader, each column dictionary-encoded as it is parsed (several times
    faster). Only for text without quotes, where a line is a record: lines with fewer fields (the title
    block, a short row) are split by the csv module and put back at their line. None if Arrow fails."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    short: dict[int, list[str]] = {}

    def keep_short(row) -> str:
        if row.number is None or row.actual_columns > width:
            raise ValueError("record without a line number")
        short[row.number - 1] = next(csv.reader([row.text], delimiter=sep), [])
        return "skip"

    names = [f"c{j}" for j in range(width)]
    try:
        table = pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(column_names=names, use_threads=False, block_size=1 << 28),
            parse_options=pcsv.ParseOptions(delimiter=sep, quote_char=False, double_quote=False, escape_char=False,
                                            newlines_in_values=False, ignore_empty_lines=False,
                                            invalid_row_handler=keep_short),
            convert_options=pcsv.ConvertOptions(column_types={c: pa.dictionary(pa.int32(), pa.string()) for c in names},
                                                strings_can_be_null=False, quoted_strings_can_be_null=False,
                                                null_values=[], check_utf8=False))
    except (pa.ArrowInvalid, ValueError):
        return None
    n = table.num_rows + len(short)
    codes = np.empty((n, width), dtype=np.int64)
    full = np.ones(n, dtype=bool)
    full[list(short)] = False
    parts, offset = [], 0
    for j, column in enumerate(table.columns):
        column = column.unify_dictionaries() if column.num_chunks > 1 else column
        chunks = column.chunks
        values = chunks[0].dictionary if chunks else pa.array([], type=pa.string())
        index = (np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in chunks]) if chunks
                 else np.zeros(0, dtype=np.int64))
        codes[full, j] = index + offset
        # as _strip() does, in Arrow: no-break spaces as spaces, outer blanks removed
        values = pc.utf8_trim_whitespace(pc.replace_substring(values, "\xa0", " "))
        parts.append(values.to_numpy(zero_copy_only=False).astype(object))
        offset += len(values)
    rest = [v for r in short.values() for v in r[:width] + [""] * (width - len(r))]
    codes[~full] = (np.arange(len(rest)) + offset).reshape(-1, width) if rest else codes[~full]
    parts.append(_strip(rest))
    return codes, np.concatenate(parts) if parts else np.array([], dtype=object)


def _load(path: Path, name: str) -> list[_Sheet]:
    """Cells of every sheet; ``tables.UnreadableFile`` for an unsupported, empty, encrypted or broken file."""
    check_file(path)
    if path.suffix.lower() in TEXT_SUFFIXES:
        return _load_csv(path)
    return _load_book(path, name)


# --------------------------------------------------------------------------------------------------
# Header, levels, title block
# --------------------------------------------------------------------------------------------------

def _combine(upper: list[str], lower: list[str]) -> list[str]:
    """Two header rows as one: per column the cell that is a known header, lower row first."""
    n = max(len(upper), len(lower))
    upper, lower = upper + [""] * (n - len(upper)), lower + [""] * (n - len(lower))
    return [lo if _classify(lo) or not _classify(up) and lo else up for up, lo in zip(upper, lower)]


def _find_header(rows: list[list[str]]) -> tuple[int, int, list[str], int] | None:
    """(first header row, last header row, header texts, number of known headers) or None.

    The best row (or pair of rows, for two-row headers) has the most known headers, at least two, and a
    participant or a task column; single rows win ties, then earlier rows.
    """
    best, best_key = None, None
    for r in range(min(len(rows), SCAN_ROWS)):
        for span in (1, 2):
            if r + span > len(rows):
                continue
            heads = rows[r] if span == 1 else _combine(rows[r], rows[r + 1])
            kinds = [k[0] for k in map(_classify, heads) if k]
            if len(kinds) < 2 or not ({"task", "participant"} & set(kinds)):
                continue
            key = (len(kinds), -span, -r)
            if best_key is None or key > best_key:
                best, best_key = (r, r + span - 1, list(heads), len(kinds)), key
    return best


@dataclass(frozen=True)
class _Col:
    index: int
    header: str          # as in the file
    kind: str            # participant, variant, task, ..., ignore, unknown
    label: str = ""
    max_score: int = 0


@dataclass
class _Layout:
    first_row: int
    header_row: int
    cols: list[_Col]
    level_row: int | None = None
    levels: dict[int, str] = field(default_factory=dict)

    def of(self, kind: str) -> list[_Col]:
        return [c for c in self.cols if c.kind == kind]


def _find_levels(rows: list[list[str]], first_row: int, tasks: list[_Col]) -> tuple[int | None, dict[int, str]]:
    """The row just above the header (up to 3 rows up) holding only Б/П/В over the task columns."""
    for r in range(first_row - 1, max(-1, first_row - 4), -1):
        row = rows[r]
        vals = {c.index: normalise_header(row[c.index]) if c.index < len(row) else "" for c in tasks}
        filled = {i: v for i, v in vals.items() if v}
        if filled and all(v in ("б", "п", "в") for v in filled.values()):
            return r, {i: v.upper() for i, v in filled.items()}
    return None, {}


def _title_texts(rows: list[list[str]], stop: int, skip: set[int]) -> list[tuple[str, int]]:
    """(text, grid row) of title cells above the header; a label cell ending in «:» joins the next cell."""
    singles, pairs = [], []
    for r in range(min(stop, len(rows))):
        if r in skip:
            continue
        cells = list(dict.fromkeys(c for c in rows[r] if c))   # merged title cells repeat
        if sum(1 for c in cells if _classify(c)) >= 2:          # the upper row of a header, not a title
            continue
        singles += [(c, r) for c in cells]
        pairs += [(f"{a} {b}", r) for a, b in zip(cells, cells[1:]) if a.endswith(":")]
    return singles + pairs


def _meta_from_title(texts: list[tuple[str, int]]) -> dict[str, tuple[str, int]]:
    """Field → (raw value, grid row) found in the title block."""
    found: dict[str, tuple[str, int]] = {}
    for key, patterns in _META_RE.items():
        for pattern in patterns:          # pattern order is priority order
            hit = next(((m.group(1), r) for t, r in texts if (m := pattern.search(t))), None)
            if hit:
                found[key] = hit
                break
    return found


def meta_from_filename(name: str) -> dict[str, Any]:
    """Year, subject, grade and school login found in a file name.

    >>> meta_from_filename("VPR_2024_math_5_edu004001.xlsx")
    {'year': 2024, 'subject': 'math', 'grade': 5, 'school_id': 'edu004001'}
    """
    tokens = [t for t in re.split(r"[_\-\s.]+", Path(name).stem) if t]
    out: dict[str, Any] = {}
    for t in tokens:
        low = t.lower()
        if "year" not in out and re.fullmatch(r"20\d\d", t):
            out["year"] = int(t)
        elif "subject" not in out and subject_code(low) and (low in vocab.SUBJECTS or len(low) > 4):
            out["subject"] = subject_code(low)
        elif "grade" not in out and (m := re.fullmatch(r"(\d{1,2})(?:кл|класс)?", low)) \
                and int(m.group(1)) in vocab.VPR_GRADES:
            out["grade"] = int(m.group(1))
        elif "school_id" not in out and re.fullmatch(r"edu\d{4,}", low):
            out["school_id"] = t
    return out


# --------------------------------------------------------------------------------------------------
# Cell parsing (vectorised over a column)
# --------------------------------------------------------------------------------------------------

def _numbers(cells: np.ndarray) -> np.ndarray:
    """Text cells (any shape) as floats, NaN where not a number; a decimal comma «2,5» reads as 2.5.

    Each distinct text is parsed once (score columns repeat a handful of values).

    >>> _numbers(np.array([["1", "2,5", "X", ""], [" 3 ", "1 000", "1_0", "2"]], dtype=object)).tolist()
    [[1.0, 2.5, nan, nan], [3.0, 1000.0, nan, 2.0]]
    """
    return _Text.of(cells).per_value(_number, float)


def _number(text: Any) -> float:
    """One cell as a float, NaN when it is not a number."""
    if not isinstance(text, str):
        return np.nan
    s = text.strip()
    if not s or "_" in s or not any(ch.isdigit() for ch in s):   # float() accepts «1_0», «nan», «inf»
        return np.nan
    try:
        return float(s)
    except ValueError:
        pass
    try:
        return float(s.replace(" ", "").replace("\xa0", "").replace(",", "."))
    except ValueError:
        return np.nan


def _isin(cells: np.ndarray | _Text, values) -> np.ndarray:
    values = set(values)
    return _Text.of(cells).per_value(lambda v: v in values, bool)


def _map_unique(cells: np.ndarray | _Text, func) -> np.ndarray:
    """func applied once per distinct value (columns repeat a few values: variants, sexes, classes)."""
    return _Text.of(cells).per_value(func)


def _fullmatch(cells: np.ndarray | _Text, pattern: str) -> np.ndarray:
    """Which text cells match ``pattern`` as a whole (one compiled regex pass over the distinct texts, in
    Arrow's C++)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = _Text.of(cells)
    anchored = f"^(?:{pattern.removeprefix('^').removesuffix('$')})$"
    matched = pc.match_substring_regex(pa.array(t.values, type=pa.string()), anchored).to_numpy(zero_copy_only=False)
    return matched.astype(bool)[t.codes]


def _is_int(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(x) & (x == np.round(x))


def _int_array(x: np.ndarray, keep: np.ndarray) -> pd.arrays.IntegerArray:
    x = np.asarray(x, dtype=float)
    ok = keep & ~np.isnan(x)
    return pd.arrays.IntegerArray(np.where(ok, x, 0).astype("int64"), ~ok)


def _str_array(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Object values to the pandas "str" dtype; '' and None become missing."""
    v = np.asarray(values, dtype=object).copy()
    v[(v == "") | pd.isna(v)] = np.nan
    return pd.array(v, dtype="str")


class _Problems:
    """Problem records of one sheet."""

    def __init__(self, file: str, sheet: str | None):
        self.file, self.sheet, self.items = file, sheet, []

    def add(self, row: int | None, column: str | None, value: Any, rule: str, **kw: Any) -> None:
        self.items.append(problem(self.file, self.sheet, row, column, value, rule, **kw))

    def add_mask(self, mask: np.ndarray, rows: np.ndarray, column: str, values: np.ndarray, rule: str,
                 **kw: Any) -> None:
        for i in np.flatnonzero(mask):
            self.add(int(rows[i]), column, values[i], rule, **kw)


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------

def sniff_vpr(path: Path) -> bool:
    """Cheap check: does the file look like a FIS OKO ВПР export (a participant column and task columns)?

    >>> sniff_vpr(Path("no_such_file.csv"))
    False
    """
    path = Path(path)
    try:
        for rows in _peek(path):
            found = _find_header(rows)
            if found:
                kinds = {k[0] for k in map(_classify, found[2]) if k}
                if "participant" in kinds and kinds & {"task", "total"}:
                    return True
    except Exception:   # anything unreadable is simply not a ВПР file (the importer reports why)
        return False
    return False


def _peek(path: Path) -> list[list[list[str]]]:
    """The first rows of each sheet (at most 10) as text, read cheaply; ``tables.UnreadableFile`` as ``_load``."""
    check_file(path)
    if path.suffix.lower() in TEXT_SUFFIXES:
        with path.open("rb") as f:
            text = decode_text_file(f.read(65536), path.suffix, final=False)
        lines = text.splitlines()[:SCAN_ROWS]
        sep = _sniff_sep(lines)
        return [[[c.strip() for c in r] for r in csv.reader(lines, delimiter=sep)]]
    return [s.cells.tolist() for s in _load_book(path, path.name, SCAN_ROWS)[:10]]


def read_vpr(path: Path, scales: ScaleBook, *, year: int | None = None, subject: str | None = None,
             grade: int | None = None, school_id: str | None = None, name: str | None = None) -> VprRead:
    """Read one FIS OKO ВПР file (any of the three formats; .xlsx, .xlsm, .xlsb, .xls, .ods or text); never
    raises on bad data.

    Keyword arguments override what the file says (see the module docstring for where else the year,
    subject, grade and school come from). ``name`` is how the file is named in problems and ``source_file``
    (default: the file name; the importer passes the path relative to the import root); the metadata in a
    file name are always taken from the file's own name. A file that cannot be read at all comes back with
    one fatal problem of a ``tables.UnreadableFile`` rule (``encrypted``, ``empty_file``, ``corrupt_file``,
    ``unsupported_format``) and no rows. Example::

        read = read_vpr(Path("VPR_2024_math_5_edu004001.xlsx"), ScaleBook(load_scales()), name="004/VPR_….xlsx")
        read.works.loc[~read.works.absent, ["participant", "primary_score", "mark"]]
        read.problems.query("severity in ['fatal', 'error']")
    """
    path = Path(path)
    fname = name or path.name
    try:
        sheets = _load(path, fname)
    except UnreadableFile as exc:
        return _empty_read([exc.problem(fname)])
    except Exception as exc:   # permission denied, a vanished file: one fatal problem, no rows
        p = _Problems(fname, None)
        p.add(None, None, fname, "file_unreadable", detail=str(exc) or type(exc).__name__)
        return _empty_read(p.items)
    kwargs = {"year": year, "subject": subject, "grade": grade, "school_id": school_id}
    from_name = meta_from_filename(path.name)
    parts, problems, formats = [], [], []
    first_tasks: pd.DataFrame | None = None
    for sheet in sheets:
        p = _Problems(fname, sheet.name)
        rows = sheet.cells[:SCAN_ROWS].tolist()
        found = _find_header(rows)
        if not found:
            if sheet.name is not None and len(sheets) > 1 and (sheet.cells != "").any():   # empty sheets: silence
                p.add(None, None, sheet.name, "extra_sheet")
                problems += p.items
            continue
        works, tasks, fmt = _read_sheet(sheet, found, p, scales, kwargs, from_name)
        if first_tasks is None:
            first_tasks = tasks
        elif not tasks[["task", "max_score"]].reset_index(drop=True).equals(
                first_tasks[["task", "max_score"]].reset_index(drop=True)):
            p.add(found[1] + 1, None, None, "task_list_mismatch",
                  detail=f"задания на листе «{sheet.name}» не совпадают с первым листом")
        parts.append(works)
        problems += _sorted(p.items)
        formats.append(fmt)
    if not parts:
        p = _Problems(fname, None if len(sheets) != 1 else sheets[0].name)
        p.add(None, None, None, "no_header",
              detail="нет строки со столбцами «Код» и заданиями вида «1 (2б)» в первых 60 строках")
        return _empty_read(problems + p.items)
    works = _typed(pd.concat(parts, ignore_index=True)) if len(parts) > 1 else parts[0]
    works = works[_ordered_columns(works.columns)]
    return VprRead(works=works, tasks=first_tasks, problems=frame(problems), rows_read=len(works), format=formats[0])


def _empty_read(items: list[dict]) -> VprRead:
    return VprRead(works=_typed(pd.DataFrame({c: [] for c in BASE_COLUMNS + SOURCE_COLUMNS})),
                   tasks=_tasks_frame([], None, None, None, {}), problems=frame(items), rows_read=0, format="unknown")


def _sorted(items: list[dict]) -> list[dict]:
    """File-level problems first, then by row (stable)."""
    return sorted(items, key=lambda d: -1 if d["row"] is None else d["row"])


def _ordered_columns(columns) -> list[str]:
    tasks = sorted(c for c in columns if re.fullmatch(r"task_\d{2}", c))
    return BASE_COLUMNS + tasks + SOURCE_COLUMNS


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    for c in df.columns:
        if c in STR_COLUMNS:
            df[c] = df[c].astype("str")
        elif c in INT_COLUMNS or c.startswith("task_"):
            df[c] = df[c].astype("Int64")
        elif c == "absent":
            df[c] = df[c].astype("boolean")
    return df


def _build_layout(sheet: _Sheet, found: tuple, p: _Problems) -> _Layout:
    """Columns of the table with their kinds; unknown and duplicate headers reported."""
    first_row, header_row, heads, _ = found
    cols: list[_Col] = []
    data = sheet.cells[header_row + 1:]
    n_tasks = 0
    for i, text in enumerate(heads):
        kind = _classify(text)
        if not text:
            if i < data.shape[1] and (data[:, i] != "").any():
                p.add(header_row + 1, None, f"без заголовка, столбец {_col_letter(i)}", "unknown_column")
            continue
        if kind is None:
            like = similar_to(text)
            p.add(header_row + 1, text, text, "similar_column" if like else "unknown_column", detail=like or "")
            continue
        if kind[0] == "task":
            n_tasks += 1
            if n_tasks > vocab.MAX_TASK_SLOTS:   # no slot left to put it in
                p.add(header_row + 1, text, text, "unknown_column")
                continue
        # «Вариант» may come twice (merged over two columns, or «Вариант (часть 1)» and «… (часть 2)»)
        same = (lambda c: c.kind == "variant") if kind[0] == "variant" else (lambda c: (c.kind, c.label) == kind[:2])
        limit = 2 if kind[0] == "variant" else 1
        if kind[0] != "ignore" and sum(1 for c in cols if same(c)) >= limit:
            p.add(header_row + 1, text, text, "duplicate_column")
            continue
        cols.append(_Col(i, text, *kind))
    layout = _Layout(first_row, header_row, cols)
    layout.level_row, layout.levels = _find_levels(sheet.cells[:first_row].tolist(), first_row, layout.of("task"))
    return layout


def _col_letter(i: int) -> str:
    s, i = "", i + 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _resolve_meta(title: dict[str, tuple[str, int]], kwargs: dict, from_name: dict, needs_school: bool,
                  p: _Problems) -> dict[str, Any]:
    """Year, subject, grade, school, municipality: kwargs, then title, then file name; missing → fatal."""
    out: dict[str, Any] = {}
    parsers = {"year": _as_year, "subject": subject_code, "grade": _as_grade, "school_id": _as_id, "municipality": _as_id}
    for key, parse in parsers.items():
        candidates = [kwargs.get(key), title.get(key, (None,))[0], from_name.get(key)]
        value, bad = None, None
        for origin, raw in enumerate(candidates):
            if raw is None or raw == "":
                continue
            value = parse(raw)
            if value is not None:
                break
            bad = raw
            if origin == 0:   # what the caller asked for explicitly is not silently replaced by the file's
                break
        out[key] = value
        required = key in ("year", "subject", "grade") or (key == "school_id" and needs_school)
        if value is None and required:
            detail = (f"значение «{bad}» не распознано" if bad is not None else
                      "не найдено ни в параметрах чтения, ни в шапке файла, ни в имени файла")
            p.add(None, REQUIRED_NAMES[key], REQUIRED_NAMES[key], "missing_metadata", detail=detail)
    return out


def _as_year(v: Any) -> int | None:
    try:
        y = int(str(v).strip())
    except ValueError:
        return None
    return y if 2000 <= y <= 2100 else None


def _as_grade(v: Any) -> int | None:
    try:
        g = int(str(v).strip())
    except ValueError:
        return None
    return g if g in vocab.VPR_GRADES else None


def _as_id(v: Any) -> str | None:
    s = cell_text(v)
    return s if re.fullmatch(ID_PATTERN, s) else None


def _read_sheet(sheet: _Sheet, found: tuple, p: _Problems, scales: ScaleBook, kwargs: dict,
                from_name: dict) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Works, tasks and format of one sheet whose header was found; problems go to ``p``."""
    layout = _build_layout(sheet, found, p)
    skip = {layout.level_row} if layout.level_row is not None else set()
    texts = _title_texts(sheet.cells[:layout.first_row].tolist(), layout.first_row, skip)
    title = _meta_from_title(texts)
    is_region = bool(layout.of("school_id"))
    is_f1 = any(_F1_MARKERS.search(t) for t, _ in texts) or layout.level_row is not None
    fmt = "region_protocol" if is_region else "f1" if is_f1 else "school_form"
    _report_missing_columns(layout, p)
    meta = _resolve_meta(title, kwargs, from_name, not is_region, p)
    task_cols = layout.of("task")
    if "max_primary" in title and task_cols:
        declared, r = int(title["max_primary"][0]), title["max_primary"][1]
        total = sum(c.max_score for c in task_cols)
        if declared != total:
            p.add(r + 1, None, declared, "task_list_mismatch",
                  detail=f"максимальный первичный балл в шапке {declared}, сумма максимумов заданий {total}")
    tasks = _tasks_frame(task_cols, meta["year"], meta["subject"], meta["grade"], layout.levels)
    works = _read_rows(sheet, layout, meta, p, scales)
    return works, tasks, fmt


def _report_missing_columns(layout: _Layout, p: _Problems) -> None:
    """No participant code, or neither task scores nor a total: fatal. Only totals, or no journal mark:
    a warning naming the analysis the file cannot feed."""
    if not layout.of("participant"):
        p.add(None, REQUIRED_NAMES["participant"], REQUIRED_NAMES["participant"], "missing_column",
              detail=f"строка заголовка {layout.header_row + 1}")
    if not layout.of("task"):
        if layout.of("total"):
            p.add(None, REQUIRED_NAMES["task"], REQUIRED_NAMES["task"], "no_task_scores")
        else:
            p.add(None, REQUIRED_NAMES["task"], REQUIRED_NAMES["task"], "missing_column",
                  detail=f"строка заголовка {layout.header_row + 1}")
    if not layout.of("journal_mark"):
        p.add(None, "Отметка по журналу", "Отметка по журналу", "no_journal_mark")


def _tasks_frame(task_cols: list[_Col], year, subject, grade, levels: dict[int, str]) -> pd.DataFrame:
    n = len(task_cols)
    return pd.DataFrame({
        "year": pd.array([year] * n, dtype="Int64"),
        "subject": pd.array([subject] * n, dtype="str"),
        "grade": pd.array([grade] * n, dtype="Int64"),
        "position": pd.array(range(1, n + 1), dtype="Int64"),
        "task": pd.array([c.label for c in task_cols], dtype="str"),
        "max_score": pd.array([c.max_score for c in task_cols], dtype="Int64"),
        "level": pd.array([levels.get(c.index) for c in task_cols], dtype="str"),
        "skill": pd.array([None] * n, dtype="str"),
    }, columns=TASK_COLUMNS_ORDER)


def _data_rows(sheet: _Sheet, layout: _Layout, p: _Problems) -> np.ndarray:
    """Grid indices of the non-empty rows below the header; empty rows between data rows reported as info."""
    start = layout.header_row + 1
    filled = (sheet.cells[start:] != "").any(axis=1) if sheet.cells.shape[1] else np.zeros(0, dtype=bool)
    if not filled.any():
        return np.zeros(0, dtype=int)
    last = np.flatnonzero(filled)[-1]
    for i in np.flatnonzero(~filled[:last]):    # trailing blank rows are not worth a message
        p.add(int(start + i) + 1, None, None, "empty_row")
    return start + np.flatnonzero(filled)


def _read_rows(sheet: _Sheet, layout: _Layout, meta: dict, p: _Problems, scales: ScaleBook) -> pd.DataFrame:
    """One works row per non-empty data row with all cell checks, duplicates and recomputation."""
    idx = _data_rows(sheet, layout, p)
    n, rows = len(idx), idx + 1

    def text(col: _Col) -> _Text:
        return sheet.text(idx, col.index)

    def numeric(col: _Col) -> np.ndarray:
        return sheet.numeric[idx, col.index] if sheet.numeric is not None else np.zeros(n, dtype=bool)

    out: dict[str, Any] = {}
    absent, out["variant"] = _parse_variants(layout.of("variant"), text, rows, p, n)
    # Ids stay text with their leading zeros; numbers in xlsx are flagged: zeros may already be lost.
    for kind, required, pattern in (("participant", True, _PARTICIPANT_RE), ("school_id", True, ID_PATTERN),
                                    ("municipality", False, None)):
        if layout.of(kind):
            col = layout.of(kind)[0]
            out[kind] = _parse_id(col, text(col), numeric(col), rows, p, required, pattern)
    if layout.of("class_label"):
        out["class_label"] = _str_array(_map_unique(text(layout.of("class_label")[0]), _canon_class))
    if layout.of("sex"):
        out["sex"] = _parse_sex(layout.of("sex")[0], text(layout.of("sex")[0]), rows, p)
    if layout.of("journal_mark"):
        col = layout.of("journal_mark")[0]
        out["journal_mark"] = _parse_mark(col, text(col), rows, p, np.zeros(n, dtype=bool))
    # Scores are checked only for pupils who wrote the work; an absent pupil's scores are ignored.
    task_cols = layout.of("task")
    block = sheet.text(idx, [c.index for c in task_cols])
    scores, task_errors, scored = _parse_tasks(task_cols, block, rows, p, absent)
    signs = [(scored[:, j], c.header, block.cells[:, j]) for j, c in enumerate(task_cols)]
    for kind, name in (("total", "primary_score_reported"), ("mark", "mark_reported")):
        if layout.of(kind):
            col = layout.of(kind)[0]
            t = text(col)
            parse = _parse_total if kind == "total" else _parse_mark
            out[name] = parse(col, t, rows, p, absent)
            signs.append(((t.cells != "") & ~_isin(t, _NOT_DONE), col.header, t.cells))
    _report_absent_with_scores(signs, absent, rows, p)

    columns: dict[str, Any] = {}
    for c in BASE_COLUMNS:
        if c in out:
            columns[c] = out[c]
        elif c in ("year", "grade"):
            columns[c] = pd.array([meta[c]] * n, dtype="Int64")
        elif c in ("subject", "school_id", "municipality"):
            columns[c] = pd.array([meta[c]] * n, dtype="str")
        elif c == "absent":
            columns[c] = pd.array(absent, dtype="boolean")
        elif c in STR_COLUMNS:
            columns[c] = pd.array([None] * n, dtype="str")
        else:
            columns[c] = pd.array([None] * n, dtype="Int64")
    valid = ~np.isnan(scores)
    for j in range(len(task_cols)):
        columns[f"task_{j + 1:02d}"] = _int_array(scores[:, j], valid[:, j])
    columns["source_file"] = pd.array([p.file] * n, dtype="str")
    columns["source_sheet"] = pd.array([p.sheet] * n, dtype="str")
    columns["source_row"] = pd.array(rows, dtype="Int64")
    works = pd.DataFrame(columns, index=pd.RangeIndex(n))
    # primary = sum of task scores, not done (NA) counts 0; absent pupils have none.
    # Without task columns (a file of totals only) the file's total is the primary score.
    if task_cols:
        works["primary_score"] = _int_array(np.where(valid, scores, 0).sum(axis=1), ~absent)
    elif "primary_score_reported" in out:
        works["primary_score"] = works["primary_score_reported"].copy()
    else:
        works["primary_score"] = _int_array(np.full(n, np.nan), np.zeros(n, dtype=bool))
    _report_duplicates(works, layout, p)
    _recompute_mark(works, layout, task_errors, meta, scales, p)
    return works


def _parse_variants(cols: list[_Col], text, rows: np.ndarray, p: _Problems, n: int):
    """(absent flags, variant numbers) from one or two «Вариант» columns.

    Two columns of one «Вариант» (merged header): the numbers must agree and an absence word in either marks
    the pupil absent. Two parts («Вариант (часть 1)», «Вариант (часть 2)»): each part has its own variant;
    the pupil is absent only when absent from every part, and the variant is that of the first part written.
    """
    parts = len(cols) > 1 and len({c.label for c in cols}) == len(cols)
    absent = np.zeros(n, dtype=bool)
    absent_all = np.ones(n, dtype=bool)
    variant = np.full(n, np.nan)
    for col in cols:
        t = text(col)
        is_absent = _map_unique(t, lambda v: bool(re.match(_ABSENT_PAT, normalise_header(v)))).astype(bool)
        x = _numbers(t)
        ok = _is_int(x)
        p.add_mask((t.cells != "") & ~is_absent & ~ok, rows, col.header, t.cells, "not_an_integer")
        bad_range = ok & ((x < 1) | (x > 99))
        p.add_mask(bad_range, rows, col.header, t.cells, "out_of_range", allowed="1–99")
        ok &= ~bad_range
        if not parts:
            conflict = ok & ~np.isnan(variant) & (variant != x)
            p.add_mask(conflict, rows, col.header, t.cells, "row_rule",
                       detail="«в двух столбцах «Вариант» разные номера»")
        variant = np.where(np.isnan(variant) & ok, x, variant)
        absent |= is_absent
        absent_all &= is_absent | (t.cells == "")
    if parts:
        absent &= absent_all
    return absent, _int_array(variant, ~absent)


def _parse_id(col: _Col, text: _Text, numeric: np.ndarray, rows, p: _Problems, required: bool,
              pattern: str | None):
    t = text.cells
    empty = t == ""
    p.add_mask(numeric & ~empty, rows, col.header, t, "id_as_number")
    if required:
        p.add_mask(empty, rows, col.header, t, "required_empty")
    if pattern:
        matches = _fullmatch(text, pattern)
        allowed = "цифры, например 01234" if pattern == _PARTICIPANT_RE else "буквы, цифры, «_» и «-», например edu004001"
        p.add_mask(~empty & ~matches, rows, col.header, t, "pattern_mismatch", allowed=allowed)
    return _str_array(t)


def _parse_sex(col: _Col, t: _Text, rows, p: _Problems):
    mapped = _map_unique(t, lambda v: _SEXES.get(normalise_header(v)))
    p.add_mask((t.cells != "") & pd.isna(mapped), rows, col.header, t.cells, "not_allowed", allowed="М, Ж")
    return _str_array(mapped)


def _parse_mark(col: _Col, t: _Text, rows, p: _Problems, skip: np.ndarray):
    """A mark 2..5 (journal or reported); «-», «н/а» mean no mark. Rows in ``skip`` are not checked."""
    x = _numbers(t)
    ok = _is_int(x)
    blank = (t.cells == "") | _isin(t, _NO_MARK)
    p.add_mask(~blank & ~ok & ~skip, rows, col.header, t.cells, "not_an_integer")
    outside = ok & ~np.isin(x, vocab.MARKS)
    p.add_mask(outside & ~skip, rows, col.header, t.cells, "mark_outside_scale")
    return _int_array(x, ok & ~outside & ~skip)


def _parse_total(col: _Col, t: _Text, rows, p: _Problems, skip: np.ndarray):
    x = _numbers(t)
    ok = _is_int(x)
    blank = (t.cells == "") | _isin(t, _NOT_DONE)
    p.add_mask(~blank & ~ok & ~skip, rows, col.header, t.cells, "not_an_integer")
    negative = ok & (x < 0)
    p.add_mask(negative & ~skip, rows, col.header, t.cells, "out_of_range", allowed="0 и больше")
    return _int_array(x, ok & ~negative & ~skip)


def _parse_tasks(cols: list[_Col], block: _Text, rows: np.ndarray, p: _Problems, absent: np.ndarray):
    """(scores as floats with NaN, per-row error flags, 'a score is written' flags) of the task block."""
    x = _numbers(block)
    ok = _is_int(x)
    written = (block.cells != "") & ~_isin(block, _NOT_DONE)
    maxima = np.array([c.max_score for c in cols], dtype=float)
    present = ~absent[:, None]
    checks = (("not_an_integer", written & ~ok, lambda c: {}),
              ("out_of_range", ok & (x < 0), lambda c: {"allowed": f"0–{c.max_score}"}),
              ("score_above_max", ok & (x > maxima), lambda c: {"allowed": str(c.max_score)}))
    errors = np.zeros(block.cells.shape, dtype=bool)
    for rule, mask, kw in checks:
        mask = mask & present
        for i, j in np.argwhere(mask):
            p.add(int(rows[i]), cols[j].header, block.cells[i, j], rule, **kw(cols[j]))
        errors |= mask
    scores = np.where(ok & ~errors & present, x, np.nan)
    return scores, errors.any(axis=1), written


def _report_absent_with_scores(signs: list, absent: np.ndarray, rows: np.ndarray, p: _Problems) -> None:
    """One warning per absent pupil with something in a score cell (the first such cell is named)."""
    done = ~absent
    for mask, header, t in signs:
        new = mask & ~done
        p.add_mask(new, rows, header, t, "absent_with_scores")
        done |= new


def _report_duplicates(works: pd.DataFrame, layout: _Layout, p: _Problems) -> None:
    """Same participant code twice in one class of one school: error on the later row."""
    cols = layout.of("participant")
    if not cols or works.empty:
        return
    # one integer per (school, class, code) from each column's factor codes: duplicated() on it is cheap
    key = np.zeros(len(works), dtype=np.int64)
    for c in ("school_id", "class_label", "participant"):
        codes, uniques = pd.factorize(works[c], use_na_sentinel=True)
        key = pd.factorize(key * (len(uniques) + 1) + (codes + 1))[0].astype(np.int64)   # stays < rows
    dup = pd.Series(key).duplicated(keep="first").to_numpy() & works["participant"].notna().to_numpy()
    if not dup.any():
        return
    keys = works[["school_id", "class_label", "participant"]].fillna("\x00")
    first = works["source_row"].groupby([keys[c] for c in keys.columns]).transform("first")
    for i in np.flatnonzero(dup):
        r = works.iloc[i]
        cls = r["class_label"] if pd.notna(r["class_label"]) else "—"
        p.add(int(r["source_row"]), cols[0].header, r["participant"], "duplicate_key",
              detail=f"(ОО {r['school_id']}, класс {cls}, код участника {r['participant']})", other=int(first.iat[i]))


def _recompute_mark(works: pd.DataFrame, layout: _Layout, task_errors: np.ndarray, meta: dict, scales: ScaleBook,
                    p: _Problems) -> None:
    """mark from the scale; the file's total and mark compared with the recomputed ones (warnings)."""
    key = (meta["year"], meta["subject"], meta["grade"])
    if None not in key and scales.get(*key) is None:
        p.add(None, None, None, "no_scale", detail=f"{key[0]} год, {vocab.SUBJECTS.get(key[1], key[1])}, {key[2]} класс")
    if None not in key and scales.get(*key) is not None:
        works["mark"] = scales.marks(*key, works["primary_score"]).astype("Int64")
    absent = works["absent"].to_numpy(dtype=bool)
    rows = works["source_row"].to_numpy()
    checks = (("total", "primary_score", "primary_mismatch", lambda v: f"сумма по заданиям {v}"),
              ("mark", "mark", "mark_mismatch", lambda v: f"по шкале {v}"))
    for kind, column, rule, detail in checks:
        if not layout.of(kind):
            continue
        reported, computed = works[f"{column}_reported"], works[column]
        r, c = (x.to_numpy(dtype=float, na_value=np.nan) for x in (reported, computed))
        with np.errstate(invalid="ignore"):
            differs = ~np.isnan(r) & ~np.isnan(c) & (r != c)
        differs &= ~task_errors & ~absent     # a broken score cell already explains the difference
        for i in np.flatnonzero(differs):
            p.add(int(rows[i]), layout.of(kind)[0].header, reported.iat[i], rule, detail=detail(computed.iat[i]))


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------

@dataclass
class _Table:
    preamble: list[list[str]]
    levels: list[str] | None
    header: list[str]
    body: np.ndarray            # text cells (object matrix), one column per header
    kinds: list[str]            # per column: id (text), int, task, total, text
    sheet: str


def write_vpr(works: pd.DataFrame, tasks: pd.DataFrame, path: Path, fmt: str, *, style: VprStyle | None = None) -> None:
    """Write works of one (year, subject, grade) as a FIS OKO-like file; .xlsx or .csv by the suffix.

    ``school_form`` and ``f1`` take one school; ``region_protocol`` any number. Task slots task_NN are
    labelled by ``tasks`` (position, task, max_score, level). The total and mark written are
    ``primary_score_reported`` / ``mark_reported`` where given, else ``primary_score`` / ``mark``. A title
    block above the table carries year, subject, grade, school (and «Код АТЕ» when ``municipality`` is
    set), so the reader needs nothing from the file name; ids are written as text. Example: ``write_vpr(works, tasks, Path("VPR_2024_math_5_edu004001.xlsx"), "school_form",
    style=VprStyle(not_done="Х", two_variant_columns=True))``.
    """
    style = style or VprStyle()
    path = Path(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"unsupported suffix {suffix!r}: use .csv or .xlsx")
    table = _table(works.reset_index(drop=True), tasks.sort_values("position").reset_index(drop=True), fmt, style)
    if suffix == ".csv":
        _write_csv(table, path, style)
    else:
        _write_xlsx(table, path, style)


def _single(works: pd.DataFrame, column: str, required: bool = True) -> Any:
    values = works[column].dropna().unique() if column in works else []
    if len(values) > 1:
        raise ValueError(f"one file holds one {column}; got {sorted(map(str, values))}")
    if not len(values):
        if required:
            raise ValueError(f"works has no {column}")
        return None
    v = values[0]
    return v.item() if hasattr(v, "item") else v


def _floats(works: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Numeric columns as a float matrix (NaN where missing or absent from ``works``)."""
    out = np.full((len(works), len(columns)), np.nan)
    for j, c in enumerate(columns):
        if c in works:
            out[:, j] = pd.to_numeric(works[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return out


def _int_cells(x: np.ndarray) -> np.ndarray:
    """Floats as integer text, '' where NaN (any shape)."""
    out = np.full(x.shape, "", dtype=object)
    ok = ~np.isnan(x)
    out[ok] = x[ok].astype(np.int64).astype(str)
    return out


def _str_cells(works: pd.DataFrame, column: str) -> np.ndarray:
    if column not in works:
        return np.full(len(works), "", dtype=object)
    return works[column].astype(object).where(works[column].notna(), "").astype(str).to_numpy(dtype=object)


def _table(works: pd.DataFrame, tasks: pd.DataFrame, fmt: str, style: VprStyle) -> _Table:
    """Preamble, level row, header and body (a text matrix) of the file to write."""
    year, subject, grade = _single(works, "year"), _single(works, "subject"), _single(works, "grade")
    school = _single(works, "school_id") if fmt != "region_protocol" else None
    municipality = _single(works, "municipality", required=False) if fmt != "region_protocol" else None
    n = len(works)
    absent = works["absent"].fillna(False).to_numpy(dtype=bool) if "absent" in works else np.zeros(n, dtype=bool)

    slot_cols = [f"task_{int(p):02d}" for p in tasks["position"]]
    scores = _floats(works, slot_cols)
    task_text = _int_cells(scores)
    task_text[task_text == ""] = style.not_done          # not done → X …
    task_text[absent] = ""                                # … absent pupils have empty task cells
    num = _floats(works, ["primary_score_reported", "primary_score", "mark_reported", "mark", "variant", "journal_mark"])
    total = np.where(np.isnan(num[:, 0]), num[:, 1], num[:, 0])
    total = np.where(np.isnan(total) & ~absent, np.where(np.isnan(scores), 0, scores).sum(axis=1), total)
    mark = np.where(np.isnan(num[:, 2]), num[:, 3], num[:, 2])
    total_text, mark_text = _int_cells(total), _int_cells(mark)
    total_text[absent] = ""
    mark_text[absent] = ""
    variant = _int_cells(num[:, 4])

    cols: dict[str, tuple[str, str, np.ndarray]] = {   # key → (header, kind, cells); kind drives xlsx types
        "participant": ("Код" if fmt != "f1" else "Код участника", "id", _str_cells(works, "participant")),
        "class_label": ("Класс", "id", _str_cells(works, "class_label")),
        "sex": ("Пол", "id", _str_cells(works, "sex")),
        "journal_mark": (style.journal_header, "int", _int_cells(num[:, 5])),
        "total": (style.total_header, "total", total_text),
        "mark": ("Отметка", "int", mark_text),
        "school_id": ("Логин ОО", "id", _str_cells(works, "school_id")),
        "municipality": ("Код АТЕ", "id", _str_cells(works, "municipality")),
    }
    if style.two_variant_columns:   # number in the first column, the absence word in the second
        variant_cols = [("Вариант", "int", np.where(absent, "", variant)),
                        ("Вариант", "text", np.where(absent, style.absent_word, ""))]
    else:
        variant_cols = [("Вариант", "int", np.where(absent, style.absent_word, variant))]
    task_part = [(f"{label} ({int(m)}б)", "task", task_text[:, j])
                 for j, (label, m) in enumerate(zip(tasks["task"], tasks["max_score"]))]

    def pick(*names: str) -> list[tuple[str, str, np.ndarray]]:
        return [cols[k] for k in names]

    if fmt == "school_form":
        order = pick("participant") + variant_cols + task_part + pick("class_label", "sex", "journal_mark", "total", "mark")
    elif fmt == "f1":
        order = pick("class_label", "participant") + variant_cols + task_part + pick("total", "mark", "journal_mark", "sex")
    else:
        lead = pick("municipality") if "municipality" in works and works["municipality"].notna().any() else []
        order = lead + pick("school_id", "class_label", "participant") + variant_cols + task_part + \
            pick("sex", "journal_mark", "total", "mark")
    header = [h for h, _, _ in order]
    kinds = [k for _, k, _ in order]
    body = np.empty((n, len(order)), dtype=object)
    for j, (_, _, cells) in enumerate(order):
        body[:, j] = cells

    label = vocab.SUBJECTS.get(subject, subject)
    levels = None
    if fmt == "school_form":
        meta_row = [f"Год: {year}", f"Предмет: {label}", f"Класс: {grade}", f"Логин ОО: {school}"]
        meta_row += [f"Код АТЕ: {municipality}"] if municipality is not None else []
        preamble = [["Форма сбора результатов ВПР"], meta_row, []]
    elif fmt == "f1":
        name = _single(works, "school_name", required=False) if "school_name" in works else None
        school_line = f"({school}) {name + ' ' if name else ''}Кол-во участников: {int((~absent).sum())}"
        preamble = [["Ф1. Индивидуальные результаты участников"], [f"Всероссийские проверочные работы {year}"],
                    [f"Предмет: {label}"], [f"Класс: {grade}"],
                    [f"Максимальный первичный балл: {int(tasks['max_score'].sum())}"],
                    [f"Дата: {style.work_date or year}"]]
        preamble += [[f"Код АТЕ: {municipality}"]] if municipality is not None else []
        preamble += [[school_line]]
        task_levels = iter(tasks["level"] if "level" in tasks else [None] * len(tasks))
        levels = [("" if pd.isna(lv := next(task_levels)) else str(lv)) if k == "task" else "" for k in kinds]
        levels[0] = "Уровень сложности"
    else:
        preamble = [["Протокол проверки результатов ВПР (региональный уровень)"],
                    [f"Год: {year}", f"Предмет: {label}", f"Класс: {grade}"], []]
    sheet = {"school_form": "Результаты", "f1": "Ф1", "region_protocol": "Протокол"}[fmt]
    return _Table(preamble, levels, header, body, kinds, sheet)


def _write_csv(table: _Table, path: Path, style: VprStyle) -> None:
    with path.open("w", encoding=style.encoding, newline="") as f:
        w = csv.writer(f, delimiter=style.sep, lineterminator="\n")
        w.writerows(table.preamble)
        if table.levels:
            w.writerow(table.levels)
        w.writerow(table.header)
        pd.DataFrame(table.body).to_csv(f, sep=style.sep, header=False, index=False, lineterminator="\n")


def _write_xlsx(table: _Table, path: Path, style: VprStyle) -> None:
    import xlsxwriter
    from xlsxwriter.utility import xl_col_to_name

    # Ids must stay text: never let xlsxwriter turn «01234» into a number. A fixed creation date keeps
    # the same input byte-identical (deterministic demo files); in_memory avoids temporary files.
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False, "in_memory": True})
    wb.set_properties({"created": XLSX_CREATED})
    ws = wb.add_worksheet(table.sheet)
    bold = wb.add_format({"bold": True, "text_wrap": True, "align": "center", "valign": "vcenter", "border": 1})
    as_text = wb.add_format({"num_format": "@"})
    r = 0
    for row in table.preamble:
        ws.write_row(r, 0, row)
        r += 1
    if table.levels:
        ws.write_row(r, 0, table.levels)
        r += 1
    header_row = r
    c = 0
    while c < len(table.header):
        if table.kinds[c:c + 2] == ["int", "text"] and table.header[c:c + 2] == ["Вариант", "Вариант"]:
            ws.merge_range(header_row, c, header_row, c + 1, "Вариант", bold)   # merged over both columns
            c += 2
            continue
        ws.write_string(header_row, c, table.header[c], bold)
        c += 1
    for c, kind in enumerate(table.kinds):
        if kind == "id":
            ws.set_column(c, c, 12, as_text)
    numeric = [k in ("int", "task", "total") for k in table.kinds]
    task_idx = [i for i, k in enumerate(table.kinds) if k == "task"]
    total_idx = table.kinds.index("total") if "total" in table.kinds else None
    for i, values in enumerate(table.body.tolist()):
        rr = header_row + 1 + i
        cells = [None if v == "" else int(v) if numeric[j] and _is_digits(v) else v for j, v in enumerate(values)]
        ws.write_row(rr, 0, cells)
        if style.formula_totals and total_idx is not None and task_idx and cells[total_idx] is not None:
            rng = f"{xl_col_to_name(task_idx[0])}{rr + 1}:{xl_col_to_name(task_idx[-1])}{rr + 1}"
            ws.write_formula(rr, total_idx, f"=SUM({rng})", None, cells[total_idx])
    wb.close()


def _is_digits(v: str) -> bool:
    return v.isdigit() or (v[:1] == "-" and v[1:].isdigit())
