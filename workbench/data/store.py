"""The store: versioned, query-ready parquet that an import replaces atomically, queried through DuckDB.

Layout under the store directory::

    current -> versions/<id>                         the live version (a symlink, swapped atomically)
    versions/<id>/manifest.json                      what the version holds (tables, years, municipalities,
                                                     source files with hashes and row counts, imports)
    versions/<id>/tables/<table>/<municipality>.parquet   one file per table and municipality, sorted by year
    versions/<id>/tables/<table>/_all.parquet        tables without a municipality column (mark_scales, ...)
    versions/<id>/quarantine/<table>.parquet         rejected rows (all values as text) with their reasons
    versions/<id>/reports/import-<stamp>.csv         import reports: the problems of every file
    staging/<id>/                                    the version an import is building (never read)
    import.lock, import.json                         the running import (a lock) / its start record

Why immutable parquet versions and not a DuckDB database file: many processes read the store at the same
time (runner kernels, Voila kernels, researchers' notebooks) and an import may run meanwhile. A DuckDB
file has one writer that locks other processes out while it writes; here every reader keeps the version it
opened, and an import publishes a new version by renaming one symlink, so a reader sees the state before
an import or after it, never a mix, even when the import is killed. One file per (table, municipality)
keeps a municipality's query to one file (row groups sorted by year let DuckDB skip the other years), and
lets an import rewrite only the municipalities it touches: unchanged files are hard-linked from the
previous version, so a version costs only what changed.

Every stored row carries ``source_id`` (the hash of the file it came from) and ``source_file`` (its path
relative to the import root): importing a file again — the same content, or a new content at the same
path — replaces exactly its rows.

Example
-------
>>> import pandas as pd, tempfile
>>> s = write_frames(tempfile.mkdtemp(), {"staff": pd.DataFrame({"municipality": ["004", "004"], "teachers": [30, 40]})})
>>> s.query("SELECT municipality, CAST(sum(teachers) AS INT) AS t FROM staff GROUP BY 1").values.tolist()
[['004', 70]]
>>> s.status().completed, s.status().tables["staff"]["rows"]
(True, 2)
"""
from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

FORMAT = 2                      # layout version written into every manifest
SAFE = re.compile(r"[^0-9A-Za-zА-Яа-яЁё_\-]")
ALL = "_all"                    # file name of a table without a municipality column
KEEP_VERSIONS = 2               # the current one and the one before (readers may still hold it)
SORT_COLUMNS = ("year", "subject", "grade", "school_id")
STAGE_ROWS = 200_000            # accepted rows buffered per table before they are staged as parquet
MERGE_BATCH_ROWS = 100_000       # rows per batch of the sorted read that writes a table's files
MERGE_ROW_GROUP = 100_000        # rows per row group of a store file


# Tables the report's sections read for its year (vpr is required; without the others sections are incomplete).
YEAR_TABLES = {"exams": "ОГЭ/ЕГЭ", "context": "контекстные данные", "staff": "кадры", "resources": "ресурсы",
               "outcomes": "дальнейшее обучение и олимпиады"}


class StoreError(RuntimeError):
    """A store that cannot be read as asked; the message is Russian and says what to do."""


# ---------------------------------------------------------------- small file-system helpers

def _fsync(path: Path) -> None:
    """Flush a file or directory to disk: a power cut after the publishing rename must not lose data."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    _fsync(tmp)
    os.replace(tmp, path)


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:         # another file system or no hard links: a copy is as good, only slower
        shutil.copy2(src, dst)


def _checkpoint(name: str) -> None:
    """Test instrumentation: ``WORKBENCH_FAULT=<name>`` kills the process here, as a power cut would."""
    if os.environ.get("WORKBENCH_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def file_name(municipality: object) -> str:
    """The file of one municipality within a table folder.

    >>> file_name("0301"), file_name(None)
    ('0301.parquet', '_na.parquet')
    """
    if municipality is None or (isinstance(municipality, float) and pd.isna(municipality)) or municipality is pd.NA:
        return "_na.parquet"
    return f"{SAFE.sub('_', str(municipality))}.parquet"


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def duckdb_connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with explicit limits (defaults would take every core and 80 % of memory in each
    kernel) and no progress bar (it draws over terminals, notebooks and Voila). ``WORKBENCH_DUCKDB_THREADS``
    and ``WORKBENCH_DUCKDB_MEMORY`` override the defaults (2 threads, 2GB).

    >>> duckdb_connect().execute("SELECT current_setting('threads')").fetchone()[0] >= 1
    True
    """
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET threads = {int(os.environ.get('WORKBENCH_DUCKDB_THREADS', min(2, os.cpu_count() or 1)))}")
    con.execute(f"SET memory_limit = '{os.environ.get('WORKBENCH_DUCKDB_MEMORY', '2GB')}'")
    return con


