"""The tables every справка prints about itself (the parameters with their provenance tags, the data sources
with their dates) and the index page of a run. The справка itself is written by ``workbench.reports``.

Example
-------
>>> rows = parameters_table("004")
>>> rows.loc[rows["Параметр"] == "continue_grade10_min", ["Значение", "Происхождение"]].values.tolist()
[['0,6', 'документ муниципалитета (seed)']]
"""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from workbench.config import Region, load_defaults, load_municipality, load_presets, load_region, resolve_methodology

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


def privacy_of(code: str, region: Region | None = None):
    """The privacy block in force for a municipality: the project's (``params/defaults.yaml``), or the
    municipality's own when its file sets a stricter minimum; a laxer one is not taken (the default protects
    the pupils whatever a file says)."""
    default = load_defaults().privacy
    path = municipality_params_path(code, region)
    own = load_municipality(path).privacy if path else None
    stricter = own is not None and own.min_pupils_publication.value > default.min_pupils_publication.value
    return own if stricter else default


def publication_minimum(code: str, region: Region | None = None) -> int:
    """The fewest pupils a published figure of this municipality may rest on (see :func:`privacy_of`).

    >>> publication_minimum("004")
    5
    """
    return privacy_of(code, region).min_pupils_publication.value


def parameter_text(value) -> str:
    """A parameter's value as the справка prints it: numbers with a decimal comma and no trailing zeros.

    >>> [parameter_text(v) for v in (0.6, 20.0, 5, True, "город", 0.005)]
    ['0,6', '20', '5', 'да', 'город', '0,005']
    """
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, float):
        return f"{value:.10g}".replace(".", ",").replace("-", "−")
    return str(value)


def parameters_table(code: str, region: Region | None = None) -> pd.DataFrame:
    """Every rule parameter in force for a municipality with its value, provenance tag and source (Russian)."""
    defaults = load_defaults()
    name, preset, rule = methodology_of(code, region)
    rows = []
    for section, model in (("Защита данных", privacy_of(code, region)), ("Размер выборки", defaults.sample_size),
                           ("Неопределённость", defaults.uncertainty), ("Типология школ", defaults.typology),
                           (f"Методика «{name}»: {preset.title}", rule)):
        for key, field in model:
            if key == "rule":
                continue
            value = field.value
            shown = ", ".join(map(parameter_text, value)) if isinstance(value, list) else parameter_text(value)
            rows.append({"Раздел": section, "Параметр": key, "Значение": shown,
                         "Происхождение": TAG_RU[field.tag], "Источник": field.source})
    from workbench.context import COMPONENT_TITLES_RU, load_indices

    for spec in load_indices().values():
        for key in ("reference", "min_components", "standardise"):
            field = getattr(spec, key)
            rows.append({"Раздел": spec.title, "Параметр": key, "Значение": parameter_text(field.value),
                         "Происхождение": TAG_RU[field.tag], "Источник": field.source})
        for c in spec.components:
            rows.append({"Раздел": spec.title, "Параметр": f"вес: {COMPONENT_TITLES_RU.get(c.column, c.column)}",
                         "Значение": f"{parameter_text(c.weight.value)} ({'+' if c.direction > 0 else '−'})",
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


# ---------------------------------------------------------------- the run's index

def write_index(run_dir: Path, manifest: dict) -> Path:
    """index.html of a run: every municipality with its status and links to its deliverables."""
    from urllib.parse import quote

    from workbench.roadmap import FILE_NAME

    rows = []
    for code, m in sorted(manifest["municipalities"].items()):
        ok = m["status"] == "ok"
        links = (f'справка: <a href="{code}/report.html">HTML</a> · <a href="{code}/report.docx">DOCX</a>'
                 + (f' · <a href="{code}/report.pdf">PDF</a>' if m.get("pdf", True) else "")
                 + f' · <a href="{code}/tables.xlsx">таблицы Excel</a>'
                 + (f' · <a href="{code}/{quote(FILE_NAME)}">дорожная карта (редактируемая)</a>' if m.get("roadmap") else "")
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
