"""Municipal deliverables assembled from a run folder: the HTML report (no code) and one XLSX workbook.

Also the tables every report prints about itself: the parameters with their provenance tags and the
data sources with their dates.

Example
-------
>>> rows = parameters_table("004")
>>> rows.loc[rows["Параметр"] == "continue_grade10_min", ["Значение", "Происхождение"]].values.tolist()
[['0.6', 'документ муниципалитета (seed)']]
"""
from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pandas as pd

from workbench.config import Region, load_defaults, load_municipality, load_presets, load_region, resolve_methodology
from workbench.report import FIGURES_DIR, SUPPRESSED, TABLES_DIR, mark_hidden

TAG_RU = {"seed": "документ муниципалитета (seed)", "official": "официальный документ (official)",
          "secondary": "вторичный источник (secondary)", "heuristic": "эвристика по умолчанию (heuristic)"}


# ---------------------------------------------------------------- parameters and sources

def municipality_params_path(code: str, region: Region | None = None) -> Path | None:
    """The municipality's own params file, when the region lists one."""
    region = region or load_region("regions/demo.yaml")
    m = next((m for m in region.municipalities if m.code == code), None)
    return Path(m.params) if m and m.params else None


def methodology_of(code: str, region: Region | None = None):
    """(preset name, preset, resolved rule parameters) for a municipality (defaults when it has no file)."""
    presets = load_presets()
    path = municipality_params_path(code, region)
    ident = load_municipality(path).identification if path else load_defaults().identification
    return ident.preset, presets[ident.preset], resolve_methodology(ident, presets, path or Path("defaults.yaml"))


def parameters_table(code: str, region: Region | None = None) -> pd.DataFrame:
    """Every rule parameter in force for a municipality with its value, provenance tag and source (Russian)."""
    defaults = load_defaults()
    name, preset, rule = methodology_of(code, region)
    rows = []
    for section, model in (("Защита данных", defaults.privacy), ("Размер выборки", defaults.sample_size),
                           ("Неопределённость", defaults.uncertainty), ("Типология школ", defaults.typology),
                           (f"Методика «{name}»: {preset.title}", rule)):
        for key, field in model:
            if key == "rule":
                continue
            value = field.value
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            rows.append({"Раздел": section, "Параметр": key, "Значение": shown,
                         "Происхождение": TAG_RU[field.tag], "Источник": field.source})
    from workbench.context import COMPONENT_TITLES_RU, load_indices

    for spec in load_indices().values():
        for key in ("reference", "min_components", "standardise"):
            field = getattr(spec, key)
            rows.append({"Раздел": spec.title, "Параметр": key, "Значение": str(field.value),
                         "Происхождение": TAG_RU[field.tag], "Источник": field.source})
        for c in spec.components:
            rows.append({"Раздел": spec.title, "Параметр": f"вес: {COMPONENT_TITLES_RU.get(c.column, c.column)}",
                         "Значение": f"{c.weight.value:g} ({'+' if c.direction > 0 else '−'})",
                         "Происхождение": TAG_RU[c.weight.tag], "Источник": c.weight.source})
    return pd.DataFrame(rows)


def data_sources(store, municipality: str | None = None) -> pd.DataFrame:
    """Per input table: source files, rows (of the municipality, when given) and when they were imported."""
    rows = []
    for t in store.tables():
        where = "WHERE municipality = ?" if municipality and t not in ("mark_scales", "vpr_tasks") else ""
        params = [municipality] if where else []
        q = store.query(f"SELECT count(*) AS n, count(DISTINCT source_id) AS files, list(DISTINCT source_id) AS ids "
                        f"FROM {t} {where}", params).iloc[0]
        sources = store.manifest.get("sources", {})
        ids = q.ids if q.n else []   # the list is NULL when the municipality has no rows in the table
        when = max((sources[i]["imported"] for i in ids if i in sources), default=None)
        rows.append({"Таблица": t, "Строк": int(q.n), "Файлов-источников": int(q.files),
                     "Загружено": when.replace("T", " ")[:16] if when else "—"})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- XLSX

def _saved_tables(folder: Path) -> list[tuple[dict, pd.DataFrame]]:
    items = []
    for meta_path in (folder / TABLES_DIR).glob("*.json"):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        data = pd.read_parquet(meta_path.with_suffix(".parquet"))
        mask = data.pop(SUPPRESSED).to_numpy() if SUPPRESSED in data else None
        items.append((meta, mark_hidden(data, mask, meta.get("hidden_columns", [])) if mask is not None else data))
    return sorted(items, key=lambda x: x[0]["order"])


