"""Rule checks of a parsed table against its pandera model, reported as problems (all at once).

Example
-------
>>> import pandas as pd
>>> from workbench.tables import _as_dtype
>>> df = pd.DataFrame({"year": [2024], "municipality": ["004"], "school_id": ["edu004001"],
...                    "teachers": [-1], "source_row": [2]})
>>> probs = validate_table(df, "staff", "s.csv", None)
>>> probs.loc[probs.column == "teachers", ["row", "rule"]].values.tolist()
[[2, 'out_of_range']]
"""
from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa

from workbench import problems as P
from workbench.schemas import TABLES, columns_of, describe_check


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


def validate_table(frame: pd.DataFrame, table: str, file: str, sheet: str | None) -> pd.DataFrame:
    """Problems for every rule violated in ``frame`` (lazy validation: every failure at once).

    ``frame`` must carry ``source_row``; cells already NA because they failed to parse are reported
    by the reader, so a 'not_nullable' failure on them is not reported twice here.
    """
    model = TABLES[table].model
    cols = columns_of(table)
    present = [c for c in cols if c in frame.columns]
    work = frame.reset_index(drop=True)
    for c in cols:
        if c not in work.columns:
            work[c] = pd.Series([pd.NA] * len(work), dtype="object")
    records: list[dict] = []
    try:
        model.validate(work[list(cols)], lazy=True)
    except pa.errors.SchemaErrors as e:
        fc = e.failure_cases
        for rec in fc.itertuples(index=False):
            idx = rec.index
            row = work["source_row"].iloc[int(idx)] if idx is not None and not pd.isna(idx) else None
            check = str(rec.check)
            if rec.schema_context == "DataFrameSchema":  # a row-level (dataframe) check
                if idx is None or pd.isna(idx):
                    continue
                records.append(P.problem(file, sheet, row, None, None, "row_rule", detail=check))
                continue
            if check.startswith("dtype(") or check.startswith("column_in_dataframe"):
                continue  # types were set by the parser; absent columns were reported as missing_column
            rule, allowed = _rule_of(check)
            records.append(P.problem(file, sheet, row, rec.column, rec.failure_case, rule, allowed=allowed, detail=check))
    probs = P.frame(records)
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
