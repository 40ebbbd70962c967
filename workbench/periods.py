"""Roadmap terms: the deadlines municipal roadmaps write as periods, read into dates.

The seeds' roadmaps rarely give a date. They write «Декабрь 2021 г., Март 2022 г.», «в течение 2022 г.»,
«Ноябрь-декабрь 2021 г.», «2021-2022 учебный год» or «Согласно плану-графику ... на 2022 г.». A term is one or
more parts, each an inclusive span of days; its start is the first day of its first part and its end the last
day of its last part, which is what the roadmap's «Срок начала» / «Срок исполнения» columns need. Text that names
no period («постоянно», «по мере необходимости») is refused with a Russian message that quotes it: a deadline
nobody can miss cannot be monitored.

>>> t = parse_term("Декабрь 2021 г., Март 2022 г.")
>>> t.start, t.end
(datetime.date(2021, 12, 1), datetime.date(2022, 3, 31))
>>> format_term(t)
'декабрь 2021 г., март 2022 г.'
>>> parse_term("в течение 2021-2022 учебного года").end
datetime.date(2022, 5, 31)
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

MONTHS = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь", "ноябрь",
          "декабрь")
# Nominative, genitive and prepositional forms: «декабрь», «декабря», «декабре»; «март», «марта», «марте».
_MONTH_RE = (r"(январ[ьяе]|феврал[ьяе]|март[ае]?|апрел[ьяе]|ма[йяе]|июн[ьяе]|июл[ьяе]|август[ае]?|сентябр[ьяе]"
             r"|октябр[ьяе]|ноябр[ьяе]|декабр[ьяе])(?![а-я])")
_MONTH_STEMS = ("январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр", "ноябр",
                "декабр")
_YEAR_WORD = r"(?:\s*(?:гг|г|года|году|год)(?![а-я])\.?)?"
_ORDINALS = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4, "перв": 1, "втор": 2, "трет": 3,
             "четв": 4}
_ORDINAL_RE = r"(iv|iii|ii|i|[1-4]|перв|втор|трет|четв)[а-я]*(?:-?[а-я]{1,2})?"
_SCHOOL_YEAR_WORD = r"\s*(?:учебн[а-я]*|уч\.?)\s*(?:г\.|гг\.|г(?![а-я])|год[а-я]*)?"
# Words a term may carry around its periods: «в течение», «до», «не позднее», «к», «срок», «на».
_FILLER = re.compile(r"(?:(?:в течение|не позднее|до|к|в|на|срок[а-я]*|с|по|и)(?![а-я])|[,;.:-])\s*")
FORMS = ("15.03.2027", "15 марта 2027 г.", "до 15.03.2027", "декабрь 2026 г.", "ноябрь–декабрь 2026 г.",
         "декабрь 2026 г., март 2027 г.", "сентябрь 2026 г. – май 2027 г.", "в течение 2027 г.", "2026–2027 гг.",
         "I полугодие 2027 г.", "IV квартал 2026 г.", "2026/2027 учебный год",
         "I полугодие 2026/2027 учебного года", "согласно плану-графику на 2027 г.")


class TermError(ValueError):
    """A text that names no period; the message (Russian) quotes it and lists the forms that are read."""

    def __init__(self, text: object, why: str = "не удалось прочитать срок"):
        self.text = text
        super().__init__(f"«{text}» — {why}. Срок записывается датой или периодом, например: " + "; ".join(FORMS))


@dataclass(frozen=True)
class Term:
    """A roadmap term: one or more inclusive spans of days, in the order written."""

    parts: tuple[tuple[dt.date, dt.date], ...]

    @property
    def start(self) -> dt.date:
        return min(a for a, _ in self.parts)

    @property
    def end(self) -> dt.date:
        return max(b for _, b in self.parts)

    def __str__(self) -> str:
        return format_term(self)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _month_of(word: str) -> int:
    return next(i for i, stem in enumerate(_MONTH_STEMS, 1) if word.startswith(stem))


def _year(text: str) -> int:
    y = int(text)
    return y + 2000 if y < 100 else y


def _day(y: int, m: int, d: int, raw: str) -> dt.date:
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise TermError(raw, "такой даты нет") from None


def _school_year(first: int, second: int, raw: str) -> tuple[int, int]:
    second = second + (first // 100) * 100 if second < 100 else second
    if second != first + 1:
        raise TermError(raw, "учебный год записывается двумя соседними годами, например 2026/2027")
    return first, second


class _Reader:
    """A left-to-right reader of one term's normalised text into parts."""

    def __init__(self, raw: str, text: str, year: int | None, end_month: int):
        self.raw, self.s, self.i, self.year, self.end_month = raw, text, 0, year, end_month

    def match(self, pattern: str) -> re.Match | None:
        m = re.compile(pattern).match(self.s, self.i)
        if m:
            self.i = m.end()
        return m

    def default_year(self) -> int:
        if self.year is None:
            raise TermError(self.raw, "не указан год")
        return self.year

    def school_year_tail(self) -> tuple[int, int] | None:
        m = self.match(r"\s*(\d{4})\s*[-/]\s*(\d{2,4})" + _SCHOOL_YEAR_WORD)
        return _school_year(int(m.group(1)), int(m.group(2)), self.raw) if m else None

    def part(self) -> tuple[dt.date, dt.date] | None:
        """One period at the reader's position, or None when none starts here."""
        raw = self.raw
        if m := self.match(r"(?:учебн[а-я]*\s+год[а-я]*\s+)?(\d{4})\s*/\s*(\d{2,4})(?:" + _SCHOOL_YEAR_WORD + ")?"):
            a, b = _school_year(int(m.group(1)), int(m.group(2)), raw)
            return dt.date(a, 9, 1), _month_end(b, self.end_month)
        if m := self.match(r"(?:учебн[а-я]*\s+год[а-я]*\s+)(\d{4})\s*-\s*(\d{2,4})" + _YEAR_WORD):
            a, b = _school_year(int(m.group(1)), int(m.group(2)), raw)
            return dt.date(a, 9, 1), _month_end(b, self.end_month)
        if m := self.match(r"(\d{4})\s*-\s*(\d{2,4})(" + _SCHOOL_YEAR_WORD + r"|\s*гг\.?|\s*годы|" + _YEAR_WORD + ")"):
            a, b, tail = int(m.group(1)), int(m.group(2)), m.group(3)
            b = b + (a // 100) * 100 if b < 100 else b
            # «2021-2022 учебный год» and a bare «2021-2022» are school years; «2021–2023 гг.» calendar years
            if "уч" in tail or ("г" not in tail and b == a + 1):
                return dt.date(a, 9, 1), _month_end(b, self.end_month)
            if b < a:
                raise TermError(raw, "конец периода раньше начала")
            return dt.date(a, 1, 1), dt.date(b, 12, 31)
        if m := self.match(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?!\d)" + _YEAR_WORD):
            day = _day(_year(m.group(3)), int(m.group(2)), int(m.group(1)), raw)
            return day, day
        if m := self.match(r"(\d{1,2})\s+" + _MONTH_RE + r"(?:\s+(\d{4})" + _YEAR_WORD + ")?"):
            y = int(m.group(3)) if m.group(3) else self.default_year()
            day = _day(y, _month_of(m.group(2)), int(m.group(1)), raw)
            return day, day
        if m := self.match(_ORDINAL_RE + r"\s*(полугоди[а-я]*|квартал[а-я]*)"):
            k = _ORDINALS[m.group(1)]
            half = m.group(2).startswith("полугод")
            if half and k > 2:
                raise TermError(raw, "полугодий два")
            if sy := (self.match(r"\s*(?:учебного\s+года\s+)?") and self.school_year_tail()):
                if not half:
                    raise TermError(raw, "кварталы указываются для календарного года")
                return (dt.date(sy[0], 9, 1), dt.date(sy[0], 12, 31)) if k == 1 else \
                    (dt.date(sy[1], 1, 1), _month_end(sy[1], self.end_month))
            ym = self.match(r"\s*(\d{4})" + _YEAR_WORD)
            y = int(ym.group(1)) if ym else self.default_year()
            months = 6 if half else 3
            first = (k - 1) * months + 1
            return dt.date(y, first, 1), _month_end(y, first + months - 1)
        if m := self.match(_MONTH_RE + r"\s*-\s*" + _MONTH_RE + r"(?:\s+(\d{4})" + _YEAR_WORD + ")?"):
            a, b = _month_of(m.group(1)), _month_of(m.group(2))
            y = int(m.group(3)) if m.group(3) else self.default_year()
            if b < a:
                raise TermError(raw, "период через Новый год записывается с годами: «ноябрь 2026 г. – январь 2027 г.»")
            return dt.date(y, a, 1), _month_end(y, b)
        if m := self.match(_MONTH_RE + r"(?:\s+(\d{4})" + _YEAR_WORD + ")?"):
            y = int(m.group(2)) if m.group(2) else self.default_year()
            month = _month_of(m.group(1))
            return dt.date(y, month, 1), _month_end(y, month)
        if m := self.match(r"(\d{4})(?!\d)" + _YEAR_WORD):
            y = int(m.group(1))
            return dt.date(y, 1, 1), dt.date(y, 12, 31)
        return None

    def read(self) -> Term:
        parts: list[tuple[dt.date, dt.date]] = []
        joined = False   # the previous part ended in a range dash: «сентябрь 2026 г. – май 2027 г.»
        while True:
            while self.i < len(self.s):
                if self.s.startswith("-", self.i) and parts:
                    joined = True
                elif re.match(r"по(?![а-я])", self.s[self.i:]) and parts:
                    joined = True
                if not self.match(r"\s+") and not self.match(_FILLER.pattern):  # noqa: SIM102
                    break
            if self.i >= len(self.s):
                break
            p = self.part()
            if p is None:
                raise TermError(self.raw)
            if joined and parts:
                if p[1] < parts[-1][0]:
                    raise TermError(self.raw, "конец периода раньше начала")
                parts[-1] = (parts[-1][0], p[1])
            else:
                parts.append(p)
            joined = False
        if not parts:
            raise TermError(self.raw)
        return Term(tuple(parts))


def _normalise(text: str) -> str:
    s = text.lower().replace("ё", "е").replace("\xa0", " ")
    s = re.sub(r"[‐‑‒–—−]", "-", s)
    # «Согласно плану-графику мероприятий ... на 2022 г.»: the plan names the period after its last «на».
    s = re.sub(r"^(?:согласно|в соответствии с)\s.*?\sна\s+(?=\S*\d)", "", s.strip())
    return re.sub(r"\s+", " ", s).strip()


def parse_term(value: object, *, year: int | None = None, school_year_end_month: int = 5) -> Term:
    """Read a roadmap term (text or date) into a `Term`; `TermError` (Russian) when it names no period.

    `year` is used for parts written without one («до 15 марта»); a school year runs from 1 September to the
    end of `school_year_end_month` (May: the end of lessons, when results of the year are known).

    >>> parse_term("Ноябрь-декабрь 2021 г.").parts
    ((datetime.date(2021, 11, 1), datetime.date(2021, 12, 31)),)
    >>> parse_term("до 15 марта", year=2022).end
    datetime.date(2022, 3, 15)
    >>> parse_term("постоянно")
    Traceback (most recent call last):
    ...
    workbench.periods.TermError: «постоянно» — не удалось прочитать срок. Срок записывается датой или периодом, \
например: 15.03.2027; 15 марта 2027 г.; до 15.03.2027; декабрь 2026 г.; ноябрь–декабрь 2026 г.; \
декабрь 2026 г., март 2027 г.; сентябрь 2026 г. – май 2027 г.; в течение 2027 г.; 2026–2027 гг.; \
I полугодие 2027 г.; IV квартал 2026 г.; 2026/2027 учебный год; I полугодие 2026/2027 учебного года; \
согласно плану-графику на 2027 г.
    """
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        day = pd.Timestamp(value).date()
        return Term(((day, day),))
    if isinstance(value, dt.date):
        return Term(((value, value),))
    if not isinstance(value, str) or not value.strip():
        raise TermError(value, "срок не указан")
    return _Reader(value, _normalise(value), year, school_year_end_month).read()


_ROMAN = ("I", "II", "III", "IV")


def _format_part(a: dt.date, b: dt.date, end_month: int) -> str:
    if a == b:
        return a.strftime("%d.%m.%Y")
    whole_months = a.day == 1 and b == _month_end(b.year, b.month)
    if whole_months and a.month == 9 and b.month == end_month and b.year == a.year + 1:
        return f"{a.year}/{b.year} учебный год"
    if whole_months and a.year == b.year:
        if (a.month, b.month) == (1, 12):
            return f"{a.year} г."
        if a.month == b.month:
            return f"{MONTHS[a.month - 1]} {a.year} г."
        if b.month - a.month == 5 and a.month in (1, 7):
            return f"{_ROMAN[a.month // 7]} полугодие {a.year} г."
        if b.month - a.month == 2 and a.month in (1, 4, 7, 10):
            return f"{_ROMAN[a.month // 3]} квартал {a.year} г."
        if (a.month, b.month) == (9, 12):
            return f"I полугодие {a.year}/{a.year + 1} учебного года"
        if (a.month, b.month) == (1, end_month):
            return f"II полугодие {a.year - 1}/{a.year} учебного года"
        return f"{MONTHS[a.month - 1]}–{MONTHS[b.month - 1]} {a.year} г."
    if whole_months and (a.month, b.month) == (1, 12):
        return f"{a.year}–{b.year} гг."
    if whole_months:
        return f"{MONTHS[a.month - 1]} {a.year} г. – {MONTHS[b.month - 1]} {b.year} г."
    return f"{a.strftime('%d.%m.%Y')} – {b.strftime('%d.%m.%Y')}"


def format_term(term: Term, *, school_year_end_month: int = 5) -> str:
    """The canonical Russian text of a term; `parse_term` reads it back to the same term.

    >>> format_term(parse_term("в течение 2022 г."))
    '2022 г.'
    >>> format_term(parse_term("1 полугодие 2027"))
    'I полугодие 2027 г.'
    """
    return ", ".join(_format_part(a, b, school_year_end_month) for a, b in term.parts)