# ---------------------------------------------------------------- status

@dataclass
class StoreStatus:
    """What a store holds and whether it may be used (see :meth:`Store.status`)."""
    root: Path
    completed: bool                          # a completed import exists
    version: str | None = None
    completed_at: str | None = None
    tables: dict[str, dict] = field(default_factory=dict)
    quarantine: dict[str, int] = field(default_factory=dict)
    sources: dict[str, dict] = field(default_factory=dict)
    imports: list[dict] = field(default_factory=list)
    running: dict | None = None              # the start record of an import running now
    interrupted: dict | None = None          # the start record of an import that died before publishing
    legacy: bool = False                     # a store written by an older workbench (before versions)

    def problem_ru(self) -> str | None:
        """Why the store must not be used by a run or a dashboard, in Russian (None when it may)."""
        where = f"Хранилище {self.root}"
        if self.legacy:
            return (f"{where} записано прежней версией программы (до атомарной загрузки). Загрузите данные заново: "
                    f"workbench import ПАПКА --store {self.root} --replace.")
        if self.running:
            return (f"{where}: идёт загрузка (начата {self.running.get('started', '?')}, процесс "
                    f"{self.running.get('pid', '?')}). Дождитесь её окончания.")
        if self.interrupted:
            before = (f"в нём остались данные загрузки от {self.completed_at}" if self.completed
                      else "завершённых загрузок в нём нет")
            return (f"{where}: последняя загрузка (начата {self.interrupted.get('started', '?')}) была прервана и не "
                    f"завершена; {before}. Повторите загрузку: workbench import … --store {self.root}.")
        if not self.completed:
            return (f"{where} пусто: нет ни одной завершённой загрузки. Сначала выполните workbench import "
                    "(для демонстрационного региона — make run).")
        return None

    def years(self, table: str) -> list[int]:
        return list(self.tables.get(table, {}).get("years", []))

    def missing_for_year(self, year: int) -> str:
        """Russian list of the tables the report's sections need that have no rows for ``year`` ('' if none).

        >>> StoreStatus(Path("."), True, tables={"exams": {"years": [2025, 2026]}}).missing_for_year(2026)
        'контекстные данные (context), кадры (staff), ресурсы (resources), дальнейшее обучение и олимпиады (outcomes)'
        """
        return ", ".join(f"{ru} ({t})" for t, ru in YEAR_TABLES.items() if year not in self.years(t))

    def lines_ru(self) -> list[str]:
        """What the store holds, in Russian, for ``workbench store``."""
        out = [f"Хранилище: {self.root}"]
        problem = self.problem_ru()
        if problem:
            out.append("ВНИМАНИЕ: " + problem)
        if not self.completed:
            return out
        out.append(f"Версия данных: {self.version}; последняя завершённая загрузка: {self.completed_at}.")
        out.append(f"{'Таблица':14} {'Строк':>10} {'Файлов':>7} {'Годы':18} {'Муниципалитетов':>15} {'Карантин':>9}")
        for t, info in sorted(self.tables.items()):
            years = info.get("years") or []
            span = "—" if not years else (str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}")
            files = sum(1 for s in self.sources.values() if s.get("table") == t)
            out.append(f"{t:14} {info['rows']:>10} {files:>7} {span:18} {len(info.get('municipalities') or []):>15} "
                       f"{self.quarantine.get(t, 0):>9}")
        empty_q = {t: n for t, n in self.quarantine.items() if t not in self.tables and n}
        for t, n in sorted(empty_q.items()):
            out.append(f"{t:14} {0:>10} {'':>7} {'—':18} {'':>15} {n:>9}")
        out.append(f"Файлов-источников: {len(self.sources)}; загрузок: {len(self.imports)}.")
        if self.imports:
            last = self.imports[-1]
            out.append(f"Последний отчёт о проблемах: {self.root / 'current' / last['report']}")
        return out


# ---------------------------------------------------------------- reading

