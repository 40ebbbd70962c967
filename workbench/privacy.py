"""Small-cell suppression: the one gate every municipal table passes before it leaves the workbench.

A cell computed from fewer pupils than the configured threshold (DOMAIN §10: 5 for publication,
a heuristic default in ``params/defaults.yaml``) is hidden: its values become NA and the row is marked.

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"school": ["a", "b"], "participants": [30, 3], "mean_pct": [55.0, 71.0]})
>>> out = suppress(df, count="participants", values=["mean_pct"], min_n=5)
>>> out["mean_pct"].tolist(), out["suppressed"].tolist()
([55.0, nan], [False, True])
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MARK = "скрыто"


def suppress(df: pd.DataFrame, *, count: str, values: list[str], min_n: int,
             pupil_rows: pd.Series | None = None) -> pd.DataFrame:
    """Hide ``values`` (and the count itself) where ``count`` < ``min_n``; add a boolean ``suppressed``.

    ``pupil_rows`` (boolean by row; default: all) says which rows hold values computed from pupils; the others
    (context indices, staff data) are never hidden, whatever their count.

    >>> d = pd.DataFrame({"n": [3, None], "v": [0.4, -1.2]})
    >>> suppress(d, count="n", values=["v"], min_n=5, pupil_rows=d["n"].notna())["v"].tolist()
    [nan, -1.2]
    """
    out = df.copy()
    small = out[count].fillna(0).astype(float) < min_n
    if pupil_rows is not None:
        small &= pd.Series(pupil_rows, index=out.index).fillna(True).astype(bool)
    for c in values + [count]:
        out[c] = out[c].astype("float64").where(~small, np.nan)
    out["suppressed"] = small.to_numpy()
    return out


def suppression_note(min_n: int) -> str:
    """The Russian note every report prints under suppressed tables."""
    return (f"Значения, рассчитанные менее чем по {min_n} участникам, скрыты (отмечены «{MARK}») "
            "для защиты персональных данных.")
