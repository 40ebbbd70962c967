"""The first call of every production notebook: validated parameters, the store, the report, the cache.

Papermill only warns about unknown parameters, so the package validates them here. Region-wide
results that every municipality needs come from ``workbench.results`` (cached by the store's fingerprint and
their arguments): the runner warms the cache once per run, each notebook then reads it.

Example
-------
>>> ctx = start_section(municipality="004", year=2026, store="data/store", output_dir="/tmp/x",
...                     cache_dir="/tmp/c", section="Обзор")            # doctest: +SKIP
>>> ref = ctx.region_cached("region_reference", year=2026)               # doctest: +SKIP
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from workbench.config import load_region
from workbench.reports.deliverables import data_sources, parameters_table, publication_minimum
from workbench.reports.builder import Report
from workbench.results import RegionResults
from workbench.data.store import Store, fingerprint


@dataclass
class SectionContext:
    municipality: str
    year: int
    name: str
    store: Store
    report: Report
    cache_dir: Path
    data_hash: str
    data_warning: str = ""        # Russian: tables missing for the year (said at the top of the first section)

    @property
    def results(self) -> RegionResults:
        """The region-wide results of the store (computed once per run, read by every notebook)."""
        return RegionResults.shared(self.store, self.cache_dir, self.data_hash)

    def region_cached(self, name: str, **kwargs) -> pd.DataFrame:
        """A region-wide table by name (see ``results.FRAMES``)."""
        return self.results.frame(name, **kwargs)

    def publish_parameters_and_sources(self) -> None:
        """The report's methodology section: parameters with provenance tags, data sources with dates."""
        self.report.table(parameters_table(self.municipality), "parameters", "Параметры и их происхождение",
                          "Каждое правило и порог, применённые в отчёте, с пометкой, откуда взято значение: документ "
                          "муниципалитета, официальный документ, вторичный источник или эвристика по умолчанию.",
                          columns={c: c for c in ("Раздел", "Параметр", "Значение", "Происхождение", "Источник")},
                          appendix_only=True, sheet="Параметры")
        self.report.table(data_sources(self.store, self.municipality), "sources", "Источники данных",
                          "Входные таблицы хранилища: число строк по муниципалитету, число файлов-источников и "
                          "время загрузки.", columns={c: c for c in ("Таблица", "Строк", "Файлов-источников", "Загружено")},
                          sheet="Источники данных")


def start_section(*, municipality: str, year: int, store: str | Path, output_dir: str | Path, cache_dir: str | Path,
                  section: str, region: str = "regions/demo.yaml") -> SectionContext:
    """Validate the notebook's parameters and return what its cells use. Errors are Russian and precise."""
    if not isinstance(municipality, str) or not re.fullmatch(r"[0-9A-Za-zА-Яа-яЁё_\-]{1,16}", municipality):
        raise ValueError(f"Параметр municipality = {municipality!r}: ожидается строковый код муниципалитета, например \"004\"")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValueError(f"Параметр year = {year!r}: ожидается год числом, например 2026")
    st = Store(store)
    status = st.status()
    problem = status.problem_ru()
    if problem and not st.pinned:
        # a version folder handed over by the runner is complete by construction, even if an import runs now
        raise ValueError(f"Параметр store = {str(store)!r}: {problem}")
    known = st.query("SELECT DISTINCT municipality FROM schools").municipality.tolist()
    if municipality not in known:
        raise ValueError(f"Параметр municipality = {municipality!r}: нет в реестре школ хранилища; есть: {', '.join(sorted(known))}")
    reg = load_region(region)
    names = {m.code: m.name for m in reg.municipalities}
    min_n = publication_minimum(municipality, reg)
    rep = Report(output_dir, section=section, min_n=min_n)
    missing = status.missing_for_year(year)
    warning = (f"**Внимание: данные неполны.** За {year} год в хранилище нет таблиц: {missing}. Разделы, "
               "которые на них опираются, неполны; показатели по ним не рассчитаны.") if missing else ""
    if warning and rep.order == 0:   # once, at the top of the municipality's first section
        rep.warning(warning)
    return SectionContext(municipality, year, names.get(municipality, municipality), st, rep, Path(cache_dir),
                          fingerprint(st), warning)
