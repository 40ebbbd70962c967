"""ОГЭ/ЕГЭ «Протокол проверки результатов» of a regional processing centre (РЦОИ): reader, writer, school rows.

Layout (``.xlsx``, ``.xls``, ``.ods`` through ``tables.read_raw`` — python-calamine; ``.csv`` in UTF-8, UTF-16 or cp1251):
one sheet holds several exams, each a *block*: a title area, a header row, the pupils, optionally a footer.

* title area — any non-empty rows above a block's header, e.g. «Протокол проверки результатов ОГЭ по
  математике, 23.05.2026», «Предмет: Математика  Дата экзамена: 23.05.2026» (label and value may sit in
  separate cells, the date may be an Excel date), «ЕГЭ. Математика профильного уровня. 08.06.2026»,
  «Экзамен: ОГЭ», «Код АТЕ: 004». The exam (ОГЭ/ЕГЭ), year and municipality carry over to the next block
  when its title does not repeat them; subject and date never do.
* header — «№ п/п | Фамилия | Имя | Отчество | Серия документа | Номер документа | Код ОО | Класс |
  Код ППЭ | Аудитория | Задания с кратким ответом | Задания с развёрнутым ответом | Первичный балл |
  Отметка» (ЕГЭ: «Тестовый балл»; a combined «Отметка (для ЕГЭ: Тестовый балл)» is read by the block's
  exam). A header repeated on a new page without a title continues the block.
* pupil rows — short answers as a string of «+»/«-» and digits (points of multi-point tasks, e.g.
  «++-+0++-2»), long answers as «score(max)» per task («1(2)2(3)0(2)»), primary score, mark 2–5 (ОГЭ and
  ЕГЭ по математике базового уровня) or test score 0–100 (ЕГЭ).
* footer — signatures («Председатель ГЭК …», «Руководитель РЦОИ …»), «Итого …», «Страница 1 из 2»: skipped.

Where the exam, subject and year come from, first found wins: the keyword arguments of
:func:`read_exam_protocol` (a disagreeing title is reported as a warning), the block's title area, the
previous block, the file name (``OGE_2026_004.xlsx``), and for the exam the header («Тестовый балл» → ЕГЭ).

Personal data — surname, name, patronymic, full name, document series and number, birth date, СНИЛС — are
never read into any returned frame: their headers are listed in ``dropped_personal``, and a problem's value
that contains any of a sheet's personal cell values (a shifted row) is replaced by «[скрыто]».

Subjects use the codes of ``workbench.vocab.SUBJECTS`` plus ``math_base`` (ЕГЭ по математике базового
уровня, a mark 2–5 and no test score; ``schemas.EXAM_SUBJECTS``). ``math`` is ОГЭ mathematics and ЕГЭ
mathematics of the profile level.

Example
-------
>>> import tempfile
>>> pupils = pd.DataFrame({"exam": "ОГЭ", "subject": "math", "exam_date": pd.Timestamp("2026-05-23"),
...     "school_id": ["edu004001", "edu004002"], "class_label": "9А", "ppe": "0401", "auditorium": "0012",
...     "short_answers": ["++-+", "+---"], "long_answers": ["1(2)0(2)", "0(2)0(2)"],
...     "primary_score": [4, 1], "mark": [3, 2]})
>>> path = Path(tempfile.mkdtemp()) / "OGE_2026.xlsx"
>>> write_exam_protocol(pupils, path)
2
>>> read = read_exam_protocol(path)
>>> read.results[["school_id", "subject", "primary_score", "n_short_correct", "long_score", "mark"]].values.tolist()
[['edu004001', 'math', 4, 3, 1, 3], ['edu004002', 'math', 1, 1, 0, 2]]
>>> read.dropped_personal
['Фамилия', 'Имя', 'Отчество', 'Серия документа', 'Номер документа']
>>> school_exams(read.results)[["school_id", "participants", "mean_score", "n_below_min"]].values.tolist()
[['edu004001', 1, 4.0, 0], ['edu004002', 1, 1.0, 1]]
"""
from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.data import problems as P
from workbench import vocab
from workbench.data.fisoko import cell_text as _text   # one cell as text, the same for every reader
from workbench.paths import PARAMS_DIR
from workbench.data.schemas import EXAM_SUBJECTS, ID_PATTERN, MUNICIPALITY_PATTERN

RESULT_COLUMNS = ["year", "municipality", "school_id", "exam", "subject", "exam_date", "class_label", "ppe",
                  "auditorium", "variant", "primary_score", "mark", "test_score", "short_answers", "n_short_correct",
                  "short_score", "long_answers", "long_score", "long_max"]
SOURCE_COLUMNS = ["source_file", "source_sheet", "source_row"]
_STR = ("municipality", "school_id", "exam", "subject", "class_label", "ppe", "auditorium", "short_answers",
        "long_answers", "source_file", "source_sheet")
_INT = ("year", "variant", "primary_score", "mark", "test_score", "n_short_correct", "short_score", "long_score",
        "long_max", "source_row")
EXAM_COLUMNS = ["year", "municipality", "school_id", "exam", "subject", "participants", "mean_score", "n_below_min",
                "n_good", "n_high", "good_threshold", "high_threshold"]
PERSONAL = ("surname", "first_name", "patronymic", "full_name", "doc_series", "doc_number", "document",
            "birth_date", "snils")
HIDDEN = "[скрыто]"
XLSX_CREATED = dt.datetime(2026, 1, 1)   # document date written into every .xlsx (reproducible bytes)
EGE_MINIMUM_FILE = PARAMS_DIR / "ege_minimum_scores.csv"

# Russian subject names: (nominative, dative after «по»), for titles and messages.
SUBJECT_NAMES: dict[str, tuple[str, str]] = {
    "rus": ("Русский язык", "русскому языку"), "math": ("Математика", "математике"),
    "math_base": ("Математика (базовый уровень)", "математике (базовый уровень)"),
    "phys": ("Физика", "физике"), "chem": ("Химия", "химии"), "bio": ("Биология", "биологии"),
    "geo": ("География", "географии"), "hist": ("История", "истории"), "soc": ("Обществознание", "обществознанию"),
    "lit": ("Литература", "литературе"), "inf": ("Информатика", "информатике"),
    "eng": ("Английский язык", "английскому языку"), "deu": ("Немецкий язык", "немецкому языку"),
}
assert set(SUBJECT_NAMES) == set(EXAM_SUBJECTS) - {"okr"}   # окружающий мир has no ОГЭ/ЕГЭ

# ------------------------------------------------------------------------------------------ headers

