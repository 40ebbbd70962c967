"""The vectorised rule checks give exactly pandera's failures, table by table, on frames with planted errors."""
import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from workbench.data.schemas import TABLES, columns_of
from workbench.data.validation import _failure_cases, _rule_schema, validate_table


def _pandera(schema, work) -> set:
    try:
        schema.validate(work, lazy=True)
    except pa.errors.SchemaErrors as e:
        fc = e.failure_cases
        return {(None if pd.isna(r.index) else int(r.index), r.column, None if pd.isna(r.failure_case) else str(r.failure_case),
                 str(r.check)) for r in fc.itertuples(index=False)}
    return set()


def _fast(schema, work) -> set:
    fc = _failure_cases(schema, work)
    return {(None if pd.isna(r.index) else int(r.index), r.column, None if pd.isna(r.failure_case) else str(r.failure_case),
             str(r.check)) for r in fc.itertuples(index=False)}


def _planted(table: str, seed: int) -> pd.DataFrame:
    """Rows mixing valid values, out-of-range numbers, wrong codes, bad ids, empty strings and nulls."""
    rng = np.random.default_rng(seed)
    n = 60
    cols = dict(columns_of(table))
    if table == "vpr":
        cols.update({f"task_{j:02d}": {"dtype": "Int64"} for j in (1, 2, 13)})
    data = {}
    for c, meta in cols.items():
        kind = meta["dtype"]
        if kind == "Int64":
            pool = [-5, 0, 1, 2, 3, 4, 5, 7, 11, 21, 150, 250, 2024, 1999, 2101, None]
            data[c] = pd.array(rng.choice(np.array(pool, dtype=object), n), dtype="Int64")
        elif kind == "Float64":
            pool = [-1.5, 0.0, 0.3, 1.0, 2.5, 55.0, 101.0, 500.0, None]
            data[c] = pd.array(rng.choice(np.array(pool, dtype=object), n), dtype="Float64")
        elif kind == "boolean":
            data[c] = pd.array(rng.choice(np.array([True, False, None], dtype=object), n), dtype="boolean")
        elif kind.startswith("datetime"):
            data[c] = pd.to_datetime(rng.choice(np.array(["2024-01-10", "2025-05-01", None], dtype=object), n))
        else:
            pool = ["edu004001", "004", "rus", "math", "М", "Ж", "ОГЭ", "ЕГЭ", "город", "село", "СОШ", "12345",
                    "", "a b", "x" * 40, "ёж_1", None]
            data[c] = pd.array(rng.choice(np.array(pool, dtype=object), n), dtype="str")
    return pd.DataFrame(data)


@pytest.mark.parametrize("table", sorted(TABLES))
@pytest.mark.parametrize("seed", [1, 2])
def test_fast_checks_equal_pandera(table, seed):
    schema = _rule_schema(table)
    work = _planted(table, seed)
    expected = _pandera(schema, work)
    assert expected, "the planted frame must break some rule, or the comparison proves nothing"
    assert _fast(schema, work) == expected


def test_validate_table_reports_planted_errors_by_row():
    df = pd.DataFrame({"year": pd.array([2024, 1990], dtype="Int64"), "municipality": ["004", "004"],
                       "school_id": ["edu004001", "bad id"], "teachers": pd.array([35, -3], dtype="Int64"),
                       "source_row": [2, 3]})
    probs = validate_table(df, "staff", "s.csv", None)
    got = sorted(zip(probs.row, probs.column, probs.rule))
    assert got == [(3, "school_id", "pattern_mismatch"), (3, "teachers", "out_of_range"), (3, "year", "out_of_range")]
