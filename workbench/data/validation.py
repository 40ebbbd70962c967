"""Rule checks of a parsed table against its pandera model, reported as problems (all at once).

Example
-------
>>> import pandas as pd
>>> from workbench.data.tables import _as_dtype
>>> df = pd.DataFrame({"year": [2024], "municipality": ["004"], "school_id": ["edu004001"],
...                    "teachers": [-1], "source_row": [2]})
>>> probs = validate_table(df, "staff", "s.csv", None)
>>> probs.loc[probs.column == "teachers", ["row", "rule"]].values.tolist()
[[2, 'out_of_range']]
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd
import pandera.pandas as pa

from workbench.data import problems as P
from workbench.data.schemas import TABLES, columns_of, describe_check


def _rule_of(check: str) -> tuple[str, str]:
    """Map a pandera check name to (problem rule, Russian 'allowed' text)."""
    allowed = describe_check(check)
    if check.startswith("isin("):
        return "not_allowed", allowed.removeprefix("одно из: ")
    if check.startswith("str_matches("):
        return "pattern_mismatch", allowed
    if re.match(r"(greater|less)_than", check):
        return "out_of_range", allowed
    if check.startswith("str_length(") or check == "not_nullable":
        return "required_empty", ""
    return "row_rule", check


@lru_cache(maxsize=None)
def _rule_schema(table: str) -> pa.DataFrameSchema:
    """The table's schema without dtype checks: readers already typed every column, and a dtype
    mismatch (pandas' ``str`` vs pyarrow strings) would only cost time computing failure cases."""
    schema = TABLES[table].model.to_schema()
    return schema.update_columns({name: {"dtype": None} for name in schema.columns})


_FAILURE_COLUMNS = ["index", "column", "failure_case", "check", "schema_context"]


def _column_failures(name: str, values: pd.Series, nullable: bool, checks) -> list[pd.DataFrame]:
    """Failures of one column under the built-in checks the schemas use, computed with vectorised
    operations (pandera evaluates the same checks several times slower): null where not nullable, then
    each check on the non-null values only, as pandera's ``ignore_na`` does."""
    out = []
    null = values.isna().to_numpy(dtype=bool)
    if not nullable and null.any():
        out.append(pd.DataFrame({"index": np.flatnonzero(null), "column": name, "failure_case": None,
                                 "check": "not_nullable", "schema_context": "Column"}))
    present = np.flatnonzero(~null)
    v = values.iloc[present]
    for check in checks:
        stats = check.statistics
        if check.name == "greater_than_or_equal_to":
            bad = (v < stats["min_value"]).to_numpy(dtype=bool)
        elif check.name == "less_than_or_equal_to":
            bad = (v > stats["max_value"]).to_numpy(dtype=bool)
        elif check.name == "isin":
            bad = ~v.isin(stats["allowed_values"]).to_numpy(dtype=bool)
        elif check.name == "str_matches":
            import pyarrow as pyarrow
            import pyarrow.compute as pc

            bad = ~pc.match_substring_regex(pyarrow.array(v.astype(str).to_numpy(dtype=object), type=pyarrow.string()),
                                            stats["pattern"]).to_numpy(zero_copy_only=False)
        elif check.name == "str_length":
            n = v.astype(str).str.len()
            bad = (((n < stats["min_value"]) if stats.get("min_value") is not None else False)
                   | ((n > stats["max_value"]) if stats.get("max_value") is not None else False))
            bad = np.asarray(bad, dtype=bool)
        else:
            raise NotImplementedError(check.name)
        if bad.any():
            out.append(pd.DataFrame({"index": present[bad], "column": name,
                                     "failure_case": v.iloc[np.flatnonzero(bad)].to_numpy(dtype=object),
                                     "check": check.error, "schema_context": "Column"}))
    return out


FAST_CHECKS = {"greater_than_or_equal_to", "less_than_or_equal_to", "isin", "str_matches", "str_length"}


def _failure_cases(schema: pa.DataFrameSchema, work: pd.DataFrame) -> pd.DataFrame:
    """Every failure of ``work`` under ``schema`` (columns as pandera's ``failure_cases`` names them).

    Column checks of the built-in kinds are evaluated here; any other column check and the table's row
    checks (``dataframe_check``) go through pandera itself."""
    parts: list[pd.DataFrame] = []
    rest: dict[str, pa.Column] = {}
    for name, col in schema.columns.items():
        if any(c.name not in FAST_CHECKS for c in col.checks):
            rest[name] = col
            continue
        targets = [c for c in work.columns if re.fullmatch(name, c)] if col.regex else \
            ([name] if name in work.columns else [])
        for c in targets:
            parts += _column_failures(c, work[c], col.nullable, col.checks)
    if rest or schema.checks:
        try:
            pa.DataFrameSchema(rest, checks=schema.checks, name=schema.name).validate(work, lazy=True)
        except pa.errors.SchemaErrors as e:
            parts.append(e.failure_cases[_FAILURE_COLUMNS])
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_FAILURE_COLUMNS)


