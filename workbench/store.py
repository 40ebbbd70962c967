"""The store: accepted rows as parquet partitioned by municipality, quarantine, and DuckDB queries.

Layout under the store directory::

    <table>/municipality=<code>/part-<file hash>.parquet   tables with a municipality column
    <table>/part-<file hash>.parquet                        region-wide tables (mark_scales, vpr_tasks)
    _quarantine/<table>/part-<file hash>.parquet            rejected rows with their reasons
    _reports/import-<timestamp>.csv                         import reports (problems of every file)

A part is named by the hash of the file it came from, so importing the same file again replaces its
rows instead of duplicating them. The municipality column stays inside each file as a string; the
folder name only speeds up filtering (pyarrow would infer ``004`` as an integer from the folder).

Example
-------
>>> import pandas as pd, tempfile
>>> s = Store(tempfile.mkdtemp())
>>> _ = s.write("staff", pd.DataFrame({"municipality": ["004", "004"], "teachers": [30, 40]}), "abc")
>>> s.query("SELECT municipality, CAST(sum(teachers) AS INT) AS t FROM staff GROUP BY 1").values.tolist()
[['004', 70]]
"""
from __future__ import annotations

import glob as globmod
import os
import re
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

SAFE = re.compile(r"[^0-9A-Za-zА-Яа-яЁё_\-]")


def _atomic_write(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


class Store:
    """Parquet store of accepted and quarantined rows, queried through DuckDB views."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # -------------------------------------------------------------- writing
    def write(self, table: str, frame: pd.DataFrame, part: str) -> list[Path]:
        """Write rows of one source file; partitioned by municipality when the table has one."""
        written = []
        self.remove_part(table, part)
        if frame.empty:
            return written
        if "municipality" in frame.columns:
            for code, chunk in frame.groupby("municipality", sort=True, dropna=False):
                folder = self.root / table / f"municipality={SAFE.sub('_', str(code))}"
                path = folder / f"part-{part}.parquet"
                _atomic_write(pa.Table.from_pandas(chunk.reset_index(drop=True), preserve_index=False), path)
                written.append(path)
        else:
            path = self.root / table / f"part-{part}.parquet"
            _atomic_write(pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False), path)
            written.append(path)
        return written

    def quarantine(self, table: str, frame: pd.DataFrame, part: str) -> Path | None:
        """Write rejected rows (all values as text, plus reasons) of one source file."""
        path = self.root / "_quarantine" / table / f"part-{part}.parquet"
        if path.exists():
            path.unlink()
        if frame.empty:
            return None
        text = frame.astype("string")
        _atomic_write(pa.Table.from_pandas(text.reset_index(drop=True), preserve_index=False), path)
        return path

    def clear(self) -> None:
        """Remove every table, quarantine and report of this store (only folders the store itself writes)."""
        import shutil

        if not self.root.exists():
            return
        for d in self.root.iterdir():
            if d.is_dir() and (d.name.startswith("_") or any(d.glob("**/part-*.parquet"))):
                shutil.rmtree(d)

    def remove_part(self, table: str, part: str) -> None:
        for p in (self.root / table).glob(f"**/part-{part}.parquet"):
            p.unlink()

    # -------------------------------------------------------------- reading
    def tables(self) -> list[str]:
        """Tables that have at least one part."""
        if not self.root.exists():
            return []
        return sorted(d.name for d in self.root.iterdir()
                      if d.is_dir() and not d.name.startswith("_") and any(d.glob("**/*.parquet")))

    def _glob(self, table: str, municipality: str | None = None) -> str:
        base = self.root / table
        if municipality is not None:
            return str(base / f"municipality={SAFE.sub('_', municipality)}" / "*.parquet")
        return str(base / "**" / "*.parquet")

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per table (and quarantine_<table>) of the store."""
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")  # it would draw over terminals, notebooks and Voila
        for t in self.tables():
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{self._glob(t)}', "
                        "union_by_name=true, hive_partitioning=false)")
        q = self.root / "_quarantine"
        if q.exists():
            for d in sorted(p for p in q.iterdir() if p.is_dir() and any(p.glob("*.parquet"))):
                con.execute(f"CREATE VIEW quarantine_{d.name} AS SELECT * FROM read_parquet('{d}/*.parquet', union_by_name=true)")
        return con

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """Run SQL over the store's views and return a DataFrame (aggregate in SQL, not in pandas)."""
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    def read(self, table: str, municipality: str | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        """Rows of one table, optionally of one municipality only (reads just that partition)."""
        cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        glob = self._glob(table, municipality)
        if not globmod.glob(glob, recursive=True):
            return pd.DataFrame(columns=columns or [])
        with duckdb.connect() as con:
            return con.execute(f"SELECT {cols} FROM read_parquet('{glob}', union_by_name=true, hive_partitioning=false)").df()


def fingerprint(store: Store) -> str:
    """Hash of the store's content: its part files are named by the hash of their source file, so the
    sorted list of part paths identifies the data (used to key caches and --resume)."""
    import hashlib

    pinned = store.root / "_fingerprint"  # a snapshot (compact_copy) carries its source's fingerprint
    if pinned.exists():
        return pinned.read_text(encoding="utf-8").strip()
    parts = sorted(str(p.relative_to(store.root)) for p in store.root.glob("*/**/part-*.parquet")
                   if not p.relative_to(store.root).parts[0].startswith("_"))
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:12]


def compact_copy(store: Store, dest: Path) -> Store:
    """A read-only snapshot with one parquet file per table, rows ordered by municipality.

    An import writes one part per source file and municipality (thousands of small files for a region),
    which makes every query open them all; a run reads the snapshot instead, where row-group statistics
    on the sorted municipality column let DuckDB skip the other municipalities. Built once per data
    fingerprint, atomically.
    """
    import shutil

    dest = Path(dest)
    if (dest / "_complete").exists():
        return Store(dest)
    tmp = dest.with_name(dest.name + f".{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with store.connect() as con:
        for t in store.tables():
            (tmp / t).mkdir(parents=True)
            cols = [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()]
            order = " ORDER BY municipality" if "municipality" in cols else ""
            con.execute(f"COPY (SELECT * FROM {t}{order}) TO '{tmp / t / 'part-snapshot.parquet'}' "
                        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 65536)")
    (tmp / "_fingerprint").write_text(fingerprint(store), encoding="utf-8")  # the snapshot stands for its source
    (tmp / "_complete").write_text("ok", encoding="utf-8")
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(tmp, dest)
    return Store(dest)
