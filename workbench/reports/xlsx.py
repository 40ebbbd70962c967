"""The municipality's tables as one XLSX workbook: «Содержание» first (a link to every sheet), then «О документе»,
then one sheet per table with Russian headers, a frozen header row and a number format per column kind; sheet
names are the document's (``document.sheet_name``: ≤ 31 characters, cut at a word, unique).

Example
-------
>>> write_workbook(load_document("outputs/latest/004"), Path("tables.xlsx"), about=[])   # doctest: +SKIP
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from workbench import formatting as fmt
from workbench.reports.document import Document

def write_workbook(doc: Document, path: Path, *, about: list[tuple[str, str]]) -> Path:
    """Write the workbook atomically. Hidden cells read «скрыто» (grey italic); missing cells stay empty."""
    import xlsxwriter

    tmp = path.with_name(path.name + ".tmp")
    wb = xlsxwriter.Workbook(tmp, {"nan_inf_to_errors": True})
    wb.set_properties({"title": doc.title, "created": dt.datetime(2000, 1, 1)})
    head = wb.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#E8EEF7", "border": 1})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    link = wb.add_format({"font_color": "#1F4E9E", "underline": 1})
    hidden = wb.add_format({"italic": True, "font_color": "#888888", "align": "right"})
    names = [t.sheet_name for t in doc.tables]

    toc = wb.add_worksheet("Содержание")
    toc.set_column(0, 0, 34)
    toc.set_column(1, 1, 100, wrap)
    toc.write(0, 0, doc.title, wb.add_format({"bold": True, "font_size": 13}))
    toc.write(2, 0, "Лист", head)
    toc.write(2, 1, "Что на нём", head)
    toc.write_url(3, 0, "internal:'О документе'!A1", link, "О документе")
    toc.write(3, 1, "Муниципалитет, год, методика, защита данных, версия", wrap)
    for i, (t, name) in enumerate(zip(doc.tables, names), start=4):
        toc.write_url(i, 0, f"internal:'{name}'!A1", link, name)
        toc.write(i, 1, f"{t.title}. {t.sentence}" + (f" {t.note}" if t.note else ""), wrap)

    ws = wb.add_worksheet("О документе")
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 90, wrap)
    for i, (k, v) in enumerate(about):
        ws.write(i, 0, k, head)
        ws.write(i, 1, v, wrap)

    for t, name in zip(doc.tables, names):
        sh = wb.add_worksheet(name)
        sh.freeze_panes(1, 0)
        formats = {c: wb.add_format({"num_format": fmt.EXCEL_FORMATS[k]}) for c, k in t.kinds.items()
                   if k in fmt.EXCEL_FORMATS}
        mask = t.hidden.tolist()
        for j, col in enumerate(t.data.columns):
            sh.write(0, j, col, head)
            values = t.data[col].tolist()
            sample = t.texts(200)[col]
            width = max([len(str(col)) * 0.8] + [len(v) for v in sample])
            sh.set_column(j, j, min(max(width + 2, 8), 60), formats.get(col))
            is_hidden = col in t.hidden_columns
            for i, v in enumerate(values, start=1):
                if is_hidden and mask[i - 1]:
                    sh.write_string(i, j, fmt.SUPPRESSED, hidden)
                elif fmt.is_missing(v):
                    continue
                elif isinstance(v, bool):
                    sh.write_string(i, j, "да" if v else "нет")
                elif isinstance(v, (int, float)):
                    sh.write_number(i, j, float(v), formats.get(col))
                else:
                    sh.write_string(i, j, str(v))
        sh.set_row(0, 32)
    wb.close()
    tmp.replace(path)
    return path