class Store:
    """A store opened for reading: the version that was current when it was opened, read through DuckDB.

    The version is pinned: an import that finishes meanwhile publishes a new version, which a new
    ``Store`` (a new query session, a reloaded dashboard page) sees. ``Store(root).status()`` tells
    whether the store may be used.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._con: duckdb.DuckDBPyConnection | None = None
        self.version_dir: Path | None = None
        self.manifest: dict = {}
        self.pinned = False       # opened at a version folder, not at the store's current version
        current = self.root / "current"
        if (self.root / "manifest.json").exists() and self.root.parent.name == "versions":
            # a version folder itself (what the runner hands its kernels): pinned to exactly that version
            self.version_dir, self.root, self.pinned = self.root, self.root.parent.parent, True
            self.manifest = json.loads((self.version_dir / "manifest.json").read_text(encoding="utf-8"))
        elif current.exists():
            self.version_dir = Path(os.path.realpath(current))
            try:
                self.manifest = json.loads((self.version_dir / "manifest.json").read_text(encoding="utf-8"))
            except FileNotFoundError:  # a version collected after this reader resolved it: read the newest
                self.version_dir = Path(os.path.realpath(current))
                self.manifest = json.loads((self.version_dir / "manifest.json").read_text(encoding="utf-8"))

    def reopen(self) -> "Store":
        """The same store at its current version (after an import that finished since this one was opened)."""
        return Store(self.root)

    # ---------------------------------------------------------- what is here
    @property
    def version(self) -> str | None:
        return self.manifest.get("version")

    def status(self) -> StoreStatus:
        """Completed import, running or interrupted import, tables with years and municipalities."""
        m = self.manifest
        st = StoreStatus(self.root, bool(m), m.get("version"), m.get("completed"), m.get("tables", {}),
                         m.get("quarantine", {}), m.get("sources", {}), m.get("imports", []),
                         legacy=not m and _is_legacy(self.root))
        record = _read_json(self.root / "import.json")
        if record and record.get("version") != m.get("version"):
            if _lock_is_held(self.root / "import.lock"):
                st.running = record
            else:
                st.interrupted = record
        return st

    def require_complete(self) -> "Store":
        """This store, or a :class:`StoreError` saying in Russian why it must not be used."""
        problem = self.status().problem_ru()
        if problem:
            raise StoreError(problem)
        return self

    def tables(self) -> list[str]:
        """Tables that hold at least one row."""
        return sorted(t for t, info in self.manifest.get("tables", {}).items() if info.get("rows"))

    def files(self, table: str, municipality: str | None = None) -> list[Path]:
        """Parquet files of a table (of one municipality only, when given and the table has municipalities)."""
        info = self.manifest.get("tables", {}).get(table)
        if not info or self.version_dir is None:
            return []
        names = info["files"]
        if municipality is not None and info.get("by_municipality"):
            names = {k: v for k, v in names.items() if k == file_name(municipality)}
        return [self.version_dir / "tables" / table / n for n in sorted(names)]

    def quarantine_file(self, table: str) -> Path | None:
        if self.version_dir is None or not self.manifest.get("quarantine", {}).get(table):
            return None
        return self.version_dir / "quarantine" / f"{table}.parquet"

    # ---------------------------------------------------------- queries
    def connect(self) -> duckdb.DuckDBPyConnection:
        """A cursor of this store's connection, which has one view per table (and ``quarantine_<table>``)."""
        if self._con is None:
            con = duckdb_connect()
            for t in self.tables():
                con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet({_sql_list(self.files(t))}, "
                            "union_by_name=true, hive_partitioning=false)")
            for t, n in self.manifest.get("quarantine", {}).items():
                if n:
                    con.execute(f"CREATE VIEW quarantine_{t} AS SELECT * FROM read_parquet('{self.quarantine_file(t)}')")
            self._con = con
        return self._con.cursor()  # callers close the cursor, never the shared connection

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """Run SQL over the store's views and return a DataFrame (aggregate in SQL, not in pandas)."""
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    def read(self, table: str, municipality: str | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        """Rows of one table, optionally of one municipality only (reads just that file)."""
        files = self.files(table, municipality)
        if not files:
            return pd.DataFrame(columns=columns or [])
        cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        with self.connect() as con:
            return con.execute(f"SELECT {cols} FROM read_parquet({_sql_list(files)}, union_by_name=true, "
                               "hive_partitioning=false)").df()


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _is_legacy(root: Path) -> bool:
    """A store of the first layout: <table>/[municipality=<code>/]part-<hash>.parquet, no versions."""
    return root.is_dir() and any(root.glob("*/**/part-*.parquet")) and not (root / "versions").exists()


def _lock_is_held(path: Path) -> bool:
    if not path.exists():
        return False
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return True
            raise
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def fingerprint(store: Store) -> str:
    """Hash of the store's content (its tables' source files), to key caches and ``--resume``: a re-import
    of the same files gives the same fingerprint.

    >>> import tempfile
    >>> fingerprint(Store(tempfile.mkdtemp()))
    'empty'
    """
    return store.manifest.get("data_hash", "empty")


# ---------------------------------------------------------------- writing: one import = one transaction

@dataclass
class Source:
    """One imported file as the manifest records it."""
    id: str                  # hash of the file's content
    path: str                # absolute path when imported
    relative: str            # path relative to the import root: what reports and source_file show
    table: str | None
    size: int = 0
    format: str | None = None
    rows_read: int = 0
    accepted: int = 0
    quarantined: int = 0
    imported: str = ""
    tables: dict[str, list[str]] = field(default_factory=dict)   # table -> municipality files it wrote to


@dataclass
class Staged:
    """Parts a :class:`Stager` wrote: accepted rows by (table, municipality file) and quarantined rows by table,
    and which municipality files each source's rows went to."""
    parts: dict[tuple[str, str], list[Path]] = field(default_factory=dict)
    qparts: dict[str, list[Path]] = field(default_factory=dict)
    source_files: dict[str, dict[str, list[str]]] = field(default_factory=dict)   # source id -> table -> files

    def update(self, other: "Staged") -> None:
        for k, v in other.parts.items():
            self.parts.setdefault(k, []).extend(v)
        for k, v in other.qparts.items():
            self.qparts.setdefault(k, []).extend(v)
        for sid, tables in other.source_files.items():
            self.source_files.setdefault(sid, {}).update(tables)


class Stager:
    """Writes rows of an import into a staging folder as parquet parts (never read before commit).

    Rows are buffered per table and written as one part (of many municipalities) every ``STAGE_ROWS`` rows:
    thousands of small exports would otherwise become thousands of tiny files. Reader processes of a
    parallel import each have their own stager (``prefix`` keeps their file names apart).
    """

    def __init__(self, folder: Path, prefix: str = "m"):
        self.folder, self.prefix = Path(folder), prefix
        self.staged = Staged()
        self._buffer: dict[str, list[pd.DataFrame]] = {}
        self._buffered: dict[str, int] = {}
        self._n = 0

    def _path(self, sub: str) -> Path:
        self._n += 1
        path = self.folder / sub / f"{self.prefix}-{self._n:06d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write(self, table: str, frame: pd.DataFrame, source_id: str) -> None:
        """Stage accepted rows of one source (a ``source_id`` column is added)."""
        if "municipality" in frame.columns:
            files = sorted({file_name(m) for m in frame["municipality"].unique()})
        else:
            files = [f"{ALL}.parquet"] if len(frame) else []
        self.staged.source_files.setdefault(source_id, {})[table] = files
        if frame.empty:
            return
        self._buffer.setdefault(table, []).append(frame.assign(source_id=source_id))
        self._buffered[table] = self._buffered.get(table, 0) + len(frame)
        if self._buffered[table] >= STAGE_ROWS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        frames = self._buffer.pop(table, [])
        self._buffered.pop(table, None)
        if not frames:
            return
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
        path = self._path(table)
        # one part of many municipalities: the commit sorts each table once and splits it into their files
        names = ({file_name(m) for m in frame["municipality"].unique()} if "municipality" in frame.columns
                 else {f"{ALL}.parquet"})
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, compression="lz4")
        for name in names:
            self.staged.parts.setdefault((table, name), []).append(path)
        _checkpoint("staged")

    def quarantine(self, table: str, frame: pd.DataFrame, source_id: str) -> None:
        """Stage rejected rows (all values as text, with their reasons) of one source."""
        if frame.empty:
            return
        text = frame.astype("string").assign(source_id=source_id).reset_index(drop=True)
        path = self._path(f"_q_{table}")
        pq.write_table(pa.Table.from_pandas(text, preserve_index=False), path)
        self.staged.qparts.setdefault(table, []).append(path)

    def finish(self) -> Staged:
        """Write what is still buffered; return every part written."""
        for table in list(self._buffer):
            self._flush(table)
        return self.staged