_HEADERS: dict[str, tuple[str, ...]] = {
    "number": ("№", "№ п/п", "№п/п", "n п/п", "п/п", "номер п/п", "n"),
    "surname": ("фамилия",),
    "first_name": ("имя",),
    "patronymic": ("отчество",),
    "full_name": ("фио", "ф.и.о", "ф. и. о", "фамилия, имя, отчество", "фамилия имя отчество", "фамилия и.о",
                  "фио участника", "участник", "фамилия, имя, отчество участника"),
    "doc_series": ("серия документа", "серия", "серия паспорта"),
    "doc_number": ("номер документа", "номер", "номер паспорта"),
    "document": ("документ", "серия и номер документа", "серия и номер", "паспорт", "реквизиты документа",
                 "документ, удостоверяющий личность", "серия, номер документа"),
    "birth_date": ("дата рождения",),
    "snils": ("снилс",),
    "school_id": ("код оо", "логин оо", "код образовательной организации", "код школы", "код оу", "оо (код)"),
    "municipality": ("код ате", "код мсу", "код мо", "код муниципалитета", "ате", "мсу",
                     "код муниципального образования"),
    "class_label": ("класс", "литера класса", "класс (литера)"),
    "ppe": ("код ппэ", "ппэ", "номер ппэ", "№ ппэ"),
    "auditorium": ("аудитория", "номер аудитории", "№ аудитории", "ауд", "код аудитории"),
    "variant": ("вариант", "номер варианта", "№ варианта", "вариант ким"),
    "short_answers": ("задания с кратким ответом", "ответы на задания с кратким ответом",
                      "результаты заданий с кратким ответом", "задания с выбором ответа и кратким ответом"),
    "long_answers": ("задания с развернутым ответом", "результаты заданий с развернутым ответом",
                     "баллы за задания с развернутым ответом"),
    "primary_score": ("первичный балл", "сумма первичных баллов", "итоговый первичный балл", "сумма баллов",
                      "итого первичный балл", "первичный балл (сумма)"),
    "mark": ("отметка", "оценка", "отметка по пятибалльной шкале", "итоговая отметка", "отметка (оценка)"),
    "test_score": ("тестовый балл", "балл (тестовый)", "стобалльный балл", "балл по 100-балльной шкале"),
    "ignore": ("наименование оо", "оо", "тип документа", "пол", "наименование образовательной организации"),
}
_HEADER_LOOKUP = {h: k for k, hs in _HEADERS.items() for h in hs}
# Russian header names for messages about a missing column.
COLUMN_TITLES = {"school_id": "Код ОО", "primary_score": "Первичный балл", "mark": "Отметка",
                 "test_score": "Тестовый балл", "short_answers": "Задания с кратким ответом",
                 "long_answers": "Задания с развёрнутым ответом"}


def _norm(text: Any) -> str:
    s = _text(text).lower().replace("ё", "е")
    s = re.sub(r"[«»\"“”]", "", s)
    return re.sub(r"\s+", " ", s).strip(" .:;*")


@lru_cache(maxsize=4096)   # only header-like rows reach it (``_maybe_header``): no pupil's cell is cached
def column_kind(header: str) -> str | None:
    """What a header of a protocol names (``school_id``, ``short_answers``, ``surname``, ``result``…), or None.

    ``result`` is a combined «Отметка (для ЕГЭ: Тестовый балл)»: a mark in ОГЭ blocks, a test score in ЕГЭ.

    >>> column_kind("Задания с\\nразвёрнутым ответом"), column_kind("Фамилия"), column_kind("Отметка (для ЕГЭ: Тестовый балл)")
    ('long_answers', 'surname', 'result')
    >>> column_kind("Тестовый балл (по 100-балльной шкале)"), column_kind("Код ОО*"), column_kind("Статус")
    ('test_score', 'school_id', None)
    """
    h = _norm(header)
    if not h:
        return None
    if h in _HEADER_LOOKUP:
        return _HEADER_LOOKUP[h]
    if ("отметк" in h or "оценк" in h) and "тестов" in h:
        return "result"
    bare = re.sub(r"\s*\([^)]*\)\s*$", "", h).strip(" .:;*")   # a trailing note in parentheses
    if bare in _HEADER_LOOKUP:
        return _HEADER_LOOKUP[bare]
    if "кратк" in h and "развернут" not in h:
        return "short_answers"
    if "развернут" in h and "кратк" not in h:
        return "long_answers"
    if "тестов" in h and "балл" in h:
        return "test_score"
    if h.startswith("первичн") and "балл" in h:
        return "primary_score"
    return None


@dataclass
class _Layout:
    """Columns of one header row: kind -> 0-based column, with the header texts."""
    header_row: int                                  # 1-based
    cols: dict[str, int]
    texts: dict[int, str]
    personal: list[int]
    unknown: list[int]
    duplicates: list[int]

    @property
    def is_header(self) -> bool:
        """The header of a protocol block: school code, primary score and a task-results column."""
        return {"school_id", "primary_score"} <= set(self.cols) and bool({"short_answers", "long_answers"} & set(self.cols))

    @property
    def is_partial(self) -> bool:
        """A header lacking a required column (three protocol columns found): read, with the lack reported."""
        return len(_CORE & set(self.cols)) >= 3

    def missing(self) -> list[str]:
        """Required kinds this header lacks (``task results`` as ``short_answers``)."""
        out = [k for k in ("school_id", "primary_score") if k not in self.cols]
        return out + ([] if {"short_answers", "long_answers"} & set(self.cols) else ["short_answers"])


_CORE = {"school_id", "primary_score", "short_answers", "long_answers", "mark", "test_score", "result"}


_HEADER_WORDS = re.compile(r"балл|кратк|развернут|развёрнут|код\s+оо|логин", re.I)


def _maybe_header(cells: list[str]) -> bool:
    """Cheap pre-check: every protocol header has a score or task-results or school-code column."""
    return any(_HEADER_WORDS.search(c) for c in cells if c)


def _layout(cells: list[str], row: int) -> _Layout:
    cols: dict[str, int] = {}
    texts, personal, unknown, dups = {}, [], [], []
    for j, c in enumerate(cells):
        if not c:
            continue
        texts[j] = re.sub(r"\s+", " ", c).strip()
        kind = column_kind(c)
        if kind is None:
            unknown.append(j)
        elif kind in PERSONAL:
            personal.append(j)
        elif kind in ("ignore", "number"):
            continue
        elif kind in cols:
            dups.append(j)
        else:
            cols[kind] = j
    return _Layout(row, cols, texts, personal, unknown, dups)


def sniff_exam_protocol(rows: list[list[object]]) -> bool:
    """Does a sheet's first rows hold an ОГЭ/ЕГЭ protocol header (school code, primary score, task results)?

    ``rows``: the first rows of every sheet as lists of cell values (``tables.peek_rows`` output).

    >>> sniff_exam_protocol([["Протокол проверки результатов ОГЭ по математике, 23.05.2026"],
    ...     ["№ п/п", "Фамилия", "Код ОО", "Задания с кратким ответом", "Первичный балл", "Отметка"]])
    True
    >>> sniff_exam_protocol([["Код", "Вариант", "1 (1б)", "2 (2б)", "Первичный балл", "Отметка"]])
    False
    """
    for i, r in enumerate(rows):
        cells = [_text(v) for v in r] if r else []
        if _maybe_header(cells) and _layout(cells, i + 1).is_header:
            return True
    return False


# ------------------------------------------------------------------------------------------ task strings

_SHORT_OK = re.compile(r"[+\-0-9]")
_DASHES = str.maketrans({"−": "-", "–": "-", "—": "-", "＋": "+"})
_LONG_TOKEN = r"(\d{1,2}|[XxХх\-–—])\((\d{1,2})\)"
_LONG_RE = re.compile(rf"(?:{_LONG_TOKEN}[,;]?)+")


def parse_short_answers(text: str) -> tuple[str, int, int]:
    """(normalised string, tasks with points, points) of short-answer results; ValueError names bad characters.

    «+» is a solved one-point task, «-» an unsolved one, a digit the points of a multi-point task.

    >>> parse_short_answers("++-+ 0+2−")
    ('++-+0+2-', 5, 6)
    >>> parse_short_answers("++a+")
    Traceback (most recent call last):
    ValueError: недопустимые символы «a» (ожидаются «+», «-» и цифры)
    """
    s = re.sub(r"\s+", "", str(text)).translate(_DASHES)
    bad = sorted({ch for ch in s if not _SHORT_OK.fullmatch(ch)})
    if bad:
        raise ValueError("недопустимые символы «" + "», «".join(bad) + "» (ожидаются «+», «-» и цифры)")
    points = [1 if ch == "+" else 0 if ch == "-" else int(ch) for ch in s]
    return s, sum(p > 0 for p in points), sum(points)