def validate_table(frame: pd.DataFrame, table: str, file: str | None = None, sheet: str | None = None) -> pd.DataFrame:
    """Problems for every rule violated in ``frame`` (lazy validation: every failure at once).

    ``frame`` carries ``source_row`` (and ``source_file``/``source_sheet`` when ``file`` is not given,
    so rows of many files can be checked in one call); an ``_item`` column is passed through to the
    problems so the caller can tell the files apart.
    """
    cols = columns_of(table)
    present = [c for c in cols if c in frame.columns]
    work = frame.reset_index(drop=True)
    schema = _rule_schema(table)
    for c in cols:
        # Problems of absent columns are dropped below (the reader reported the column): they are added
        # empty only for the table's row checks, which may name them. ВПР rows carry task_01..task_13 of
        # task_01..task_40: 27 empty columns would otherwise be built and checked for nothing.
        if c not in work.columns and schema.checks:
            work[c] = pd.Series([pd.NA] * len(work), dtype="object")
    fc = _failure_cases(schema, work[[c for c in cols if c in work.columns]])
    records: list[dict] = []
    if len(fc):
        for rec in fc.itertuples(index=False):
            idx = rec.index
            if idx is None or pd.isna(idx):
                continue  # column-level failures (absent columns) were reported by the reader
            i = int(idx)
            row = work["source_row"].iloc[i]
            f = file if file is not None else work["source_file"].iloc[i]
            sh = sheet if file is not None else (work["source_sheet"].iloc[i] if "source_sheet" in work else None)
            sh = None if sh is None or pd.isna(sh) else sh
            check = str(rec.check)
            if rec.schema_context == "DataFrameSchema":  # a row-level (dataframe) check
                rec_ = P.problem(f, sh, row, None, None, "row_rule", detail=check)
            else:
                rule, allowed = _rule_of(check)
                rec_ = P.problem(f, sh, row, rec.column, rec.failure_case, rule, allowed=allowed, detail=check)
            if "_item" in work:
                rec_["_item"] = work["_item"].iloc[i]
            records.append(rec_)
    probs = P.frame(records)
    if "_item" in work:
        probs["_item"] = [r.get("_item") for r in records]
    return probs[~probs.column.isin(set(cols) - set(present)) | probs.column.isna()] if len(probs) else probs


def duplicate_keys(frame: pd.DataFrame, table: str, file: str, sheet: str | None) -> pd.DataFrame:
    """A ``duplicate_key`` error for every later row repeating an earlier row's key within the file."""
    key = [k for k in TABLES[table].key if k in frame.columns]
    if not key or frame.empty:
        return P.frame([])
    dup = frame.duplicated(key, keep="first")
    if not dup.any():
        return P.frame([])
    first_row = frame.groupby(key, dropna=False)["source_row"].transform("first")
    return P.frame([
        P.problem(file, sheet, r.source_row, ", ".join(key), "; ".join(str(getattr(r, k)) for k in key),
                  "duplicate_key", detail="(" + ", ".join(key) + ")", other=first)
        for r, first in zip(frame[dup].itertuples(index=False), first_row[dup])
    ])
