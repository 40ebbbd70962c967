"""Russian number formatting, one code for the справка (HTML, DOCX, PDF), the XLSX tables and the dashboards.

Decimal comma, a narrow no-break space between thousands, shares as «12,3 %», differences in «п.п.» with a
sign (a true minus «−»), counts as integers, «—» for a missing value and «скрыто» for a suppressed one.
Each column of a published table has a *kind*; :func:`cell` formats a value by its kind and
:data:`EXCEL_FORMATS` gives the matching Excel number format, so a table reads the same everywhere.

Example
-------
>>> [plain(cell(x, k)) for x, k in ((1428.0, "int"), (0.1234, "share"), (-1.25, "pp"), (56.25, "percent"), (None, "num1"))]
['1 428', '12,3 %', '−1,3 п.п.', '56,3 %', '—']
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from workbench.privacy import MARK as SUPPRESSED   # the word the suppression gate writes

MISSING = "—"
NBSP = "\u00a0"
THIN = "\u202f"      # narrow no-break space: the thousands separator of Russian typography
MINUS = "−"

# kind -> (digits, signed, unit); "text" and "int" are handled apart
KINDS: dict[str, tuple[int, bool, str]] = {
    "num0": (0, False, ""), "num1": (1, False, ""), "num2": (2, False, ""), "num3": (3, False, ""),
    "signed1": (1, True, ""), "signed2": (2, True, ""),
    "share": (1, False, "%"),       # a 0–1 share shown as percent
    "percent": (1, False, "%"),     # a value already in percent (0–100), e.g. percent of maximum
    "pp": (1, True, "п.п."),        # a difference of percents
    "z": (2, True, ""),             # a standardised index
}
EXCEL_FORMATS: dict[str, str] = {
    "int": "#,##0", "num0": "#,##0", "num1": "#,##0.0", "num2": "0.00", "num3": "0.000",
    "signed1": "+0.0;-0.0;0.0", "signed2": "+0.00;-0.00;0.00", "share": "0.0%", "percent": '0.0" %"',
    "pp": '+0.0" п.п.";-0.0" п.п.";0.0" п.п."', "z": "+0.00;-0.00;0.00", "p": "0.000",
    "probability": "0%",
}


def plain(text: str) -> str:
    """The text with its no-break and narrow spaces as ordinary ones (for examples and plain-text logs).

    >>> plain(share(0.5))
    '50,0 %'
    """
    return text.replace(NBSP, " ").replace(THIN, " ")


def is_missing(x: Any) -> bool:
    """None, NaN and pandas' NA (but not zero or an empty list).

    >>> is_missing(None), is_missing(float("nan")), is_missing(pd.NA), is_missing(0)
    (True, True, True, False)
    """
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _rounded(x: float, digits: int) -> str:
    """Half away from zero, as people round by hand (Python's format rounds 0.125 to 0.12)."""
    q = Decimal(1).scaleb(-digits)
    return str(Decimal(repr(abs(x))).quantize(q, rounding=ROUND_HALF_UP))


def number(x: Any, digits: int = 1, *, signed: bool = False, unit: str = "", na: str = MISSING) -> str:
    """A number the Russian way: «1 234,5»; ``signed`` adds «+»/«−»; ``unit`` follows after a no-break space.

    >>> plain(number(1234.56)), number(-0.04, 1, signed=True), number(2.25, 1, signed=True), number(None, na=SUPPRESSED)
    ('1 234,6', '0,0', '+2,3', 'скрыто')
    """
    if is_missing(x):
        return na
    x = float(x)
    if math.isinf(x):
        return "∞" if x > 0 else MINUS + "∞"
    text = _rounded(x, digits)
    whole, _, frac = text.partition(".")
    body = f"{int(whole):,}".replace(",", THIN) + ("," + frac if frac else "")
    is_zero = set(body) <= set("0,")
    sign = "" if is_zero else (MINUS if x < 0 else ("+" if signed else ""))
    return sign + body + (NBSP + unit if unit else "")


def integer(x: Any, *, na: str = MISSING) -> str:
    """A count: «1 428» (rounded half up; a mean count such as 1167.5 participants reads «1 168»).

    >>> plain(integer(1428.0)), plain(integer(1167.5)), integer(None)
    ('1 428', '1 168', '—')
    """
    return number(x, 0, na=na)


def share(x: Any, digits: int = 1, *, na: str = MISSING) -> str:
    """A 0–1 share as percent: «12,3 %».

    >>> plain(share(0.125)), plain(share(1)), share(None, na=SUPPRESSED)
    ('12,5 %', '100,0 %', 'скрыто')
    """
    return na if is_missing(x) else number(100 * float(x), digits, unit="%")


def probability(x: Any, *, na: str = MISSING) -> str:
    """A model probability in whole percents, «< 1 %» and «> 99 %» at the ends: a posterior is never certain,
    and «100,0 %» would read as if it were.

    >>> plain(probability(0.456)), plain(probability(0.9996)), plain(probability(0.002))
    ('46 %', '> 99 %', '< 1 %')
    """
    if is_missing(x):
        return na
    p = 100 * float(x)
    if p < 1:
        return f"<{NBSP}1{NBSP}%"
    if p > 99:
        return f">{NBSP}99{NBSP}%"
    return f"{p:.0f}{NBSP}%"


def pp(x: Any, digits: int = 1, *, na: str = MISSING) -> str:
    """A difference of percents, signed: «+1,2 п.п.», «−3,0 п.п.».

    >>> plain(pp(1.24)), plain(pp(-3)), pp(None)
    ('+1,2 п.п.', '−3,0 п.п.', '—')
    """
    return number(x, digits, signed=True, unit="п.п.", na=na)


def p_value(p: Any, *, na: str = MISSING) -> str:
    """A p- or q-value: «< 0,001» below a thousandth, else three decimals.

    >>> plain(p_value(2e-8)), p_value(0.0123), p_value(None)
    ('< 0,001', '0,012', '—')
    """
    if is_missing(p):
        return na
    return "<" + NBSP + "0,001" if float(p) < 0.001 else number(p, 3)


def cell(x: Any, kind: str = "text", *, na: str = MISSING) -> str:
    """One value by the kind of its column (``int``, ``share``, ``percent``, ``pp``, ``num0``–``num3``,
    ``signed1``, ``signed2``, ``z``, ``p``, ``text``).

    >>> cell(5, "int"), plain(cell(0.5, "share")), cell("ШНОР", "text"), cell(float("nan"), "text")
    ('5', '50,0 %', 'ШНОР', '—')
    """
    if isinstance(x, str):
        return x
    if is_missing(x):
        return na
    if kind == "text":
        if isinstance(x, bool):
            return "да" if x else "нет"
        if isinstance(x, float) and x.is_integer():
            return str(int(x))
        return str(x)
    if kind == "int":
        return integer(x, na=na)
    if kind == "p":
        return p_value(x, na=na)
    if kind == "share":
        return share(x, na=na)
    if kind == "probability":
        return probability(x, na=na)
    digits, signed, unit = KINDS[kind]
    return number(x, digits, signed=signed, unit=unit, na=na)


def infer_kind(values: pd.Series) -> str:
    """The kind of a column without a declared one: integers → ``int``, other numbers → ``num1``, else ``text``.

    >>> infer_kind(pd.Series([1, 2])), infer_kind(pd.Series([1.5])), infer_kind(pd.Series(["a"]))
    ('int', 'num1', 'text')
    """
    if pd.api.types.is_bool_dtype(values):
        return "text"
    if pd.api.types.is_integer_dtype(values):
        return "int"
    if pd.api.types.is_numeric_dtype(values):
        return "num1"
    return "text"


def column_texts(values: pd.Series, kind: str, hidden=None) -> list[str]:
    """Every value of a column formatted; rows in the boolean ``hidden`` mask read «скрыто».

    >>> [plain(t) for t in column_texts(pd.Series([0.1, None, 0.3]), "share", hidden=[False, False, True])]
    ['10,0 %', '—', 'скрыто']
    """
    hidden = [False] * len(values) if hidden is None else list(hidden)
    return [SUPPRESSED if h else cell(v, kind) for v, h in zip(values.tolist(), hidden)]


def plural(n: int, one: str, few: str, many: str) -> str:
    """Russian plural agreement: «1 школа», «3 школы», «5 школ».

    >>> [f"{n} {plural(n, 'школа', 'школы', 'школ')}" for n in (1, 3, 5, 11, 21, 112)]
    ['1 школа', '3 школы', '5 школ', '11 школ', '21 школа', '112 школ']
    """
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many
