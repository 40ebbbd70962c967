"""The справка as an editable Word document: officials add their letterhead and signature and forward it.

Same content as the HTML page (``workbench.reports.document``): title block, «Основные выводы», sections with
short tables and figures, «Приложения» with the full tables. Styles are Word's built-in ones (Heading 1–3,
Table Grid), so a department's template restyles the document in one step.

Example
-------
>>> import tempfile, pathlib                                              # doctest: +SKIP
>>> write_docx(load_document(folder, title="…", municipality="…", year=2026), pathlib.Path("справка.docx"))  # doctest: +SKIP
"""
from __future__ import annotations

import re
from pathlib import Path

from workbench.reports.document import Document, Table
from workbench.reports.html import shortened_note

FONT = "Times New Roman"     # what Russian official letters are set in


def _runs(paragraph, text: str) -> None:
    """Add text with ``**bold**``/``*italic*`` as formatted runs."""
    for part in re.split(r"(\*\*.+?\*\*|\*[^*\s][^*]*?\*)", text):
        if not part:
            continue
        if part.startswith("**") and part.endswith("**"):
            paragraph.add_run(part[2:-2]).bold = True
        elif part.startswith("*") and part.endswith("*") and len(part) > 2:
            paragraph.add_run(part[1:-1]).italic = True
        else:
            paragraph.add_run(part)


def _table(document, t: Table) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    texts = t.texts()
    cols = list(texts)
    n = len(texts[cols[0]]) if cols else 0
    table = document.add_table(rows=n + 1, cols=len(cols))
    table.style = "Table Grid"
    numeric = t.numeric_columns()
    size = Pt(8 if len(cols) > 8 else 9)
    header = table.rows[0]
    tr_pr = header._tr.get_or_add_trPr()      # the header row repeats on every page
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    for j, c in enumerate(cols):
        cell = header.cells[j]
        cell.text = ""
        run = cell.paragraphs[0].add_run(c)
        run.bold, run.font.size = True, size
    for i in range(n):
        cells = table.rows[i + 1].cells
        for j, c in enumerate(cols):
            p = cells[j].paragraphs[0]
            run = p.add_run(texts[c][i])
            run.font.size = size
            if c in numeric:
                p.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _caption(document, text: str, sentence: str) -> None:
    p = document.add_paragraph()
    p.add_run(text).bold = True
    if sentence:
        _runs(document.add_paragraph(), sentence)


def document_docx(doc: Document):
    """A python-docx ``Document`` of the справка."""
    import docx
    from docx.shared import Cm, Pt

    d = docx.Document()
    section = d.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin, section.right_margin, section.top_margin, section.bottom_margin = Cm(2.5), Cm(1.5), Cm(2), Cm(2)
    style = d.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(12)
    for name in ("Heading 1", "Heading 2", "Heading 3", "Title"):
        d.styles[name].font.name = FONT
    d.core_properties.title = doc.title
    d.core_properties.language = "ru-RU"
    d.add_paragraph("АНАЛИТИЧЕСКАЯ СПРАВКА").runs[0].bold = True
    d.add_heading(doc.title, level=1)
    for k, v in (("Муниципалитет", doc.municipality), ("Учебный год (ВПР)", str(doc.year)),
                 ("Дата составления", doc.made), ("Данные по состоянию на", doc.data_as_of or "—")):
        p = d.add_paragraph()
        p.add_run(f"{k}: ").bold = True
        p.add_run(v)
    if doc.findings:
        d.add_heading("Основные выводы", level=2)
        for s in doc.findings:
            _runs(d.add_paragraph(style="List Number"), s)
    for b in doc.body:
        kind = b["kind"]
        if kind == "heading":
            d.add_heading(b["text"], level=min(b["level"], 3))
        elif kind in ("note", "warning"):
            _runs(d.add_paragraph(), b["text"])
        elif kind == "table":
            t = b["table"]
            _caption(d, f"Таблица. {t.title}.", t.sentence)
            _table(d, t.body())
            if t.shortened:
                d.add_paragraph(shortened_note(t)).runs[0].italic = True
            if t.note:
                d.add_paragraph(t.note).runs[0].italic = True
        elif kind == "figure":
            path = doc.figure_path(b["key"])
            if path.exists():
                d.add_picture(str(path), width=Cm(16.5))
            _caption(d, f"Рисунок. {b['title']}.", b["sentence"])
    if doc.appendix:
        d.add_page_break()
        d.add_heading("Приложения", level=2)
        for t in (x.printed() for x in doc.appendix):
            d.add_heading(f"Приложение {t.number}. {t.title}", level=3)
            _runs(d.add_paragraph(), t.sentence)
            _table(d, t)
            if t.note:
                d.add_paragraph(t.note).runs[0].italic = True
    if doc.cards:
        if not doc.appendix:
            d.add_page_break()
            d.add_heading("Приложения", level=2)
        d.add_heading("Почему школа в списке: карточки выделенных школ", level=3)
        for card in doc.cards:
            d.add_page_break()
            d.add_heading(card.title, level=3)
            for line in card.lines:
                _runs(d.add_paragraph(), line)
            for t in card.tables:
                d.add_paragraph().add_run(t.title).bold = True
                _table(d, t)
    d.add_paragraph()
    d.add_paragraph("Должность, подпись, расшифровка подписи: ____________________________")
    return d


def write_docx(doc: Document, path: Path) -> Path:
    """Write the DOCX atomically (temporary file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    document_docx(doc).save(str(tmp))
    tmp.replace(path)
    return path
