"""The справка as one self-contained HTML page (figures embedded), printable to A4 (the PDF is printed from it).

Example
-------
>>> from workbench.reports.html import inline
>>> inline("**Внимание:** данные *неполны* <sic>")
'<strong>Внимание:</strong> данные <em>неполны</em> &lt;sic&gt;'
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from workbench.reports.document import Card, Document, Table, load_table

CSS = """
@page { size: A4; margin: 18mm 15mm 18mm 20mm; }
body { font-family: "PT Sans", "Liberation Sans", "DejaVu Sans", Arial, sans-serif; font-size: 11pt; line-height: 1.4;
       color: #1b1f24; max-width: 190mm; margin: 0 auto; padding: 8mm 6mm; }
h1 { font-size: 18pt; margin: 0 0 4pt; } h2 { font-size: 14pt; margin: 18pt 0 6pt; border-bottom: 1px solid #c8d1dc; }
h3 { font-size: 12pt; margin: 12pt 0 4pt; }
.title-block { border-bottom: 2px solid #1f3b63; padding-bottom: 8pt; margin-bottom: 10pt; }
.title-block .kind { text-transform: uppercase; letter-spacing: .08em; color: #1f3b63; font-size: 10pt; }
.title-block table td { padding: 1pt 10pt 1pt 0; border: none; font-size: 10pt; }
.findings { background: #f3f6fa; border-left: 4px solid #1f3b63; padding: 6pt 12pt; }
.findings li { margin: 3pt 0; }
.warning { background: #fff6e0; border-left: 4px solid #e0a100; padding: 6pt 12pt; }
.contents ol { margin: 0; } .contents li.l2 { margin-left: 1.5em; list-style: none; }
table.data { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 4pt 0 2pt; page-break-inside: auto; }
table.data th { background: #e8eef7; text-align: left; vertical-align: bottom; padding: 3pt 5pt; border: 1px solid #c8d1dc; }
table.data td { padding: 2pt 5pt; border: 1px solid #dde3ea; vertical-align: top; }
table.data td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.data td.hidden { color: #888; font-style: italic; }
table.data tr { page-break-inside: avoid; }
.caption { font-weight: bold; margin-top: 10pt; } .sentence { margin: 2pt 0 4pt; }
.note { font-size: 9pt; color: #555; margin: 2pt 0 8pt; }
figure { margin: 8pt 0; page-break-inside: avoid; } figure img { max-width: 100%; }
.appendix h3 { page-break-before: auto; }
@page landscape { size: A4 landscape; margin: 14mm 12mm; }
.wide { page: landscape; } .wide table.data { font-size: 7.5pt; }
@media screen { .wide { overflow-x: auto; } }
section.card { border-top: 1px solid #c8d1dc; margin-top: 10pt; } section.new-page { page-break-before: always; }
h4 { font-size: 11.5pt; margin: 10pt 0 4pt; }
.signature { margin-top: 24pt; font-size: 10pt; color: #555; }
"""


WIDE_COLUMNS = 9      # more columns than this: set smaller, on a landscape page when printed


def inline(text: str) -> str:
    """Escaped text with ``**bold**`` and ``*italic*``."""
    t = html.escape(text, quote=False)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    return re.sub(r"(?<!\*)\*(?!\s)(.+?)(?<!\s)\*(?!\*)", r"<em>\1</em>", t)


def table_html(t: Table, *, caption: bool = True, full: Table | None = None, heading: str = "") -> str:
    """The table formatted the Russian way; numbers right-aligned, hidden cells greyed. ``full`` is the whole
    table when ``t`` is its shortened body; ``heading`` an appendix heading kept with its table. A table wider
    than ``WIDE_COLUMNS`` is set smaller and, in print, on a landscape page together with its caption."""
    texts = t.texts()
    n = len(next(iter(texts.values()))) if texts else 0
    numeric = t.numeric_columns()
    head = "".join(f"<th>{html.escape(c)}</th>" for c in texts)
    mask = t.hidden.head(n).tolist()
    body = []
    for i in range(n):
        cells = []
        for c, vals in texts.items():
            cls = ["num"] if c in numeric else []
            if mask[i] and c in t.hidden_columns:
                cls.append("hidden")
            attr = f' class="{" ".join(cls)}"' if cls else ""
            cells.append(f"<td{attr}>{html.escape(vals[i])}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    parts = [heading] if heading else []
    if caption:
        parts.append(f'<p class="caption">Таблица. {html.escape(t.title)}.</p><p class="sentence">{inline(t.sentence)}</p>')
    parts.append(f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')
    if full is not None:
        parts.append(f'<p class="note">{shortened_note(full)}</p>')
    if t.note:
        parts.append(f'<p class="note">{inline(t.note)}</p>')
    inner = "\n".join(parts)
    return f'<div class="wide">{inner}</div>' if len(texts) > WIDE_COLUMNS else f"<div>{inner}</div>"


def shortened_note(t: Table) -> str:
    """What the body left out and where the whole table is."""
    what = []
    if t.body_rows is not None and len(t.data) > t.body_rows:
        what.append(f"первые {t.body_rows} строк из {len(t.data)}")
    if t.body_columns:
        what.append(f"{len(t.body_columns)} столбцов из {len(t.data.columns)}")
    return f"Показаны {' и '.join(what)}; полностью — в приложении {t.number} и в файле Excel."


def _image(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _figure(path: Path, title: str, sentence: str) -> str:
    return (f'<figure><img src="{_image(path)}" alt="{html.escape(title)}"><figcaption><p class="caption">Рисунок. '
            f'{html.escape(title)}.</p><p class="sentence">{inline(sentence)}</p></figcaption></figure>')


def block_html(folder: Path, block: dict) -> str:
    """One block as the справка shows it (the notebook displays each block this way, once)."""
    kind = block["kind"]
    if kind == "heading":
        return f"<h{block['level']}>{html.escape(block['text'])}</h{block['level']}>"
    if kind == "note":
        return f"<p>{inline(block['text'])}</p>"
    if kind == "warning":
        return f'<div class="warning">{inline(block["text"])}</div>'
    if kind == "findings":
        return '<div class="findings"><ol>' + "".join(f"<li>{inline(s)}</li>" for s in block["sentences"]) + "</ol></div>"
    if kind == "table":
        t = block.get("table") or load_table(folder, block["key"], block)
        return table_html(t.body(), full=t) if t.shortened else table_html(t)
    if kind == "card":
        from workbench.reports.document import load_card

        return card_html(load_card(folder, block))
    if kind == "figure":
        return _figure(Path(folder) / "figures" / f"{block['key']}.png", block["title"], block["sentence"])
    raise ValueError(f"unknown block kind {kind!r}")


def card_html(card: Card, level: int = 3, new_page: bool = False) -> str:
    """An evidence card: its title, the rule and how to check it, the criteria, the inputs (``new_page``: printed
    from the top of a page, as in the справка's appendix)."""
    parts = [f"<h{level}>{html.escape(card.title)}</h{level}>"]
    parts += [f"<p>{inline(line)}</p>" for line in card.lines]
    for t in card.tables:
        parts.append(f'<p class="caption">{html.escape(t.title)}</p>')
        parts.append(table_html(t, caption=False))
    cls = "card new-page" if new_page else "card"
    return f'<section class="{cls}">' + "\n".join(parts) + "</section>"


def page_html(title: str, body: str) -> str:
    """A standalone page with the справка's style."""
    return (f'<!doctype html>\n<html lang="ru"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


def card_page_html(doc: Document, card: Card) -> str:
    """One school's card as a page of its own (a director can be sent just this)."""
    head = (f'<div class="title-block"><div class="kind">Приложение к аналитической справке</div>'
            f'<h1>{html.escape(card.title)}</h1><table><tr><td>Муниципалитет</td><td>{html.escape(doc.municipality)}'
            f'</td></tr><tr><td>Год</td><td>{doc.year}</td></tr><tr><td>Дата составления</td><td>{doc.made}</td></tr>'
            f'<tr><td>Данные по состоянию на</td><td>{html.escape(doc.data_as_of or "—")}</td></tr></table></div>')
    return page_html(card.title, head + card_html(card, level=2).replace(f"<h2>{html.escape(card.title)}</h2>", "", 1))


def document_html(doc: Document) -> str:
    """The whole справка: title block, contents, «Основные выводы», the sections, «Приложения»."""
    parts = [f'<div class="title-block"><div class="kind">Аналитическая справка</div><h1>{html.escape(doc.title)}</h1>'
             f'<table><tr><td>Муниципалитет</td><td>{html.escape(doc.municipality)}</td></tr>'
             f'<tr><td>Учебный год (ВПР)</td><td>{doc.year}</td></tr>'
             f'<tr><td>Дата составления</td><td>{doc.made}</td></tr>'
             f'<tr><td>Данные по состоянию на</td><td>{html.escape(doc.data_as_of or "—")}</td></tr></table></div>']
    items = "".join(f'<li class="l{level}">{html.escape(text)}</li>' for level, text in doc.contents())
    parts.append(f'<div class="contents"><h2>Содержание</h2><ol>{items}</ol></div>')
    if doc.findings:
        parts.append("<h2>Основные выводы</h2>")
        parts.append(block_html(doc.folder, {"kind": "findings", "sentences": doc.findings}))
    parts += [block_html(doc.folder, b) for b in doc.body]
    if doc.appendix:
        parts.append('<div class="appendix"><h2>Приложения</h2>')
        for t in (x.printed() for x in doc.appendix):
            parts.append(table_html(t, caption=False, heading=f"<h3>Приложение {t.number}. {html.escape(t.title)}</h3>"
                                                              f'<p class="sentence">{inline(t.sentence)}</p>'))
        parts.append("</div>")
    if doc.cards:
        if not doc.appendix:
            parts.append("<h2>Приложения</h2>")
        parts.append('<div class="appendix"><h3>Почему школа в списке: карточки выделенных школ</h3>')
        parts += [card_html(c, level=4, new_page=True) for c in doc.cards]
        parts.append("</div>")
    parts.append('<p class="signature">Справка подготовлена по данным, загруженным в рабочее место аналитика; '
                 'признаки и флаги — основания для анализа и адресной поддержки, а не оценка работы школ и учителей.</p>')
    return page_html(doc.title, "\n".join(parts))


def write_html(doc: Document, path: Path) -> Path:
    """Write the page atomically (temporary file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(document_html(doc), encoding="utf-8")
    tmp.replace(path)
    return path