def parse_long_answers(text: str) -> list[tuple[int, int]]:
    """[(score, max), …] of long-answer results «1(2)2(3)0(2)»; «X(2)» / «-(2)» (not done) count 0.

    >>> parse_long_answers("1(2) 2(3);0(2)"), parse_long_answers("X(2)1(1)")
    ([(1, 2), (2, 3), (0, 2)], [(0, 2), (1, 1)])
    >>> parse_long_answers("1(2)2(")
    Traceback (most recent call last):
    ValueError: ожидается «балл(максимум)» по каждому заданию, например «1(2)0(3)»
    """
    s = re.sub(r"\s+", "", str(text))
    if not _LONG_RE.fullmatch(s):
        raise ValueError("ожидается «балл(максимум)» по каждому заданию, например «1(2)0(3)»")
    pairs = [(int(a) if a.isdigit() else 0, int(b)) for a, b in re.findall(_LONG_TOKEN, s)]
    if any(m == 0 for _, m in pairs):
        raise ValueError("максимальный балл задания не может быть 0")
    return pairs


# ------------------------------------------------------------------------------------------ titles

_EXAM_WORDS = [(re.compile(r"\b(огэ|oge)\b", re.I), "ОГЭ"), (re.compile(r"\b(егэ|ege)\b", re.I), "ЕГЭ"),
               (re.compile(r"\bгвэ\b", re.I), "ГВЭ"),
               (re.compile(r"основн\w*\s+государственн\w*\s+экзамен", re.I), "ОГЭ"),
               (re.compile(r"един\w*\s+государственн\w*\s+экзамен", re.I), "ЕГЭ"),
               (re.compile(r"государственн\w*\s+выпускн\w*\s+экзамен", re.I), "ГВЭ")]
_SUBJECT_CONTEXT = [re.compile(p, re.I) for p in (
    r"\bпредмет\w*\s*[:\-–]?\s*(?P<s>.+)",
    r"\b(?:огэ|егэ|гвэ)\b\s*(?:по\s+|[.:,–\-]\s*)(?P<s>.+)",
    r"\bэкзамен\w*\s+по\s+(?P<s>.+)",
    r"\bрезультат\w*\s+(?:\w+\s+){0,3}по\s+(?P<s>.+)")]
_SUBJECT_CUT = re.compile(r"\s{2,}|[,;]|\.\s|\.$|\s+дата\b|\s+от\s+\d|\s*\(\s*\d"        # where a subject name ends
                          r"|\s+\d{1,2}[./]\d{1,2}[./]\d{2,4}|\s+\d{1,2}\s+[а-я]+\s+20\d\d", re.I)
_SUBJECT_STEMS = (("русск", "rus"), ("математ", "math"), ("физик", "phys"), ("хими", "chem"), ("биолог", "bio"),
                  ("географ", "geo"), ("истори", "hist"), ("обществ", "soc"), ("литератур", "lit"),
                  ("информатик", "inf"), ("английск", "eng"), ("немецк", "deu"))
