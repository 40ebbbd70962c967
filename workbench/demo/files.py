"""Writing the demo region's files: tables with the template's Russian headers, FIS OKO ВПР exports.

Everything written is deterministic for the same inputs: no timestamps in contents, Excel workbooks get a
fixed creation date (``FIXED_CREATED``), ВПР export styles are picked by a file's ordinal, not by chance.

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"school_id": ["edu004001"], "small_class": pd.array([True], dtype="boolean")})
>>> russian_frame(df, "schools").columns.tolist(), russian_frame(df, "schools").iat[0, 1]
(['Код ОО', 'Малокомплектная'], 'да')
"""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data.fisoko import VprStyle, write_vpr
from workbench.data.schemas import columns_of

FIXED_CREATED = dt.datetime(2026, 1, 1, 0, 0, 0)

JOURNAL_HEADERS = ("Отметка за предыдущую четверть", "Отметка за предыдущий триместр", "Отметка за предыдущее полугодие",
                   "Отметка по журналу", "Отметка за предыдущий год")
NOT_DONE = ("X", "Х", "-")
ABSENT_WORDS = ("отсутствовал", "не присутствовал")
ENCODINGS = ("utf-8", "utf-8-sig", "cp1251")
SEPS = (";", ",")
TOTAL_HEADERS = ("Первичный балл", "Итого баллов")


def style_for(ordinal: int, suffix: str, year: int) -> VprStyle:
    """The export style of the file with this ordinal: consecutive files vary every field of VprStyle.

    >>> s = style_for(7, ".csv", 2024)
    >>> (s.journal_header, s.not_done, s.encoding, s.sep)
    ('Отметка за предыдущее полугодие', 'Х', 'utf-8-sig', ',')
    """
    i = int(ordinal)
    csv_file = suffix == ".csv"
    return VprStyle(journal_header=JOURNAL_HEADERS[i % 5], not_done=NOT_DONE[i % 3],
                    absent_word=ABSENT_WORDS[(i // 3) % 2], two_variant_columns=bool((i // 2) % 2),
                    formula_totals=(not csv_file) and bool((i // 4) % 2),
                    encoding=ENCODINGS[(i // 5) % 3] if csv_file else "utf-8",
                    sep=SEPS[(i // 7) % 2] if csv_file else ";", total_header=TOTAL_HEADERS[(i // 11) % 2],
                    work_date=f"{14 + i % 10:02d}.04.{year}")


def write_vpr_file(works: pd.DataFrame, tasks: pd.DataFrame, path: Path, fmt: str, style: VprStyle) -> int:
    """Write one ВПР export through ``workbench.data.fisoko.write_vpr``; returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_vpr(works, tasks, path, fmt, style=style)
    return len(works)


# ---------------------------------------------------------------- tables with Russian headers

def _text_values(s: pd.Series) -> list[str]:
    """Cell texts: integers plain, floats without trailing zeros, booleans да/нет, dates ISO, NA empty."""
    dtype = str(s.dtype)
    na = s.isna().to_numpy()
    if dtype == "Int64":
        vals = s.fillna(0).astype("int64").astype(str).to_numpy()
    elif dtype == "Float64" or dtype.startswith("float"):
        vals = np.array([np.format_float_positional(v, trim="-") for v in s.fillna(0).astype(float)], dtype=object)
    elif dtype == "boolean" or dtype == "bool":
        vals = np.where(s.fillna(False).astype(bool), "да", "нет")
    elif dtype.startswith("datetime"):
        vals = s.dt.strftime("%Y-%m-%d").fillna("").to_numpy()
    else:
        vals = s.fillna("").astype(str).to_numpy()
    return np.where(na, "", vals).tolist()


def russian_frame(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """The table as text cells under the template's Russian column titles (what a municipality would send)."""
    cols = columns_of(table)
    return pd.DataFrame({cols[c]["title"]: _text_values(df[c]) for c in df.columns if c in cols})


def write_table_csv(df: pd.DataFrame, table: str, path: Path, *, sep: str = ";", encoding: str = "utf-8") -> int:
    """One table as CSV with Russian headers; returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ru = russian_frame(df, table)
    with path.open("w", encoding=encoding, newline="") as f:
        ru.to_csv(f, sep=sep, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return len(ru)


def write_table_xlsx(df: pd.DataFrame, table: str, path: Path, sheet: str) -> int:
    """One table as .xlsx with Russian headers: numbers as numbers, ids and codes as text, dates ISO text."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    cols = columns_of(table)
    names = [c for c in df.columns if c in cols]
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    wb.set_properties({"created": FIXED_CREATED, "title": sheet})
    ws = wb.add_worksheet(sheet[:31])
    bold = wb.add_format({"bold": True, "text_wrap": True})
    ws.write_row(0, 0, [cols[c]["title"] for c in names], bold)
    for j, c in enumerate(names):
        s = df[c]
        numeric = str(s.dtype) in ("Int64", "Float64")
        texts = _text_values(s)
        values = s.to_numpy(dtype=object, na_value=None) if numeric else texts
        for i, v in enumerate(values):
            if v is None or v == "":
                continue
            if numeric:
                ws.write_number(i + 1, j, float(v))
            else:
                ws.write_string(i + 1, j, v)
        ws.set_column(j, j, 16)
    wb.close()
    return len(df)
