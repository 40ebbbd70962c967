"""School context indices (DOMAIN §4.1, §4.5): social well-being (ИСБШ), staff potential, resources.

Each index is defined in ``params/indices.yaml``: its components (a numeric column of ``schools``,
``context``, ``staff`` or ``resources``, a direction and a ``Tagged`` weight), the reference set across which
components are standardised (``region`` or ``municipality``), the standardisation (``z`` or ``rank``) and
``min_components``, the share of the index's total weight that must be present.

The rule for missing components (never a silent zero): an index is the weighted mean of the components the
school *has*, with the weights re-normalised over them; when the present weight share is below
``min_components`` the index is NaN. Either way the note names what is missing.

Standardisation uses the population standard deviation (``ddof=0``): the reference set is all schools of
the region or municipality, not a sample. A component with zero variance in a reference group (one school,
or all equal) contributes 0 and the note says so.

Example
-------
>>> import pandas as pd
>>> from workbench.context import IndexSpec, compute_index
>>> spec = IndexSpec.model_validate({
...     "title": "Пример", "source": "тест",
...     "reference": {"value": "region", "tag": "heuristic", "source": "тест"},
...     "min_components": {"value": 0.5, "tag": "heuristic", "source": "тест"},
...     "standardise": {"value": "z", "tag": "heuristic", "source": "тест"},
...     "components": [
...         {"column": "share_parents_higher_ed", "table": "context", "direction": 1,
...          "weight": {"value": 1, "tag": "heuristic", "source": "тест"}},
...         {"column": "share_low_income", "table": "context", "direction": -1,
...          "weight": {"value": 1, "tag": "heuristic", "source": "тест"}}]})
>>> frame = pd.DataFrame({"municipality": ["1", "1", "1"],
...                       "share_parents_higher_ed": [0.2, 0.4, 0.6],
...                       "share_low_income": [0.3, 0.2, None]})
>>> out = compute_index(frame, spec)
>>> out["index"].round(3).tolist()
[-1.112, 0.5, 1.225]
>>> out["note"].tolist()[2]
'рассчитан по 1 из 2 показателей (доля веса 0,50); нет данных: Малообеспеченные семьи'
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field, StrictStr, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from workbench.config import ParamsError, Share, Tagged, _Strict, load_yaml_model
from workbench.data.schemas import columns_of

INDEX_TABLES: tuple[str, ...] = ("schools", "context", "staff", "resources")
YEAR_TABLES: tuple[str, ...] = ("context", "staff", "resources")
INDEX_KEYS: tuple[str, ...] = ("social", "staff", "resources")
SCHOOL_COLUMNS: tuple[str, ...] = ("school_id", "municipality", "name", "school_type", "settlement",
                                   "small_class", "distance_km", "enrolment")
_KEYS = {"school_id", "municipality", "year"}
_NUMERIC = {"Int64", "Float64", "boolean"}


def numeric_columns(table: str) -> list[str]:
    """Columns of ``table`` that can be an index component (numbers and yes/no, keys excluded)."""
    return [c for c, m in columns_of(table).items() if m["dtype"] in _NUMERIC and c not in _KEYS]


COMPONENT_TITLES_RU: dict[str, str] = {
    c: columns_of(t)[c]["title"] for t in INDEX_TABLES for c in numeric_columns(t)
}
"""Russian title of every column that can be an index component (from the pandera models' titles)."""


def title_ru(column: str) -> str:
    return COMPONENT_TITLES_RU.get(column, column)


# ---------------------------------------------------------------- parameter models

class IndexComponent(_Strict):
    """One component: a numeric column of a table, its direction (+1 = higher is better off) and weight."""

    table: Literal["schools", "context", "staff", "resources"]
    column: StrictStr
    direction: Literal[1, -1]
    weight: Tagged[Annotated[float, Field(ge=0, le=100)]]

    @field_validator("column")
    @classmethod
    def _column_in_table(cls, v: str, info: ValidationInfo) -> str:
        table = info.data.get("table")
        if table is None:  # the table itself is invalid; that error is reported
            return v
        allowed = numeric_columns(table)
        if v not in allowed:
            raise PydanticCustomError(
                "column_unknown",
                "столбец «{column}» не является числовым столбцом таблицы {table}; допустимые: {allowed}",
                {"column": v, "table": table, "allowed": ", ".join(allowed)})
        return v


class IndexSpec(_Strict):
    """An index: Russian title, provenance, components and how they are standardised and combined."""

    title: StrictStr
    source: StrictStr
    components: Annotated[list[IndexComponent], Field(min_length=1)]
    reference: Tagged[Literal["region", "municipality"]]
    min_components: Tagged[Share]
    standardise: Tagged[Literal["z", "rank"]]

    @model_validator(mode="after")
    def _components_consistent(self):
        cols = [c.column for c in self.components]
        dup = sorted({c for c in cols if cols.count(c) > 1})
        if dup:
            raise PydanticCustomError("components_duplicate", "показатели повторяются: {dup}", {"dup": ", ".join(dup)})
        if not any(c.weight.value > 0 for c in self.components):
            raise PydanticCustomError("weights_zero", "у всех показателей вес 0: индекс не из чего считать", {})
        return self

    def used(self) -> list[IndexComponent]:
        """Components that enter the index (weight > 0)."""
        return [c for c in self.components if c.weight.value > 0]


class IndexBook(_Strict):
    """The three context indices of ``params/indices.yaml``."""

    social: IndexSpec
    staff: IndexSpec
    resources: IndexSpec

    def as_dict(self) -> dict[str, IndexSpec]:
        return {k: getattr(self, k) for k in INDEX_KEYS}


def load_indices(path: str | Path = "indices.yaml") -> dict[str, IndexSpec]:
    """The index definitions by key (``social``, ``staff``, ``resources``); a bad file raises ``ParamsError``
    whose Russian lines name the key, the value and what is allowed."""
    return load_yaml_model(IndexBook, path).as_dict()


# ---------------------------------------------------------------- the school × year frame

def _data_columns(table: str) -> list[str]:
    return [c for c in columns_of(table) if c not in _KEYS]


def school_frame(store, year: int, max_age: int = 2) -> pd.DataFrame:
    """One row per school of ``schools`` with that year's ``context``, ``staff`` and ``resources`` columns.

    A school without a row for ``year`` in a table takes its latest earlier row no older than ``max_age``
    years; ``<table>_year`` records the year used (NA when none, and then the table's columns are NaN).
    A table absent from the store gives NaN columns. ``year`` is the requested year.
    """
    have = set(store.tables())
    if "schools" not in have:
        raise ValueError("в хранилище нет реестра школ (таблица schools): контекстные индексы не из чего считать")
    cols = ", ".join(f'"{c}"' for c in SCHOOL_COLUMNS)
    frame = store.query(f"SELECT {cols} FROM schools ORDER BY school_id")
    frame = frame.drop_duplicates("school_id", keep="last").reset_index(drop=True)
    frame["school_id"] = frame["school_id"].astype(str)
    frame["municipality"] = frame["municipality"].astype(str)
    frame.insert(2, "year", year)
    for table in YEAR_TABLES:
        wanted = _data_columns(table)
        if table in have:
            present = set(store.query(f"SELECT * FROM {table} LIMIT 0").columns)
            sel = ", ".join(f'"{c}"' for c in ["school_id", "year", *[c for c in wanted if c in present]])
            rows = store.query(f"SELECT {sel} FROM {table} WHERE year BETWEEN ? AND ?", [year - max_age, year])
        else:
            rows = pd.DataFrame(columns=["school_id", "year"])
        rows["school_id"] = rows["school_id"].astype(str)
        rows = (rows.sort_values(["school_id", "year"], kind="stable")
                    .drop_duplicates("school_id", keep="last")
                    .rename(columns={"year": f"{table}_year"}))
        for c in wanted:
            if c not in rows.columns:
                rows[c] = np.nan
        rows[f"{table}_year"] = rows[f"{table}_year"].astype("Int64")
        frame = frame.merge(rows[["school_id", f"{table}_year", *wanted]], on="school_id", how="left")
    return frame


# ---------------------------------------------------------------- computing an index

def _as_float(s: pd.Series) -> pd.Series:
    """Numbers as float64 with NaN; booleans as 0/1."""
    if s.dtype == object:
        s = s.map(lambda v: np.nan if v is None or v is pd.NA else v)
    return pd.to_numeric(s.astype("Float64") if s.dtype == bool or str(s.dtype) == "boolean" else s,
                         errors="coerce").astype(float)


def _standardise(x: pd.Series, groups: pd.Series, method: str) -> tuple[pd.Series, pd.Series]:
    """(standardised value, zero-variance flag) of ``x`` within ``groups``; NaN stays NaN."""
    g = x.groupby(groups, dropna=False)
    if method == "z":
        mean, sd = g.transform("mean"), g.transform("std", ddof=0)
        flat = x.notna() & ~(sd > 1e-12)
        z = (x - mean) / sd.where(sd > 1e-12)
    else:  # rank → normal scores (van der Waerden): Φ⁻¹((rank − ½) / n), ties share the mean rank
        from scipy.stats import norm

        r, n = g.rank(method="average"), g.transform("count")
        z = pd.Series(norm.ppf((r - 0.5) / n), index=x.index)
        flat = x.notna() & (g.transform("nunique") <= 1)
    return z.mask(flat, 0.0), flat


def _num(v: float) -> str:
    return f"{v:.2f}".replace(".", ",")


def compute_index(frame: pd.DataFrame, spec: IndexSpec, reference_col: str = "municipality") -> pd.DataFrame:
    """One index for every row of ``frame`` (pure; the frame is not modified).

    Each component with weight > 0 is standardised across the reference set (the whole frame when
    ``spec.reference`` is ``region``, within groups of ``reference_col`` when ``municipality``), multiplied
    by its direction, and averaged with the weights re-normalised over the components the school has. When
    the present weight share is below ``spec.min_components`` the index is NaN. A component column missing
    from ``frame`` counts as missing for every school. Booleans count as 0/1.

    Returns a frame on ``frame``'s index: ``index`` (z-scale, higher = better off), ``components_used``,
    ``weight_present`` (share of the total weight), ``missing`` (Russian titles, comma-separated, "" when
    none), ``note`` (Russian, "" when complete) and ``c_<column>`` per component: its share of the index,
    ``weight / present weight × direction × standardised value``, so the ``c_`` columns sum to ``index``
    (NaN when the component is missing or the index is not computed).
    """
    used = spec.used()
    total = sum(c.weight.value for c in used)
    if spec.reference.value == "region":
        groups = pd.Series(0, index=frame.index)
    else:
        if reference_col not in frame.columns:
            raise ValueError(f"нет столбца «{reference_col}» для группы сравнения по муниципалитетам")
        groups = frame[reference_col].astype(object)
    scores, present, flat = {}, {}, {}
    for c in used:
        x = _as_float(frame[c.column]) if c.column in frame.columns else pd.Series(np.nan, index=frame.index)
        z, fl = _standardise(x, groups, spec.standardise.value)
        scores[c.column], present[c.column], flat[c.column] = c.direction * z, x.notna(), fl
    w = pd.DataFrame({c.column: present[c.column] * c.weight.value for c in used}, index=frame.index)
    w_present = w.sum(axis=1)
    share = w_present / total
    ok = (share >= spec.min_components.value - 1e-12) & (w_present > 0)
    out = pd.DataFrame(index=frame.index)
    contrib = {}
    for c in used:
        contrib[c.column] = (c.weight.value * scores[c.column] / w_present.where(w_present > 0)).where(ok)
    index = pd.DataFrame(contrib).sum(axis=1, min_count=1).where(ok)
    out["index"] = index.astype(float)
    out["components_used"] = pd.DataFrame(present).sum(axis=1).astype(int)
    out["weight_present"] = share.astype(float)
    titles = [title_ru(c.column) for c in used]
    pres = np.column_stack([present[c.column].to_numpy(bool) for c in used])
    flats = np.column_stack([flat[c.column].to_numpy(bool) for c in used])
    n = len(used)
    missing, notes = [], []
    for row_p, row_f, k, sh, good in zip(pres, flats, out["components_used"], share, ok):
        miss = ", ".join(t for t, p in zip(titles, row_p) if not p)
        parts = []
        if not good:
            parts.append(f"индекс не рассчитан: нет данных по {n - k} из {n} показателей "
                         f"(доля веса {_num(sh)} < {_num(spec.min_components.value)})")
        elif k < n:
            parts.append(f"рассчитан по {k} из {n} показателей (доля веса {_num(sh)}); нет данных: {miss}")
        fl = [t for t, f in zip(titles, row_f) if f]
        if fl and good:
            parts.append("не различаются в группе сравнения (вклад 0): " + ", ".join(fl))
        missing.append(miss)
        notes.append("; ".join(parts))
    out["missing"] = pd.Series(missing, index=frame.index, dtype=object)
    out["note"] = pd.Series(notes, index=frame.index, dtype=object)
    for c in used:
        out[f"c_{c.column}"] = contrib[c.column].astype(float)
    return out


def bottom_share_flags(index: pd.Series, share: float) -> pd.Series:
    """True for the bottom ``share`` of the non-NaN values of ``index``; NaN → False.

    k = ⌊share × n⌋ schools (n = non-NaN values; with fewer than 1/share schools none is flagged). A school is
    flagged when at most k schools have a value at or below its own (its rank with ties at the maximum is ≤ k):
    never more than the share, and a tie is taken whole or not at all, so a tie across the boundary is left
    out and, when every school has the same value (all textbooks new), nobody is in the bottom share. The result
    does not depend on row order. The caller reports schools whose index is NaN.

    >>> bottom_share_flags(pd.Series([0.5, -1.0, None, 0.0, -1.0]), 0.5).tolist()
    [False, True, False, False, True]
    >>> bool(bottom_share_flags(pd.Series([1.0] * 8), 0.25).any())
    False
    """
    if not 0 <= share <= 1:
        raise ValueError(f"доля должна быть от 0 до 1, получено {share}")
    x = pd.to_numeric(index, errors="coerce").astype(float)
    k = int(np.floor(share * x.notna().sum() + 1e-9))
    if k == 0:
        return pd.Series(False, index=index.index)
    return (x.rank(method="max") <= k).fillna(False).astype(bool)


def context_indices(store, year: int, book: IndexBook | dict[str, IndexSpec] | None = None, max_age: int = 2,
                    municipality: str | None = None) -> pd.DataFrame:
    """``school_frame`` plus the three indices: ``<key>_index``, ``<key>_components_used``,
    ``<key>_weight_present``, ``<key>_missing``, ``<key>_note`` and ``<key>_c_<column>`` for key in
    ``social``, ``staff``, ``resources``.

    Indices are computed over every school of the store (so a ``region`` reference is the whole region)
    and then, when ``municipality`` is given, the rows are filtered to it.
    """
    specs = load_indices() if book is None else (book.as_dict() if isinstance(book, IndexBook) else book)
    frame = school_frame(store, year, max_age=max_age)
    parts = [frame]
    for key in INDEX_KEYS:
        res = compute_index(frame, specs[key], reference_col="municipality")
        parts.append(res.rename(columns=lambda c: f"{key}_{c}"))
    out = pd.concat(parts, axis=1)
    if municipality is not None:
        out = out[out["municipality"] == str(municipality)].reset_index(drop=True)
    return out


__all__ = ["COMPONENT_TITLES_RU", "IndexBook", "IndexComponent", "IndexSpec", "ParamsError", "bottom_share_flags",
           "compute_index", "context_indices", "load_indices", "numeric_columns", "school_frame"]