_MONTHS = {m: i + 1 for i, m in enumerate(("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                                           "сентября", "октября", "ноября", "декабря"))}
_DATE_RES = [
    (re.compile(r"(?<!\d)(\d{1,2})[./](\d{1,2})[./](20\d\d)(?!\d)"), lambda m: (int(m[3]), int(m[2]), int(m[1]))),
    (re.compile(r"(?<!\d)(20\d\d)-(\d{2})-(\d{2})(?!\d)"), lambda m: (int(m[1]), int(m[2]), int(m[3]))),
    (re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{2})(?![\d.])"), lambda m: (2000 + int(m[3]), int(m[2]), int(m[1]))),
    (re.compile(r"(?<!\d)(\d{1,2})\s+(" + "|".join(_MONTHS) + r")\s+(20\d\d)", re.I),
     lambda m: (int(m[3]), _MONTHS[m[2].lower()], int(m[1]))),
]
_NOT_EXAM_DATE = re.compile(r"формирован|печат|выгруз|создан|подпис|сформирован|рожден", re.I)
_YEAR_RES = [re.compile(r"(?<!\d)(20\d\d)\s*(?:год\b|г\.)", re.I), re.compile(r"\bгод\w*\s*[:\-]?\s*(20\d\d)\b", re.I)]
_MUNICIPALITY_RE = re.compile(r"\b(?:код\s+)?(?:ате|мсу|мо|муниципалитет\w*|муниципального\s+образования)\s*[:\-]\s*"
                              r"(\d[0-9A-Za-z_\-]{0,15})\b", re.I)
_TITLE_RE = re.compile(r"протокол|\bпредмет|дата\s+экзамена|дата\s+проведения", re.I)
_FOOTER_RE = re.compile(r"^\(?\s*(?:председател|руководител|член\w*\s|ответственн|подпис|исполнител|м\.\s?п\b|мп\b|"
                        r"директор|секретар|уполномоченн|ознакомлен|итого|всего|страниц|стр\.|дата\s+(?:формирования|"
                        r"печати|выгрузки)|протокол\s+сформирован|сформирован|фио\b|ф\.и\.о|расшифровка|_{3,})", re.I)


def subject_from_text(text: str) -> str | None:
    """Subject code of a subject name in any case form, or None (oral parts of languages are not read).

    >>> [subject_from_text(t) for t in ("математике (профильный уровень)", "Математика базового уровня",
    ...                                 "русскому языку", "Обществознание", "Английский язык (устная часть)", "Астрономия")]
    ['math', 'math_base', 'rus', 'soc', None, None]
    """
    s = _norm(text)
    if not s or "устн" in s:
        return None
    hits = [(s.find(stem), code) for stem, code in _SUBJECT_STEMS if stem in s]
    if not hits:
        return s if s in EXAM_SUBJECTS else None
    code = min(hits)[1]
    return "math_base" if code == "math" and "базов" in s else code


def _items(raw: list[Any]) -> list[tuple[str, Any]]:
    """A title row as text items; a label cell ending in «:» is joined with the next cell (its value)."""
    cells = [(c, v) for c, v in ((_text(v), v) for v in raw) if c]
    out, i = [], 0
    while i < len(cells):
        text, v = cells[i]
        if text.endswith(":") and i + 1 < len(cells):
            out.append((f"{text} {cells[i + 1][0]}", cells[i + 1][1]))
            i += 2
        else:
            out.append((text, v))
            i += 1
    return out


def _date_in(text: str) -> dt.date | None:
    for rx, parts in _DATE_RES:
        m = rx.search(text)
        if m:
            try:
                return dt.date(*parts(m))
            except ValueError:
                return None
    return None


def title_meta(lines: list[str]) -> dict[str, Any]:
    """exam, subject (code or None), subject_text, exam_date, year, municipality found in a block's title lines.

    >>> m = title_meta(["Протокол проверки результатов ОГЭ по математике, 23.05.2026"])
    >>> m["exam"], m["subject"], m["exam_date"], m["year"]
    ('ОГЭ', 'math', datetime.date(2026, 5, 23), 2026)
    >>> m = title_meta(["Предмет: Русский язык  Дата экзамена: 26.05.2026", "Дата формирования: 10.06.2026"])
    >>> m["exam"], m["subject"], m["exam_date"]
    (None, 'rus', datetime.date(2026, 5, 26))
    """
    out: dict[str, Any] = {"exam": None, "subject": None, "subject_text": None, "exam_date": None, "year": None,
                           "municipality": None, "title": None}
    dates: list[tuple[int, dt.date]] = []
    for line in lines:
        for rx, exam in _EXAM_WORDS:
            if out["exam"] is None and rx.search(line):
                out["exam"] = exam
        if out["subject_text"] is None:
            for rx in _SUBJECT_CONTEXT:
                m = rx.search(line)
                if m:
                    subj = _SUBJECT_CUT.split(m["s"], maxsplit=1)[0].strip(" .:-–")
                    if subj:
                        out["subject_text"], out["subject"], out["title"] = subj, subject_from_text(subj), line
                        break
        d = _date_in(line)
        if d and not _NOT_EXAM_DATE.search(line):
            rank = 0 if re.search(r"дата\s+(?:экзамена|проведения)", line, re.I) else 1 if _TITLE_RE.search(line) else 2
            dates.append((rank, d))
        if out["year"] is None:
            for rx in _YEAR_RES:
                m = rx.search(line)
                if m:
                    out["year"] = int(m[1])
                    break
        m = _MUNICIPALITY_RE.search(line)
        if m and out["municipality"] is None:
            out["municipality"] = m[1]
    if out["subject_text"] is None:   # a line that starts with a subject name («Математика (профильный уровень), 08.06»)
        for line in lines:
            subj = _SUBJECT_CUT.split(line, maxsplit=1)[0].strip(" .:-–")
            starts = len(subj) <= 60 and any(_norm(subj).startswith(st) for st, _ in _SUBJECT_STEMS)
            code = subject_from_text(subj) if starts else None
            if code:
                out["subject_text"], out["subject"], out["title"] = subj, code, line
                break
    if dates:
        out["exam_date"] = min(dates, key=lambda x: x[0])[1]
        out["year"] = out["year"] or out["exam_date"].year
    out["title"] = out["title"] or (lines[0] if lines else None)
    return out


def meta_from_filename(name: str) -> dict[str, Any]:
    """Exam and year from a file name such as ``OGE_2026_004.xlsx`` or «Протокол ЕГЭ 2026.xls».

    >>> meta_from_filename("OGE_2026_004.xlsx"), meta_from_filename("протокол_егэ.xls")
    ({'exam': 'ОГЭ', 'year': 2026}, {'exam': 'ЕГЭ', 'year': None})
    """
    stem = Path(name).stem
    m = re.search(r"(?<!\d)(20\d\d)(?!\d)", stem)
    exam = None
    for pat, code in ((r"(?<![a-zа-я])(огэ|oge|гиа-?9)(?![a-zа-я])", "ОГЭ"),
                      (r"(?<![a-zа-я])(егэ|ege|гиа-?11)(?![a-zа-я])", "ЕГЭ")):
        if re.search(pat, stem.lower()):
            exam = code
            break
    return {"exam": exam, "year": int(m[1]) if m else None}


# ------------------------------------------------------------------------------------------ reading

@dataclass
class ProtocolRead:
    """What :func:`read_exam_protocol` returns.

    ``results``: one row per non-empty pupil row of every block (never dropped), ``RESULT_COLUMNS`` plus
    ``source_file``, ``source_sheet`` (NA for CSV) and ``source_row`` (the row the user sees); no personal
    data. ``problems``: ``problems.frame``; an ``error`` quarantines its row, a ``fatal`` the file.
    ``rows_read == len(results)``. ``dropped_personal``: personal-data headers as in the file, dropped at
    read. ``blocks``: one row per exam block (sheet, header row, title, exam, subject, date, year, rows).
    """

    results: pd.DataFrame
    problems: pd.DataFrame
    rows_read: int
    dropped_personal: list[str] = field(default_factory=list)
    blocks: pd.DataFrame = field(default_factory=pd.DataFrame)


class _Problems:
    """Problem records of one file; values are scrubbed of personal cell values when the frame is built."""

    def __init__(self, file: str):
        self.file, self.items, self.tokens = file, [], set()

    def add(self, sheet, row, column, value, rule: str, **kw) -> None:
        self.items.append((sheet, row, column, value, rule, kw))

    def remember(self, texts: list[str]) -> None:
        """Words of personal cells: letters (names), 6+ digits (document numbers; a 4-digit series alone is not)."""
        for t in texts:
            for w in re.findall(r"\w+", t.lower().replace("ё", "е")):
                if (w.isdigit() and len(w) >= 6) or (w.isalpha() and len(w) >= 2):
                    self.tokens.add(w)

    def personal(self, value: Any) -> bool:
        text = "" if value is None else _text(value)
        return any(w in self.tokens for w in re.findall(r"\w+", text.lower().replace("ё", "е")))

    def safe(self, value: Any) -> Any:
        return HIDDEN if self.personal(value) else value

    def frame(self) -> pd.DataFrame:
        recs = [P.problem(self.file, sh, row, col, self.safe(val), rule, **kw)
                for sh, row, col, val, rule, kw in self.items]
        recs.sort(key=lambda d: (d["sheet"] or "", -1 if d["row"] is None else d["row"]))
        return P.frame(recs)


def _load(path: Path, name: str) -> list[tuple[str | None, list[list[Any]]]]:
    """(sheet name, rows of cell values) of every sheet through ``tables.read_raw`` (python-calamine for
    .xlsx/.xlsm/.xlsb/.xls/.ods with row numbers kept, the CSV decoding of ``decode_bytes``/``sniff_sep``);
    CSV gives one sheet named None. Raises ``tables.UnreadableFile``."""
    from workbench.data.tables import read_raw

    return [(s.sheet, s.rows) for s in read_raw(path, name=name)]


def _exam_code(exam: str | None) -> str | None:
    if exam is None:
        return None
    code = {"огэ": "ОГЭ", "oge": "ОГЭ", "егэ": "ЕГЭ", "ege": "ЕГЭ"}.get(str(exam).strip().lower())
    if code is None:
        raise ValueError(f"экзамен «{exam}»: ожидается ОГЭ или ЕГЭ")
    return code


def read_exam_protocol(path: Path, *, name: str | None = None, year: int | None = None,
                       exam: str | None = None) -> ProtocolRead:
    """Read one РЦОИ protocol (any number of exam blocks on any number of sheets); never raises on bad data.

    ``name``: the file name shown in problems and ``source_file`` (default: the file's name); ``year`` and
    ``exam`` («ОГЭ»/«ЕГЭ») override what the file says. Example::

        read = read_exam_protocol(Path("OGE_2026_004.xls"))
        read.results.groupby(["exam", "subject"]).size()
        read.problems.query("severity in ['fatal', 'error']")
        school_exams(read.results)            # the school-level ``exams`` rows
    """
    path = Path(path)
    fname = name or path.name
    p = _Problems(fname)
    kw = {"year": int(year) if year is not None else None, "exam": _exam_code(exam)}
    from workbench.data.tables import UnreadableFile

    try:
        sheets = _load(path, fname)
    except UnreadableFile as exc:   # encrypted, empty, corrupt, unsupported: one fatal problem, no rows
        p.add(None, None, None, fname, exc.rule, detail=exc.detail)
        return ProtocolRead(_typed([]), p.frame(), 0)
    except Exception as exc:   # anything else unexpected about the file is still the user's file
        p.add(None, None, None, fname, "file_unreadable", detail=str(exc) or type(exc).__name__)
        return ProtocolRead(_typed([]), p.frame(), 0)
    from_name = meta_from_filename(fname)
    records, blocks, dropped = [], [], []
    for sheet, rows in sheets:
        found = _read_sheet(fname, sheet, rows, p, kw, from_name, records, dropped)
        blocks += found
        if not found and sheet is not None and len(sheets) > 1 and any(_text(v) for r in rows for v in r):
            p.add(sheet, None, None, sheet, "protocol_extra_sheet")
    _hide_personal(records, p)
    if dropped:
        p.add(None, None, None, None, "personal_data_dropped",
              detail=", ".join(f"«{h}»" for h in dict.fromkeys(dropped)))
    if not blocks:
        p.add(None if len(sheets) != 1 else sheets[0][0], None, None, None, "no_header",
              detail="нет строки со столбцами «Код ОО», «Первичный балл» и «Задания с кратким/развёрнутым ответом»")
    results = _typed(records)
    return ProtocolRead(results, p.frame(), len(results), list(dict.fromkeys(dropped)),
                        pd.DataFrame(blocks, columns=["sheet", "header_row", "title", "exam", "subject", "exam_date",
                                                      "year", "rows"]))


def _hide_personal(records: list[dict], p: _Problems) -> None:
    """Text cells that carry a pupil's personal value (a shifted row) are emptied and reported as errors."""
    for r in records:
        heads = r.pop("_heads", {})
        for c in ("school_id", "municipality", "class_label", "ppe", "auditorium", "short_answers", "long_answers"):
            if r.get(c) is not None and p.personal(r[c]):
                r[c] = None
                p.add(r["source_sheet"], r["source_row"], heads.get(c, c), HIDDEN, "personal_value_hidden")


def _typed(records: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(records, columns=RESULT_COLUMNS + SOURCE_COLUMNS)
    for c in _STR:
        df[c] = df[c].astype("str")
    for c in _INT:
        df[c] = pd.array([None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v) for v in df[c]],
                         dtype="Int64")
    df["exam_date"] = pd.to_datetime(df["exam_date"]).astype("datetime64[ns]")
    return df


def _is_footer(cells: list[str]) -> bool:
    first = next((c for c in cells if c), "")
    return bool(_FOOTER_RE.match(first))


def _is_title(cells: list[str], layout: _Layout | None = None) -> bool:
    """A title line: protocol words, an exam, a date or a bare subject name (personal cells of ``layout`` aside)."""
    texts = [c for j, c in enumerate(cells) if c and (layout is None or j not in layout.personal)]
    line = " ".join(texts)
    if _TITLE_RE.search(line) or any(rx.search(line) for rx, _ in _EXAM_WORDS[:3]):
        return True
    meta = title_meta(texts)
    return meta["exam_date"] is not None or meta["subject"] is not None


@dataclass
class _Block:
    layout: _Layout
    meta: dict
    title_rows: list[int]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)


def _looks_like_data(cells: list[str], layout: _Layout) -> bool:
    """A pupil row of this layout: a school code and an integer primary score where the header has them."""
    j, k = layout.cols.get("school_id"), layout.cols.get("primary_score")
    if j is None or k is None or j >= len(cells) or k >= len(cells) or not cells[j]:
        return False
    return bool(re.fullmatch(r"\d{1,3}(?:[.,]0+)?", cells[k]))


def _has(cells: list[str], j: int | None) -> bool:
    return j is not None and j < len(cells) and bool(cells[j])


def _read_sheet(fname: str, sheet: str | None, rows: list[list[Any]], p: _Problems, kw: dict, from_name: dict,
                records: list[dict], dropped: list[str]) -> list[dict]:
    """Split a sheet into blocks, parse their rows into ``records``; returns the block summaries.

    Inside a block a row is a pupil row unless its school cell is empty and it reads as a footer
    (signatures, «Итого») or, with the primary score empty too, as the next block's title. After a footer,
    a row that looks like a pupil row continues the block; one after a title but before a header is
    reported (``protocol_row_outside_block``) and returned with empty fields, never dropped.
    """
    blocks: list[_Block] = []
    pending: list[tuple[int, list[Any]]] = []   # title-area rows since the last block's data
    orphans: list[int] = []
    state, inherited = "outside", {"exam": None, "year": None, "municipality": None}
    for i, raw in enumerate(rows):
        cells = [_text(v) for v in raw]
        if not any(cells):
            continue
        n = i + 1
        layout = _layout(cells, n) if _maybe_header(cells) else None
        if layout is not None and (layout.is_header or layout.is_partial):
            same = blocks and list(layout.texts.values()) == list(blocks[-1].layout.texts.values())
            if same and state == "data" and not pending:   # the header repeated on a new page
                blocks[-1].layout = layout
            else:
                meta = _block_meta(pending, layout, inherited, kw, from_name)
                inherited = {k: meta[k] or inherited[k] for k in inherited}
                blocks.append(_Block(layout, meta, [r for r, _ in pending]))
                _report_header(layout, meta, sheet, p, dropped)
            pending, state = [], "data"
            continue
        last = blocks[-1].layout if blocks else None
        looks = last is not None and _looks_like_data(cells, last)
        if state == "data" or (state == "after" and looks):
            no_school, no_score = (not _has(cells, last.cols.get(k)) for k in ("school_id", "primary_score"))
            if no_school and _is_footer(cells):
                state = "after"
            elif no_school and no_score and _is_title(cells, last):
                state = "outside"
                pending.append((n, raw))
            else:
                blocks[-1].rows.append((n, raw))
                p.remember([cells[j] for j in last.personal if j < len(cells)])
                state = "data"
        elif looks:
            orphans.append(n)
            p.remember([cells[j] for j in last.personal if j < len(cells)])
            p.add(sheet, n, None, None, "protocol_row_outside_block", other=last.header_row)
        elif not _is_footer(cells):
            pending.append((n, raw))
    out = []
    for b in blocks:
        for n, raw in b.rows:
            records.append(_parse_row(b, n, raw, fname, sheet, p))
        _check_block(b, records[len(records) - len(b.rows):], sheet, p)
        m = b.meta
        out.append({"sheet": sheet, "header_row": b.layout.header_row, "title": p.safe(m["title"]), "exam": m["exam"],
                    "subject": m["subject"], "exam_date": m["exam_date"], "year": m["year"], "rows": len(b.rows)})
    records += [{"source_file": fname, "source_sheet": sheet, "source_row": n} for n in orphans]
    return out


def _block_meta(pending: list[tuple[int, list[Any]]], layout: _Layout, inherited: dict, kw: dict,
                from_name: dict) -> dict:
    """Exam, subject, date, year and municipality of a block, with what is missing or conflicting."""
    lines = [" ".join(t for t, _ in _items(raw)) for _, raw in pending]
    lines = [t for _, raw in pending for t, _ in _items(raw)] + lines   # items first, whole rows as a fallback
    t = title_meta(lines)
    meta = dict(t)
    meta["title_row"] = pending[-1][0] if pending else None
    meta["conflicts"] = []
    for key in ("exam", "year"):
        if kw[key] is not None:
            if t[key] is not None and t[key] != kw[key]:
                meta["conflicts"].append((key, t[key], kw[key]))
            meta[key] = kw[key]
        else:
            meta[key] = t[key] or inherited[key] or from_name[key]
    if meta["exam"] is None and "test_score" in layout.cols:
        meta["exam"] = "ЕГЭ"
    meta["municipality"] = t["municipality"] or inherited["municipality"]
    if (meta["exam"] == "ЕГЭ" and meta["subject"] == "math" and "test_score" not in layout.cols
            and "mark" in layout.cols and "профил" not in _norm(meta["subject_text"])):
        meta["subject"] = "math_base"
    return meta


def _mark_based(meta: dict) -> bool:
    return meta["exam"] == "ОГЭ" or meta["subject"] == "math_base"


def _unresolved(meta: dict) -> str | None:
    """Why a block's rows cannot be loaded (Russian), or None."""
    if meta["exam"] is None:
        return "не указан экзамен (ОГЭ или ЕГЭ): задайте его при загрузке"
    if meta["exam"] not in vocab.EXAMS:
        return f"экзамен {meta['exam']} не поддерживается (загружаются ОГЭ и ЕГЭ)"
    if meta["subject_text"] is None:
        return "не указан предмет"
    if meta["subject"] is None:
        return f"предмет «{meta['subject_text']}» не распознан"
    if meta["year"] is None:
        return "не указан год (нет даты экзамена): задайте его при загрузке"
    return None


def _report_header(layout: _Layout, meta: dict, sheet: str | None, p: _Problems, dropped: list[str]) -> None:
    row = layout.header_row
    for j in layout.unknown:
        p.add(sheet, row, layout.texts[j], layout.texts[j], "unknown_column")
    for j in layout.duplicates:
        p.add(sheet, row, layout.texts[j], layout.texts[j], "duplicate_column")
    dropped += [layout.texts[j] for j in layout.personal]
    for key, found, given in meta["conflicts"]:
        label = {"exam": "экзамен", "year": "год"}[key]
        p.add(sheet, meta["title_row"], None, found, "protocol_meta_conflict", detail=f"{label} {given}")
    for kind in layout.missing():
        p.add(sheet, row, COLUMN_TITLES[kind], COLUMN_TITLES[kind], "missing_column",
              detail="без него строки протокола не прочитать" if kind != "short_answers" else
              "нет ни «Задания с кратким ответом», ни «Задания с развёрнутым ответом»")
    if meta["exam"] in vocab.EXAMS:
        need = "mark" if _mark_based(meta) else "test_score"
        if need not in layout.cols and "result" not in layout.cols:
            what = "ОГЭ и ЕГЭ по математике базового уровня" if need == "mark" else "ЕГЭ"
            p.add(sheet, row, COLUMN_TITLES[need], COLUMN_TITLES[need], "missing_column",
                  detail=f"нужен для {what}; блок «{meta['title'] or ''}»")


def _cell(raw: list[Any], layout: _Layout, kind: str) -> Any:
    j = layout.cols.get(kind)
    return raw[j] if j is not None and j < len(raw) else None


def _int_of(v: Any) -> int | None:
    """Integer value of a cell (12, 12.0, «12», «12,0»), None when blank; ValueError otherwise."""
    if isinstance(v, bool):
        raise ValueError
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if v.is_integer():
            return int(v)
        raise ValueError
    s = _text(v).replace(" ", "").replace(",", ".")
    if not s:
        return None
    f = float(s)
    if not f.is_integer():
        raise ValueError
    return int(f)


def _code_of(v: Any, header: str, n: int, sheet, p: _Problems, *, warn_number: bool) -> str | None:
    text = _text(v)
    if not text:
        return None
    if warn_number and isinstance(v, (int, float)) and not isinstance(v, bool):
        p.add(sheet, n, header, text, "id_as_number")
    return text


def _parse_row(b: _Block, n: int, raw: list[Any], fname: str, sheet: str | None, p: _Problems) -> dict:
    lay, meta = b.layout, b.meta
    head = {**COLUMN_TITLES, **{k: lay.texts.get(j, k) for k, j in lay.cols.items()}}
    why = _unresolved(meta)
    if why:
        p.add(sheet, n, None, None, "protocol_block_unresolved", detail=why, other=lay.header_row)
    rec: dict[str, Any] = {"year": meta["year"], "municipality": meta["municipality"], "school_id": None,
                           "exam": meta["exam"] if meta["exam"] in vocab.EXAMS else None, "subject": meta["subject"],
                           "exam_date": meta["exam_date"], "source_file": fname, "source_sheet": sheet, "source_row": n,
                           "_heads": head}
    school = _code_of(_cell(raw, lay, "school_id"), head["school_id"], n, sheet, p, warn_number=True)
    if school is None and "school_id" in lay.cols:
        p.add(sheet, n, head["school_id"], None, "required_empty")
    elif not re.fullmatch(ID_PATTERN, school):
        p.add(sheet, n, head["school_id"], school, "pattern_mismatch", allowed="код ОО: буквы, цифры, «_», «-»")
    rec["school_id"] = school
    if "municipality" in lay.cols:
        mun = _code_of(_cell(raw, lay, "municipality"), head["municipality"], n, sheet, p, warn_number=True)
        if mun is not None and not re.fullmatch(MUNICIPALITY_PATTERN, mun):
            p.add(sheet, n, head["municipality"], mun, "pattern_mismatch", allowed="код муниципалитета")
        rec["municipality"] = mun or rec["municipality"]
    cls = _text(_cell(raw, lay, "class_label"))
    rec["class_label"] = re.sub(r"\s+", "", cls).upper() if cls else None
    rec["ppe"] = _code_of(_cell(raw, lay, "ppe"), head.get("ppe", ""), n, sheet, p, warn_number=True)
    rec["auditorium"] = _code_of(_cell(raw, lay, "auditorium"), "", n, sheet, p, warn_number=False)
    for kind, required, lo, hi in _NUMBERS[_mark_based(meta)]:
        v = _cell(raw, lay, kind) if kind in lay.cols else \
            _cell(raw, lay, "result") if kind == _result_kind(meta) else None
        h = head.get("result") if kind not in lay.cols and "result" in lay.cols else head.get(kind, kind)
        try:
            x = _int_of(v)
        except ValueError:
            p.add(sheet, n, h, v, "not_an_integer")
            x = None
        else:
            if x is None and required and (kind in lay.cols or "result" in lay.cols):
                p.add(sheet, n, h, None, "required_empty")
            elif x is not None and not lo <= x <= hi:
                if kind == "mark":
                    p.add(sheet, n, h, x, "mark_outside_scale")
                else:
                    p.add(sheet, n, h, x, "out_of_range", allowed=f"от {lo} до {hi}")
        rec[kind] = x
    _parse_tasks(rec, raw, lay, head, n, sheet, p)
    return rec


def _result_kind(meta: dict) -> str:
    return "mark" if _mark_based(meta) else "test_score"


# (column, required, min, max) of the numbers of a pupil row; key: is the exam marked 2–5 (ОГЭ, ЕГЭ base)
_NUMBERS = {True: (("variant", False, 1, 9999), ("primary_score", True, 0, 200), ("mark", True, 2, 5),
                   ("test_score", False, 0, 100)),
            False: (("variant", False, 1, 9999), ("primary_score", True, 0, 200), ("mark", False, 2, 5),
                    ("test_score", True, 0, 100))}


def _parse_tasks(rec: dict, raw: list[Any], lay: _Layout, head: dict, n: int, sheet, p: _Problems) -> None:
    """Short and long answers of one row, and the primary score against their sum."""
    rec.update(short_answers=None, n_short_correct=None, short_score=None, long_answers=None, long_score=None,
               long_max=None)
    ok = True
    v = _cell(raw, lay, "short_answers")
    text = _text(v)
    if text:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            p.add(sheet, n, head["short_answers"], text, "answers_as_number")
        try:
            rec["short_answers"], rec["n_short_correct"], rec["short_score"] = parse_short_answers(text)
        except ValueError as e:
            p.add(sheet, n, head["short_answers"], text, "short_answers_invalid", detail=str(e))
            ok = False
    text = _text(_cell(raw, lay, "long_answers"))
    if text:
        try:
            pairs = parse_long_answers(text)
        except ValueError as e:
            p.add(sheet, n, head["long_answers"], text, "long_answers_invalid", detail=str(e))
            ok = False
        else:
            rec["long_answers"] = re.sub(r"\s+|[,;]", "", text)
            rec["long_score"], rec["long_max"] = sum(s for s, _ in pairs), sum(m for _, m in pairs)
            over = [f"задание {k}: {s} из {m}" for k, (s, m) in enumerate(pairs, 1) if s > m]
            if over:
                p.add(sheet, n, head["long_answers"], text, "long_score_above_max", detail="; ".join(over))
                ok = False
    if ok and rec["primary_score"] is not None and (rec["short_score"] is not None or rec["long_score"] is not None):
        short, long_ = rec["short_score"] or 0, rec["long_score"] or 0
        if short + long_ != rec["primary_score"]:
            p.add(sheet, n, head["primary_score"], rec["primary_score"], "primary_mismatch",
                  detail=f"краткий ответ {short} + развёрнутый {long_} = {short + long_}")


def _check_block(b: _Block, recs: list[dict], sheet, p: _Problems) -> None:
    """Warn about rows whose set of tasks differs from the block's usual one (a shifted or cut string)."""
    lay = b.layout
    lengths = Counter(len(r["short_answers"]) for r in recs if r["short_answers"] is not None)
    if len(lengths) > 1:
        usual = lengths.most_common(1)[0][0]
        for r in recs:
            if r["short_answers"] is not None and len(r["short_answers"]) != usual:
                p.add(sheet, r["source_row"], lay.texts[lay.cols["short_answers"]], r["short_answers"],
                      "task_count_differs", detail=f"{len(r['short_answers'])} заданий вместо {usual}")
    maxima = {r["source_row"]: tuple(int(m) for m in re.findall(r"\((\d+)\)", r["long_answers"]))
              for r in recs if r["long_answers"] is not None}
    shapes = Counter(maxima.values())
    if len(shapes) > 1:
        usual = shapes.most_common(1)[0][0]
        for r in recs:
            got = maxima.get(r["source_row"])
            if got is not None and got != usual:
                p.add(sheet, r["source_row"], lay.texts[lay.cols["long_answers"]], r["long_answers"],
                      "task_count_differs", detail="максимумы " + "·".join(map(str, got)) + " вместо "
                      + "·".join(map(str, usual)))


# ------------------------------------------------------------------------------------------ school level

def load_ege_minimum_scores(path: Path | None = None) -> pd.DataFrame:
    """The ЕГЭ minimum test scores (``params/ege_minimum_scores.csv``): subject, year_from, year_to, min_score, tag, source.

    >>> t = load_ege_minimum_scores()
    >>> int(t.query("subject == 'rus' and year_from <= 2026 <= year_to").min_score.iloc[0])
    24
    """
    df = pd.read_csv(path or EGE_MINIMUM_FILE, dtype={"subject": str, "tag": str, "source": str}, comment="#")
    for c in ("year_from", "year_to", "min_score"):
        df[c] = df[c].astype("Int64")
    return df


def ege_minimum(table: pd.DataFrame, year: int, subject: str) -> int | None:
    """The minimum test score of a year and subject from ``load_ege_minimum_scores()``, or None if not known.

    >>> t = load_ege_minimum_scores()
    >>> ege_minimum(t, 2026, "math"), ege_minimum(t, 2026, "phys"), ege_minimum(t, 1999, "rus")
    (27, 36, None)
    """
    hit = table[(table["subject"] == subject) & (table["year_from"] <= year) & (table["year_to"] >= year)]
    return int(hit["min_score"].iloc[-1]) if len(hit) else None


def school_exams(results: pd.DataFrame, *, minimum_scores: pd.DataFrame | None = None, fail_mark: int = 2,
                 good_mark: int = 4, high_mark: int = 5, good_threshold: float = 70.0, high_threshold: float = 80.0,
                 digits: int = 2) -> pd.DataFrame:
    """School-level ``exams`` rows (``schemas.Exams``) from pupil results, one per year × school × exam × subject.

    Pass the accepted rows only (quarantined rows would be counted). All exam dates of a year are pooled
    (a retake on a reserve day counts as another participation: pupils cannot be linked without personal data).

    * marked exams (ОГЭ, ЕГЭ ``math_base``): ``participants`` = rows with a mark; ``mean_score`` = mean primary
      score; ``n_below_min`` = mark ≤ ``fail_mark`` (2: «не преодолели минимальный порог»); ``n_good`` = mark ≥
      ``good_mark`` (4 and 5); ``n_high`` = mark ≥ ``high_mark`` (5); thresholds NA.
    * ЕГЭ: ``participants`` = rows with a test score; ``mean_score`` = mean test score; ``n_below_min`` = test
      score below the year's minimum for the subject (``minimum_scores``, default ``params/ege_minimum_scores.csv``;
      NA when not known); ``n_good`` = score ≥ ``good_threshold`` (70); ``n_high`` = score > ``high_threshold``
      (80, i.e. 81–100); both thresholds are written into the row.

    ``mean_score`` is rounded to ``digits`` decimals. Example (two ЕГЭ pupils, 2026 Russian, minimum 24)::

        >>> r = pd.DataFrame({"year": 2026, "municipality": "004", "school_id": "edu004001", "exam": "ЕГЭ",
        ...                   "subject": "rus", "primary_score": [10, 45], "mark": pd.NA, "test_score": [22, 91]})
        >>> school_exams(r)[["participants", "mean_score", "n_below_min", "n_good", "n_high"]].values.tolist()
        [[2, 56.5, 1, 1, 1]]
    """
    mins = load_ege_minimum_scores() if minimum_scores is None else minimum_scores
    keys = ["year", "municipality", "school_id", "exam", "subject"]
    rows = []
    if len(results):
        for key, d in results.groupby(keys, sort=True, dropna=False):
            year, mun, school, exam, subject = key
            marked = exam == "ОГЭ" or subject == "math_base"
            d = d[d["mark"].notna()] if marked else d[d["test_score"].notna()]
            if not len(d) or exam not in vocab.EXAMS or subject not in EXAM_SUBJECTS or pd.isna(year) or pd.isna(school):
                continue
            if marked:
                value, mark = d["primary_score"].dropna().astype(float), d["mark"].astype(int)
                below, good, high = (mark <= fail_mark).sum(), (mark >= good_mark).sum(), (mark >= high_mark).sum()
                thresholds = (None, None)
            else:
                value = d["test_score"].astype(float)
                minimum = ege_minimum(mins, int(year), subject)
                below = None if minimum is None else (value < minimum).sum()
                good, high = (value >= good_threshold).sum(), (value > high_threshold).sum()
                thresholds = (float(good_threshold), float(high_threshold))
            mean = round(float(value.mean()), digits) if len(value) else None
            rows.append({"year": year, "municipality": mun, "school_id": school, "exam": exam, "subject": subject,
                         "participants": len(d), "mean_score": mean, "n_below_min": below, "n_good": good,
                         "n_high": high, "good_threshold": thresholds[0], "high_threshold": thresholds[1]})
    df = pd.DataFrame(rows, columns=EXAM_COLUMNS)
    for c in ("year", "participants", "n_below_min", "n_good", "n_high"):
        df[c] = pd.array([None if pd.isna(v) else int(v) for v in df[c]], dtype="Int64")
    for c in ("mean_score", "good_threshold", "high_threshold"):
        df[c] = pd.array([None if pd.isna(v) else float(v) for v in df[c]], dtype="Float64")
    for c in ("municipality", "school_id", "exam", "subject"):
        df[c] = df[c].astype("str")
    return df


# ------------------------------------------------------------------------------------------ writing

@dataclass(frozen=True)
class ProtocolStyle:
    """Layout variants of real protocols; the demo and the tests pick them to exercise the reader.

    ``title``: «protocol» — «Протокол проверки результатов ОГЭ по математике, 23.05.2026»; «subject_line» —
    «Экзамен: ОГЭ» (when the exam changes) and «Предмет: Математика  Дата экзамена: 23.05.2026»; «cells» —
    the full exam name, then «Предмет:» and «Дата экзамена:» labels with the value in the next cell (the date
    an Excel date). ``result_header``: «separate» («Отметка» / «Тестовый балл») or «combined» («Отметка (для
    ЕГЭ: Тестовый балл)»). Example: ``ProtocolStyle(title="cells", footer=False, blank_rows=0)``.
    """

    title: str = "protocol"
    result_header: str = "separate"
    blank_rows: int = 1
    footer: bool = True
    region_line: str | None = "Региональный центр обработки информации Тестовой области"
    sheet: str = "Протокол"
    encoding: str = "utf-8-sig"
    sep: str = ";"


HEADER = ["№ п/п", "Фамилия", "Имя", "Отчество", "Серия документа", "Номер документа", "Код ОО", "Класс", "Код ППЭ",
          "Аудитория", "Задания с кратким ответом", "Задания с развёрнутым ответом", "Первичный балл"]
_EXAM_FULL = {"ОГЭ": "Основной государственный экзамен", "ЕГЭ": "Единый государственный экзамен"}
_SURNAMES = ("Иванов", "Петров", "Сидоров", "Кузнецов", "Смирнов", "Попов", "Волков", "Лебедев", "Козлов",
             "Новиков", "Морозов", "Соколов", "Павлов", "Семёнов", "Егоров", "Орлов", "Зайцев", "Фёдоров")
_NAMES_M = ("Иван", "Пётр", "Алексей", "Дмитрий", "Сергей", "Андрей", "Максим", "Кирилл", "Егор")
_NAMES_F = ("Анна", "Мария", "Елена", "Ольга", "Дарья", "Полина", "Софья", "Алина", "Ксения")
_PATRONYMICS = (("Иванович", "Ивановна"), ("Петрович", "Петровна"), ("Сергеевич", "Сергеевна"),
                ("Андреевич", "Андреевна"), ("Олегович", "Олеговна"))


def fake_person(i: int) -> tuple[str, str, str, str, str]:
    """(surname, name, patronymic, document series, number) of made-up pupil ``i``: «Иванов-Тест», series «0000».

    >>> fake_person(0), fake_person(1)[0]
    (('Иванов-Тест', 'Иван', 'Иванович', '0000', '100000'), 'Петрова-Тест')
    """
    female = i % 2 == 1
    surname = _SURNAMES[i % len(_SURNAMES)] + ("а" if female else "") + "-Тест"
    name = (_NAMES_F if female else _NAMES_M)[(i // 2) % 9]
    patronymic = _PATRONYMICS[(i // 3) % len(_PATRONYMICS)][int(female)]
    return surname, name, patronymic, "0000", f"{100000 + i:06d}"


def _subject_phrase(exam: str, subject: str, case: int) -> str:
    name = SUBJECT_NAMES[subject][case]
    if exam == "ЕГЭ" and subject == "math":
        name += " (профильный уровень)"
    return name


def _blocks_of(pupils: pd.DataFrame) -> list[tuple[tuple, pd.DataFrame]]:
    """One block per (exam, subject, exam_date), in order of first appearance."""
    return list(pupils.groupby(["exam", "subject", "exam_date"], sort=False, dropna=False))


def _layout_rows(pupils: pd.DataFrame, style: ProtocolStyle) -> list[list[Any]]:
    """The sheet as rows of Python values (str, int, date); personal columns are filled with made-up data."""
    out: list[list[Any]] = []
    if style.region_line:
        out += [[style.region_line], []]
    last_exam = None
    k = 0
    for b, ((exam, subject, date), d) in enumerate(_blocks_of(pupils)):
        day = pd.Timestamp(date).date() if pd.notna(date) else None
        when = day.strftime("%d.%m.%Y") if day else ""
        if b:
            out += [[] for _ in range(style.blank_rows)]
        if style.title == "protocol":
            phrase = _subject_phrase(exam, subject, 1)
            out.append([f"Протокол проверки результатов {exam} по {phrase}, {when}".rstrip(", ")])
        elif style.title == "subject_line":
            if exam != last_exam:
                out.append([f"Экзамен: {exam}"])
            out.append([f"Предмет: {_subject_phrase(exam, subject, 0)}  Дата экзамена: {when}".rstrip()])
        elif style.title == "cells":
            if exam != last_exam:
                out.append([_EXAM_FULL[exam]])
            out.append(["Предмет:", _subject_phrase(exam, subject, 0), "", "Дата экзамена:", day])
        else:
            raise ValueError(f"unknown title style {style.title!r}")
        last_exam = exam
        marked = exam == "ОГЭ" or subject == "math_base"
        result = "Отметка (для ЕГЭ: Тестовый балл)" if style.result_header == "combined" else \
            "Отметка" if marked else "Тестовый балл"
        out.append(HEADER + [result])
        for j, r in enumerate(d.to_dict("records"), 1):
            person = [r.get(c) for c in ("surname", "first_name", "patronymic", "doc_series", "doc_number")]
            if all(v is None or (isinstance(v, float) and math.isnan(v)) for v in person):
                person = list(fake_person(k))
            k += 1
            score = r.get("mark") if marked else r.get("test_score")
            out.append([j, *person, r.get("school_id"), r.get("class_label"), r.get("ppe"), r.get("auditorium"),
                        r.get("short_answers"), r.get("long_answers"), r.get("primary_score"), score])
        if style.footer:
            out += [[], ["Руководитель РЦОИ", "", "", "____________ / Сидоров-Тест С. С. /"],
                    ["Председатель ГЭК", "", "", "____________ / Петрова-Тест А. А. /"]]
    return [[_plain(v) for v in row] for row in out]


def _plain(v: Any) -> Any:
    """A cell value for writing: None for NA, integral numbers as int, numpy scalars as Python ones."""
    if v is None or isinstance(v, (str, dt.date)):
        return v
    if pd.isna(v):
        return None
    f = float(v)
    return int(f) if f.is_integer() else f


def write_exam_protocol(pupils: pd.DataFrame, path: Path, *, style: ProtocolStyle | None = None) -> int:
    """Write pupils as one РЦОИ protocol sheet (.xlsx, .xls — needs xlwt — or .csv); returns the rows written.

    ``pupils``: exam, subject, exam_date, school_id, class_label, ppe, auditorium, short_answers, long_answers,
    primary_score, mark (ОГЭ, ``math_base``) or test_score (ЕГЭ), optionally surname, first_name, patronymic,
    doc_series, doc_number (made up by :func:`fake_person` when absent). One block per (exam, subject,
    exam_date) in order of appearance. Example::

        write_exam_protocol(pupils, Path("OGE_2026_004.xls"), style=ProtocolStyle(title="cells"))
    """
    style = style or ProtocolStyle()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = _layout_rows(pupils, style)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        _write_xlsx(rows, path, style)
    elif suffix == ".xls":
        _write_xls(rows, path, style)
    elif suffix == ".csv":
        with path.open("w", encoding=style.encoding, newline="") as f:
            w = csv.writer(f, delimiter=style.sep, lineterminator="\n")
            for r in rows:
                w.writerow(["" if v is None else v.strftime("%d.%m.%Y") if isinstance(v, dt.date) else v for v in r])
    else:
        raise ValueError(f"unsupported protocol suffix {path.suffix!r}")
    return len(pupils)


def _write_xlsx(rows: list[list[Any]], path: Path, style: ProtocolStyle) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    wb.set_properties({"created": XLSX_CREATED, "title": "Протокол проверки результатов"})
    ws = wb.add_worksheet(style.sheet[:31])
    date_fmt = wb.add_format({"num_format": "dd.mm.yyyy"})
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if v is None:
                continue
            if isinstance(v, dt.date):
                ws.write_datetime(i, j, dt.datetime(v.year, v.month, v.day), date_fmt)
            elif isinstance(v, str):
                ws.write_string(i, j, v)
            else:
                ws.write_number(i, j, float(v))
    ws.set_column(0, 0, 6)
    ws.set_column(1, 13, 14)
    wb.close()


def _write_xls(rows: list[list[Any]], path: Path, style: ProtocolStyle) -> None:
    import xlwt   # a dev extra: only tests write .xls

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet(style.sheet[:31])
    date_fmt = xlwt.easyxf(num_format_str="DD.MM.YYYY")
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if v is None:
                continue
            if isinstance(v, dt.date):
                ws.write(i, j, dt.datetime(v.year, v.month, v.day), date_fmt)
            elif isinstance(v, str):
                ws.write(i, j, v)
            else:
                ws.write(i, j, float(v))
    wb.save(str(path))