class ImportTransaction:
    """Everything one import writes, published at :meth:`commit` or never.

    Usage: ``with store_transaction(root) as tx: tx.write(...); tx.quarantine(...); tx.commit(...)``. Rows are
    staged as parquet under ``staging/<id>`` (memory stays bounded); ``commit`` merges them with the previous
    version, writes the manifest, renames the staging folder into ``versions/`` and swaps ``current``. A
    process killed at any point leaves ``current`` as it was; the next import cleans the staging folder.
    """

    def __init__(self, root: str | Path, replace: bool = False):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        marker = self.root / ".workbench-not-data"   # an import pointed at a folder holding the store skips it
        if not marker.exists():
            marker.write_text("хранилище данных программы\n", encoding="utf-8")
        if _is_legacy(self.root) and not replace:
            raise StoreError(f"Хранилище {self.root} записано прежней версией программы; загрузите данные заново "
                             "с параметром --replace (старые файлы будут удалены)")
        self._lock = open(self.root / "import.lock", "a+")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            record = _read_json(self.root / "import.json") or {}
            raise StoreError(f"В хранилище {self.root} уже идёт загрузка (процесс {record.get('pid', '?')}, начата "
                             f"{record.get('started', '?')}); дождитесь её окончания") from None
        self.previous = _read_json(self.root / "import.json")       # set when the last import died
        self.stale = self.previous if self.previous and self.previous.get("version") != Store(self.root).version else None
        self.replace = replace
        self.base = Store(self.root) if not replace else Store(self.root / "staging" / "_none")
        self.id = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f-") + uuid.uuid4().hex[:4]   # sorts by time
        self.started = dt.datetime.now().isoformat(timespec="seconds")
        shutil.rmtree(self.root / "staging", ignore_errors=True)     # whatever a killed import left
        self.dir = self.root / "staging" / self.id
        (self.dir / "parts").mkdir(parents=True)
        _write_json(self.root / "import.json", {"version": self.id, "pid": os.getpid(), "started": self.started,
                                                "replace": replace})
        _checkpoint("started")
        self.sources: dict[str, Source] = {}
        self.removed: set[str] = set()          # source ids whose rows this import drops from the base
        self.parts_dir = self.dir / "parts"
        self.stager = Stager(self.parts_dir)
        self._staged = Staged()
        self._stager_done = False
        self.done = False

    def __enter__(self) -> "ImportTransaction":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------- sources
    def known_source(self, file_hash: str, path: Path) -> Source | None:
        """The base version's record of this file (same content or same path), if it was imported before."""
        apath = str(Path(path).resolve())
        for s in self.base.manifest.get("sources", {}).values():
            if s["id"] == file_hash or s["path"] == apath:
                return Source(**s)
        return None

    def add_source(self, source: Source) -> list[Source]:
        """Register a file of this import; the earlier imports of the same file (content or path) are
        replaced: their rows leave the store at commit. Returns what is replaced."""
        replaced = [Source(**s) for s in self.base.manifest.get("sources", {}).values()
                    if s["id"] == source.id or s["path"] == source.path]
        self.removed.update(s.id for s in replaced)
        self.sources[source.id] = source
        return replaced

    # ---------------------------------------------------------- staging rows
    def write(self, table: str, frame: pd.DataFrame, source_id: str) -> None:
        """Stage accepted rows of one source (see :class:`Stager`)."""
        self.stager.write(table, frame, source_id)

    def quarantine(self, table: str, frame: pd.DataFrame, source_id: str) -> None:
        """Stage rejected rows of one source."""
        self.stager.quarantine(table, frame, source_id)

    def add_staged(self, staged: Staged) -> None:
        """Parts that reader processes wrote into :attr:`parts_dir`."""
        self._staged.update(staged)

    def _staged_all(self) -> Staged:
        """Every part of this import, the stager's buffer written out (once: a second call adds nothing)."""
        if not self._stager_done:
            self._staged.update(self.stager.finish())
            self._stager_done = True
        return self._staged

    def shared_keys(self, keys: dict[str, tuple[str, ...]],
                    required: dict[str, set[str]] | None = None) -> list[dict]:
        """Keys that rows of two or more sources share, one of them at least from this import (the same
        pupils or school-years sent twice: a corrected copy under another name, a region table and a school's
        own form). Per table and set of files: ``{"table", "key", "files", "keys", "example"}``, files by their
        relative paths, this import's first. ``keys`` gives each table's key columns; rows with an empty
        ``required`` key column are left out. Nothing is dropped: which file is right is the user's call."""
        staged = self._staged_all()
        bm = self.base.manifest
        names = {sid: s["relative"] for sid, s in bm.get("sources", {}).items() if sid not in self.removed}
        names.update({sid: s.relative for sid, s in self.sources.items()})
        out: list[dict] = []
        con = duckdb_connect()
        try:
            for t in sorted({t for t, _ in staged.parts} & set(keys)):
                own = {n for tt, n in staged.parts if tt == t}
                old_files = bm.get("tables", {}).get(t, {}).get("files", {})
                old = [self.base.version_dir / "tables" / t / n for n in sorted(own & set(old_files))]
                parts = sorted({p for (tt, _), ps in staged.parts.items() if tt == t for p in ps})
                sql = self._union(old, parts)
                cols = {r[0] for r in con.execute(f"DESCRIBE {sql}").fetchall()}
                key = [k for k in keys[t] if k in cols]
                if not key:
                    continue
                if "source_file" in key:          # rows keyed by their own file cannot be shared
                    continue
                q = ", ".join(f'"{k}"' for k in key)
                where = " AND ".join(f'"{k}" IS NOT NULL' for k in key if k in (required or {}).get(t, set())) or "TRUE"
                example = "concat_ws(', ', " + ", ".join(f'CAST("{k}" AS VARCHAR)' for k in key) + ")"
                # pupils' keys are compared only within the works (year, school, subject, grade) that two
                # sources share: one cheap pass over the table, then the few shared works
                coarse = ", ".join(f'"{k}"' for k in key[:4]) if len(key) > 4 else None
                rows_sql = (f"(SELECT * FROM ({sql}) WHERE {where})" if coarse is None else
                            f"(SELECT * FROM ({sql}) WHERE {where} AND ({coarse}) IN (SELECT ({coarse}) FROM ({sql}) "
                            f"WHERE {where} GROUP BY {coarse} HAVING count(DISTINCT source_id) > 1))")
                rows = con.execute(
                    f"SELECT ids, count(*), min(example) FROM (SELECT list(DISTINCT source_id ORDER BY source_id) AS ids, "
                    f"{example} AS example FROM {rows_sql} GROUP BY {q} "
                    "HAVING count(DISTINCT source_id) > 1) GROUP BY ids ORDER BY 2 DESC").fetchall()
                for ids, n, ex in rows:
                    new = [i for i in ids if i in self.sources]
                    if new:
                        files = [names.get(i, i) for i in new + [i for i in ids if i not in self.sources]]
                        out.append({"table": t, "key": key, "files": files, "keys": int(n), "example": ex})
        finally:
            con.close()
        return out

    # ---------------------------------------------------------- publishing
    def commit(self, report: pd.DataFrame | None = None, summary: dict | None = None) -> Store:
        """Merge, write the manifest, publish the version; returns the store opened at the new version."""
        staged_all = self._staged_all()
        for sid, tables in staged_all.source_files.items():
            if sid in self.sources:
                self.sources[sid].tables.update(tables)
        new = self.dir / "version"
        base = self.base
        bm = base.manifest
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        con = duckdb_connect()
        con.execute(f"SET temp_directory = '{self.dir / 'duckdb_tmp'}'")
        tables: dict[str, dict] = {}
        names_by_table: dict[str, set[str]] = {}
        for t, info in bm.get("tables", {}).items():
            names_by_table.setdefault(t, set()).update(info["files"])
        for t, name in staged_all.parts:
            names_by_table.setdefault(t, set()).add(name)
        touched = {(t, n) for s in self.removed for t, ns in bm.get("sources", {}).get(s, {}).get("tables", {}).items()
                   for n in ns}
        jobs: dict[str, list[tuple[str, Path | None]]] = {}   # table -> files to merge: (name, old file or None)
        files_of: dict[str, dict[str, dict]] = {t: {} for t in names_by_table}
        for t, names in sorted(names_by_table.items()):
            old = bm.get("tables", {}).get(t, {"files": {}})
            for name in sorted(names):
                src = base.version_dir / "tables" / t / name if name in old["files"] else None
                if src is not None and (t, name) not in staged_all.parts and (t, name) not in touched:
                    _link_or_copy(src, new / "tables" / t / name)
                    files_of[t][name] = old["files"][name]
                    continue
                jobs.setdefault(t, []).append((name, src))
        # one sorted read per table, written out file by file; the largest table first, the others beside it
        # in a second thread (DuckDB and parquet compression release the GIL)
        from concurrent.futures import ThreadPoolExecutor

        def run(t: str) -> tuple[str, dict[str, dict]]:
            staged = sorted({p for (tt, _), ps in staged_all.parts.items() if tt == t for p in ps})
            old = [src for _, src in jobs[t] if src is not None]
            with con.cursor() as cur:
                return t, self._merge_table(cur, old, staged, new / "tables" / t)

        size = {t: sum(p.stat().st_size for (tt, _), ps in staged_all.parts.items() if tt == t for p in set(ps))
                for t in jobs}
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as threads:
            for t, stats in threads.map(run, sorted(jobs, key=lambda t: -size[t])):
                files_of[t].update(stats)
        for t, files in files_of.items():
            files = dict(sorted(files.items()))
            if files:
                cols: list[str] = []
                for st in files.values():
                    cols += [c for c in st["columns"] if c not in cols]
                tables[t] = {"rows": sum(f["rows"] for f in files.values()), "files": files, "columns": cols,
                             "by_municipality": "municipality" in cols,
                             "years": sorted({y for f in files.values() for y in f.get("years", [])}),
                             "municipalities": sorted({m for f in files.values() for m in f.get("municipalities", [])})}
        quarantine = self._merge_quarantine(con, new, bm, staged_all.qparts)
        con.close()
        _checkpoint("merged")
        reports = new / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        for r in ([] if self.replace or base.version_dir is None else sorted((base.version_dir / "reports").glob("*.csv"))):
            _link_or_copy(r, reports / r.name)
        report_name = f"reports/import-{stamp}.csv"
        if report is not None:
            report.to_csv(new / report_name, index=False, encoding="utf-8-sig", sep=";")
        sources = {k: v for k, v in bm.get("sources", {}).items() if k not in self.removed}
        sources.update({k: v.__dict__ for k, v in self.sources.items()})
        imports = list(bm.get("imports", [])) + [{"at": dt.datetime.now().isoformat(timespec="seconds"),
                                                   "version": self.id, "replace": self.replace,
                                                   "report": report_name if report is not None else None,
                                                   **(summary or {})}]
        data_hash = hashlib.sha1(json.dumps(sorted((s["table"] or "", s["id"]) for s in sources.values())
                                            + [FORMAT]).encode()).hexdigest()[:12]
        manifest = {"format": FORMAT, "version": self.id, "previous": bm.get("version"),
                    "completed": dt.datetime.now().isoformat(timespec="seconds"), "data_hash": data_hash,
                    "tables": tables, "quarantine": quarantine, "sources": sources, "imports": imports}
        _write_json(new / "manifest.json", manifest)
        for p in new.rglob("*"):
            if p.is_file():
                _fsync(p)
        (self.root / "versions").mkdir(exist_ok=True)
        final = self.root / "versions" / self.id
        os.replace(new, final)
        _fsync(self.root / "versions")
        _checkpoint("renamed")
        link = self.root / f"current.{self.id}.tmp"
        link.symlink_to(Path("versions") / self.id)
        os.replace(link, self.root / "current")       # the publishing step: atomic on POSIX
        _fsync(self.root)
        _checkpoint("published")
        self.done = True
        self._collect_versions()
        return Store(self.root)

    def _union(self, old: list[Path], staged: list[Path]) -> str:
        """SQL of old rows (minus the removed sources) and staged rows, by column name."""
        parts = []
        if old:
            cond = f" WHERE source_id NOT IN ({', '.join(repr(s) for s in sorted(self.removed))})" if self.removed else ""
            parts.append(f"SELECT * FROM read_parquet({_sql_list(old)}, union_by_name=true){cond}")
        if staged:
            parts.append(f"SELECT * FROM read_parquet({_sql_list(staged)}, union_by_name=true)")
        return " UNION ALL BY NAME ".join(parts)

    def _merge_table(self, con, old: list[Path], staged: list[Path], folder: Path,
                     single: str | None = None) -> dict[str, dict]:
        """Write a table's files into ``folder`` from its old files (minus removed sources) and staged parts:
        one file per municipality (or all rows into ``<single>.parquet``), rows sorted by ``SORT_COLUMNS``;
        return each written file's statistics by file name.

        One sorted read streams through in batches (DuckDB spills the sort to disk) and each file is written
        as soon as its rows are complete, two at a time: memory is bounded by a few municipalities' rows,
        and no part is read once per municipality."""
        from concurrent.futures import ThreadPoolExecutor

        sql = self._union(old, staged)
        cols = [r[0] for r in con.execute(f"DESCRIBE {sql}").fetchall()]
        by_muni = "municipality" in cols and single is None
        if by_muni:
            codes = [r[0] for r in con.execute(f"SELECT DISTINCT municipality FROM ({sql})").fetchall()]
            # rows of one file must be consecutive in the sort: by the code itself when it is the file name
            plain = all(c is not None and file_name(c) == f"{c}.parquet" for c in codes)
            key = ("CAST(municipality AS VARCHAR)" if plain else
                   "CASE WHEN municipality IS NULL THEN '_na' ELSE regexp_replace(CAST(municipality AS VARCHAR), "
                   f"'{SAFE.pattern}', '_', 'g') END")
        else:
            key = f"'{single or ALL}'"
        order = ["__file"] + [f'"{c}"' for c in SORT_COLUMNS if c in cols]
        reader = con.sql(f"SELECT *, {key} AS __file FROM ({sql}) ORDER BY {', '.join(order)}"
                         ).to_arrow_reader(MERGE_BATCH_ROWS)
        keep = list(range(len(cols)))
        schema = pa.schema([reader.schema.field(i) for i in keep])
        folder.mkdir(parents=True, exist_ok=True)

        def write(name: str, pieces: list[pa.RecordBatch]) -> tuple[str, dict]:
            table = pa.Table.from_batches(pieces, schema)
            pq.write_table(table, folder / name, compression="zstd", row_group_size=MERGE_ROW_GROUP)
            stats: dict = {"rows": table.num_rows, "columns": cols}
            if "year" in cols:
                stats["years"] = sorted(int(y) for y in pc.unique(table["year"]).to_pylist() if y is not None)
            if "municipality" in cols and not single:
                stats["municipalities"] = sorted(m for m in pc.unique(table["municipality"]).to_pylist() if m is not None)
            return name, stats

        out: dict[str, dict] = {}
        with ThreadPoolExecutor(max_workers=2) as writers:     # parquet encoding releases the GIL
            futures: deque = deque()
            name, pieces = None, []

            def submit() -> None:
                futures.append(writers.submit(write, name, pieces))
                if len(futures) > 3:            # bounded memory: a few files in flight
                    out.update([futures.popleft().result()])

            for batch in reader:
                files = batch.column(len(cols)).to_numpy(zero_copy_only=False)
                cuts = [0, *(np.flatnonzero(files[1:] != files[:-1]) + 1).tolist(), len(files)]
                batch = batch.select(keep)
                for a, b in itertools.pairwise(cuts):
                    if f"{files[a]}.parquet" != name:
                        if pieces:
                            submit()
                        name, pieces = f"{files[a]}.parquet", []
                    pieces.append(batch.slice(a, b - a))
            if pieces:
                submit()
            out.update(f.result() for f in futures)
        return out

    def _merge(self, con, old: list[Path], staged: list[Path], dst: Path) -> dict | None:
        """Write ``dst`` = old rows (minus removed sources) + staged rows, sorted; return its statistics."""
        return self._merge_table(con, old, staged, dst.parent, single=dst.stem).get(dst.name)

    def _merge_quarantine(self, con, new: Path, bm: dict, qparts: dict[str, list[Path]]) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in sorted(set(bm.get("quarantine", {})) | set(qparts)):
            old = [self.base.version_dir / "quarantine" / f"{t}.parquet"] if bm.get("quarantine", {}).get(t) else []
            stats = self._merge(con, old, qparts.get(t, []), new / "quarantine" / f"{t}.parquet")
            if stats:
                out[t] = stats["rows"]
        return out

    def _collect_versions(self) -> None:
        """Remove versions but the newest few (readers that opened an older one finish on the one before)."""
        versions = sorted((p for p in (self.root / "versions").iterdir() if p.is_dir()), key=lambda p: p.name)
        current = os.path.realpath(self.root / "current")
        for p in versions[:-KEEP_VERSIONS]:
            if str(p) != current:
                shutil.rmtree(p, ignore_errors=True)
        for legacy in [d for d in self.root.iterdir() if d.is_dir() and d.name not in ("versions", "staging")]:
            if any(legacy.glob("**/part-*.parquet")) or legacy.name in ("_quarantine", "_reports"):
                shutil.rmtree(legacy, ignore_errors=True)     # the first layout, replaced by this import

    def close(self) -> None:
        """Release the lock; an uncommitted transaction leaves the store as it was."""
        if self._lock.closed:
            return
        shutil.rmtree(self.root / "staging", ignore_errors=True)
        if self.done or not self.sources:
            try:
                (self.root / "import.json").unlink()
            except FileNotFoundError:
                pass
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()


