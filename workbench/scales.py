"""Mark scales (ВПР primary score -> mark 2..5) as data keyed by year, subject and grade.

Scales change every year and are published by FIOKO; they live in ``params/mark_scales.csv`` (with a
``source`` column) and may be extended by an imported ``mark_scales`` table.

Example
-------
>>> import pandas as pd
>>> book = ScaleBook(pd.DataFrame({"year": [2022], "subject": ["math"], "grade": [4], "max_score": [20],
...                                "min3": [6], "min4": [10], "min5": [15], "source": ["x"]}))
>>> book.marks(2022, "math", 4, pd.Series([0, 5, 6, 9, 10, 14, 15, 20])).tolist()
[2, 2, 3, 3, 4, 4, 5, 5]
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbench.paths import PARAMS_DIR

SCALE_COLUMNS = ["year", "subject", "grade", "max_score", "min3", "min4", "min5", "source"]


def load_scales(path: Path | None = None) -> pd.DataFrame:
    """Read a mark-scale CSV (default: the one shipped in params/) with typed columns."""
    path = path or PARAMS_DIR / "mark_scales.csv"
    df = pd.read_csv(path, dtype={"subject": str, "source": str}, comment="#")
    for c in ("year", "grade", "max_score", "min3", "min4", "min5"):
        df[c] = df[c].astype("Int64")
    return df[SCALE_COLUMNS]


class ScaleBook:
    """Lookup of scales by (year, subject, grade); later rows override earlier ones."""

    def __init__(self, scales: pd.DataFrame):
        self.table = scales[SCALE_COLUMNS].drop_duplicates(["year", "subject", "grade"], keep="last").reset_index(drop=True)
        self._index()

    def _index(self) -> None:
        self._by_key = {(int(r.year), str(r.subject), int(r.grade)): r for r in self.table.itertuples(index=False)}

    # pickled as its table (reader processes of a parallel import get a copy): itertuples' rows cannot be pickled
    def __getstate__(self) -> dict:
        return {"table": self.table}

    def __setstate__(self, state: dict) -> None:
        self.table = state["table"]
        self._index()

    def get(self, year: int, subject: str, grade: int):
        """The scale row (namedtuple) or None."""
        return self._by_key.get((int(year), str(subject), int(grade)))

    def marks(self, year: int, subject: str, grade: int, scores: pd.Series) -> pd.Series:
        """Marks for primary scores (NA where the score is NA or there is no scale)."""
        s = self.get(year, subject, grade)
        values = pd.to_numeric(scores, errors="coerce").astype("Float64")
        if s is None:
            return pd.Series(pd.NA, index=scores.index, dtype="Int64")
        v = values.to_numpy(dtype=float, na_value=np.nan)
        m = np.select([v >= s.min5, v >= s.min4, v >= s.min3], [5, 4, 3], default=2).astype(float)
        m[np.isnan(v)] = np.nan
        return pd.Series(m, index=scores.index).astype("Int64")

    def extended(self, more: pd.DataFrame) -> "ScaleBook":
        """A new book with ``more`` rows added (they win on equal keys)."""
        return ScaleBook(pd.concat([self.table, more[SCALE_COLUMNS]], ignore_index=True))