def _sheet_name(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", title)[:28].strip() or "Таблица"
    name, i = base, 2
    while name.lower() in used:
        name, i = f"{base[:25]} {i}", i + 1
    used.add(name.lower())
    return name


def write_workbook(folder: Path, path: Path, *, about: list[tuple[str, str]]) -> Path:
    """One XLSX with every saved table (a sheet each), plus «О документе» (about, parameters, sources).

    Headers are Russian, the header row is frozen, widths fit the content, numbers get formats;
    suppressed cells read «скрыто». Written to a temporary file and renamed (atomic).
    """
    import xlsxwriter

    tmp = path.with_name(path.name + ".tmp")
    wb = xlsxwriter.Workbook(tmp, {"nan_inf_to_errors": True})
    wb.set_properties({"created": dt.datetime(2000, 1, 1)})
    head = wb.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#E8EEF7", "border": 1})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    hidden = wb.add_format({"italic": True, "font_color": "#888888"})
    used: set[str] = set()
    ws = wb.add_worksheet(_sheet_name("О документе", used))
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 90, wrap)
    for i, (k, v) in enumerate(about):
        ws.write(i, 0, k, head)
        ws.write(i, 1, v, wrap)
    r = len(about) + 1
    tables = _saved_tables(folder)
    ws.write(r, 0, "Таблицы книги", head)
    for j, (meta, _) in enumerate(tables, start=1):
        ws.write(r + j, 0, meta["title"])
        ws.write(r + j, 1, meta["sentence"], wrap)
    for meta, df in tables:
        sh = wb.add_worksheet(_sheet_name(meta["title"], used))
        sh.freeze_panes(1, 0)
        formats = {c: wb.add_format({"num_format": f}) for c, f in meta.get("formats", {}).items()}
        for j, col in enumerate(df.columns):
            sh.write(0, j, col, head)
            values = df[col]
            width = max([len(str(col)) * 0.9] + [len(f"{v:.1f}" if isinstance(v, float) else str(v)) for v in values.head(200)])
            sh.set_column(j, j, min(max(width + 2, 8), 60), formats.get(col))
            for i, v in enumerate(values, start=1):
                if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
                    continue
                if v == "скрыто":
                    sh.write_string(i, j, v, hidden)
                elif isinstance(v, (int, float)) and not isinstance(v, bool):
                    sh.write_number(i, j, float(v), formats.get(col))
                else:
                    sh.write_string(i, j, str(v))
        sh.set_row(0, 32)
    wb.close()
    tmp.replace(path)
    return path


# ---------------------------------------------------------------- HTML

def _contents(cells) -> str:
    items = []
    for c in cells:
        if c.cell_type != "markdown":
            continue
        for line in c.source.splitlines():
            m = re.match(r"^(#{2,3})\s+(.*)", line)
            if m:
                indent = "  " * (len(m.group(1)) - 2)
                items.append(f"{indent}- {m.group(2).strip()}")
    return "## Содержание\n\n" + "\n".join(items)


def _markdown_outputs_to_cells(nb) -> list:
    """Turn displayed Markdown outputs into markdown cells, so headings reach the contents."""
    import nbformat

    cells = []
    for c in nb.cells:
        if "parameters" in c.metadata.get("tags", []) or "injected-parameters" in c.metadata.get("tags", []):
            continue
        if c.cell_type == "markdown":
            cells.append(c)
            continue
        kept = []
        for o in c.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                continue  # warnings are for the log, not for the municipality
            data = o.get("data", {})
            if "text/markdown" in data and len(data) <= 2:
                if kept:
                    cells.append(nbformat.v4.new_code_cell(outputs=kept))
                    kept = []
                cells.append(nbformat.v4.new_markdown_cell(data["text/markdown"]))
            else:
                kept.append(o)
        if kept:
            cells.append(nbformat.v4.new_code_cell(outputs=kept))
    return cells


def write_html(notebooks: list[Path], path: Path, *, title: str) -> Path:
    """The report: executed notebooks merged, code cells and prompts removed, title and contents on top."""
    # nbformat/nbconvert are imported here, not at module level: their jsonschema format checker takes ~3 s to
    # import, and every production notebook imports this module (three kernels per municipality)
    import nbformat
    from nbconvert import HTMLExporter

    cells = []
    for nb_path in notebooks:
        cells += _markdown_outputs_to_cells(nbformat.read(nb_path, as_version=4))
    merged = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title}")] + cells)
    merged.cells.insert(1, nbformat.v4.new_markdown_cell(_contents(cells)))
    merged.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(merged, resources={"metadata": {"name": title}})
    body = body.replace("<html>", '<html lang="ru">', 1)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(path)
    return path


def write_index(run_dir: Path, manifest: dict) -> Path:
    """index.html of a run: every municipality with its status and links to its deliverables."""
    rows = []
    for code, m in sorted(manifest["municipalities"].items()):
        ok = m["status"] == "ok"
        links = (f'<a href="{code}/report.html">отчёт</a> · <a href="{code}/tables.xlsx">таблицы Excel</a>'
                 if ok else html.escape(m.get("error") or ""))
        rows.append(f"<tr><td>{html.escape(code)}</td><td>{html.escape(m.get('name', ''))}</td>"
                    f"<td class='{m['status']}'>{'готово' if ok else 'ошибка' if m['status'] == 'failed' else m['status']}</td>"
                    f"<td>{m.get('duration_s', 0):.0f} с</td><td>{links}</td></tr>")
    page = f"""<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Запуск {html.escape(manifest['run_id'])}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:4px 10px;border-bottom:1px solid #ddd}}
.ok{{color:#1a7f37}}.failed{{color:#c62828;font-weight:bold}}</style></head><body>
<h1>Отчёты по муниципалитетам — {manifest['year']} год</h1>
<p>Запуск {html.escape(manifest['run_id'])}; данные {html.escape(manifest['data_hash'])}; версия {html.escape(manifest['code_version'])}.
Готово: {sum(m['status'] == 'ok' for m in manifest['municipalities'].values())} из {len(manifest['municipalities'])}.</p>
<table><tr><th>Код</th><th>Муниципалитет</th><th>Статус</th><th>Время</th><th>Материалы</th></tr>
{''.join(rows)}</table></body></html>"""
    path = run_dir / "index.html"
    tmp = path.with_name("index.html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