def store_transaction(root: str | Path, replace: bool = False) -> ImportTransaction:
    """Open an import transaction on the store at ``root`` (see :class:`ImportTransaction`)."""
    return ImportTransaction(root, replace=replace)


def write_frames(store: Store | str | Path, frames: dict[str, pd.DataFrame], replace: bool = False) -> Store:
    """Put ready DataFrames into the store as one import (for researchers' own tables and tests); each frame
    counts as one source named ``<table>.frame``.

    >>> import pandas as pd, tempfile
    >>> s = write_frames(tempfile.mkdtemp(), {"staff": pd.DataFrame({"municipality": ["004"], "teachers": [3]})})
    >>> s.read("staff", "004").teachers.tolist()
    [3]
    """
    root = store.root if isinstance(store, Store) else Path(store)
    with store_transaction(root, replace=replace) as tx:
        for table, frame in frames.items():
            sid = hashlib.sha1(pd.util.hash_pandas_object(frame, index=False).values.tobytes()
                               + table.encode()).hexdigest()[:16]
            tx.add_source(Source(sid, f"frame:{table}:{sid}", f"{table}.frame", table, rows_read=len(frame),
                                 accepted=len(frame), imported=dt.datetime.now().isoformat(timespec="seconds")))
            tx.write(table, frame, sid)
        return tx.commit()
