"""The import pipeline: find files, classify, read, validate, split accepted / quarantined, publish the store.

Guarantees:

* every file under the given paths is either imported or reported with its reason (unknown format,
  unreadable, encrypted, empty, not data, a duplicate of another file of the call); nothing is skipped in silence;
* per file: rows read = rows accepted + rows quarantined; every problem is reported at once (file as a path
  relative to the import root, sheet, row, column, value, rule, Russian message); a file-level (fatal)
  problem sends all its rows to quarantine;
* one call is one store transaction (:class:`workbench.data.store.ImportTransaction`): readers see the store as
  it was before the call or after it, never a mix, even when the process is killed;
* exit code: 0 all accepted, 1 some rows quarantined, 2 a file could not be read or recognised.

Example
-------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "staff.csv").write_text("Год;Код муниципалитета;Код ОО;Учителей\\n2024;004;edu004001;35\\n2024;004;edu004002;-3\\n")
>>> res = import_paths([d / "staff.csv"], d / "store")
>>> [(f.path, f.table, f.rows_read, f.accepted, f.quarantined) for f in res.files], res.exit_code
([('staff.csv', 'staff', 2, 1, 1)], 1)
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import problems as P
from workbench.formatting import plural
from workbench.config import Region, TableMapping, load_municipality
from workbench.paths import PARAMS_DIR
from workbench.scales import ScaleBook, load_scales
from workbench.data.schemas import TABLES, columns_of
from workbench.data.store import ImportTransaction, Source, Store, store_transaction
from workbench.data.tables import SUPPORTED_SUFFIXES, UnreadableFile, is_blank, match_score, peek_rows, read_table
from workbench.data.validation import duplicate_keys, validate_table

# Reference tables first: the registry gives municipalities to ВПР rows, scales recompute marks.
ORDER = ["schools", "mark_scales", "vpr_tasks"]
# A pupil-level ОГЭ/ЕГЭ protocol of a regional processing centre: stored in exam_results, and the school-level
# exams rows are derived from its accepted rows (workbench.data.exam_protocol).
PROTOCOL = "exam_protocol"
# A folder holding this file was written by the workbench itself (the demo's truth, run outputs, the store):
# its files are reported as not data and never imported.
NOT_DATA_MARKER = ".workbench-not-data"
DOCUMENT_SUFFIXES = {".md", ".rst", ".html", ".htm", ".json", ".yaml", ".yml", ".ipynb", ".py", ".log", ".png",
                     ".jpg", ".jpeg", ".gif", ".svg", ".parquet", ".lock", ".tmp"}
REPORT_HEADER = ["file", "sheet", "row", "column", "value", "rule", "severity", "message"]


@dataclass
class FileReport:
    path: str                      # relative to the import root, as every report shows it
    table: str | None
    format: str | None
    rows_read: int = 0
    accepted: int = 0
    quarantined: int = 0
    errors: int = 0
    warnings: int = 0
    fatal: bool = False
    status: str = "imported"       # imported | not_data | rejected | duplicate
    reason: str = ""               # Russian, for everything not imported
    replaced: str = ""             # Russian note: the earlier import of this file whose rows it replaced
    notes: list[str] = field(default_factory=list)   # other Russian notes on the file (personal data dropped, …)


@dataclass
class ImportResult:
    files: list[FileReport] = field(default_factory=list)
    problems: pd.DataFrame = field(default_factory=lambda: P.frame([]))
    report_path: Path | None = None
    version: str | None = None
    notes: list[str] = field(default_factory=list)     # Russian: things the user must know about this import

    @property
    def exit_code(self) -> int:
        if any(f.fatal for f in self.files):
            return 2
        return 1 if any(f.quarantined for f in self.files) else 0

    def summary_ru(self) -> list[str]:
        """Russian summary lines for the terminal: every file, imported or not, and the totals."""
        width = min(70, max([len("Файл")] + [len(f.path) for f in self.files]))
        lines = [f"{'Файл':{width}} {'Таблица':12} {'Прочитано':>9} {'Принято':>8} {'Карантин':>8} {'Ошибок':>7} {'Предупр.':>8}"]
        for f in self.files:
            if f.status == "imported":
                lines.append(f"{f.path:{width}} {(f.table or '—'):12} {f.rows_read:9d} {f.accepted:8d} {f.quarantined:8d} "
                             f"{f.errors:7d} {f.warnings:8d}")
                for note in ([f.replaced] if f.replaced else []) + f.notes:
                    lines.append(f"{'':{width}}   {note}")
            else:
                lines.append(f"{f.path:{width}} {'—':12} {'НЕ ЗАГРУЖЕН' if f.fatal else 'пропущен':>9}: {f.reason}")
        done = [f for f in self.files if f.status == "imported"]
        tot = [sum(getattr(f, a) for f in done) for a in ("rows_read", "accepted", "quarantined")]
        skipped = [f for f in self.files if f.status != "imported"]
        lines.append(f"Итого файлов: {len(self.files)}; загружено: {len(done)}; не загружено: {len(skipped)} "
                     f"(из них не прочитано: {sum(f.fatal for f in skipped)}); строк прочитано: {tot[0]}, "
                     f"принято: {tot[1]}, в карантине: {tot[2]}.")
        lines += self.notes
        if self.report_path:
            lines.append(f"Отчёт о проблемах: {self.report_path}")
        return lines


def discover(paths: list[Path]) -> list[tuple[Path, str]]:
    """Every file under the given paths (folders recursively) with its display name: the path relative to
    the common root of the given paths. Nothing is left out here: what is not data is recognised later.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); (d / "a").mkdir(); _ = (d / "a" / "x.csv").write_text("1")
    >>> [name for _, name in discover([d])]
    ['a/x.csv']
    """
    roots = [Path(p).resolve() for p in paths]
    bases = [r if r.is_dir() else r.parent for r in roots]
    common = Path(os.path.commonpath([str(b) for b in bases])) if bases else Path(".")
    out: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for p in roots:
        items = sorted(p.rglob("*")) if p.is_dir() else [p]
        for f in items:
            if f.is_file() and f not in seen:
                seen.add(f)
                out.append((f, f.relative_to(common).as_posix()))
    return out


def not_data_reason(path: Path, explicit: bool = False) -> str | None:
    """Why a file is not input data (Russian), or None: written by the workbench itself, a document, a
    temporary or hidden file. The editable roadmap the run writes beside each справка is meant to come back:
    named ``explicit``-ly it is read even inside a run's folder (a folder walk still skips it there).

    >>> not_data_reason(Path("README.md")), not_data_reason(Path("~$form.xlsx")), not_data_reason(Path("a.csv"))
    ('документ (.md), не таблица данных', 'временный файл Excel (открытая книга)', None)
    """
    from workbench.roadmap import FILE_NAME

    name = path.name
    for parent in path.parents if not (explicit and name == FILE_NAME) else ():
        if (parent / NOT_DATA_MARKER).exists():
            text = (parent / NOT_DATA_MARKER).read_text(encoding="utf-8", errors="replace").strip().splitlines()
            return f"создан программой: {text[0] if text else 'служебная папка'} (папка {parent.name}/)"
    if name == NOT_DATA_MARKER:
        return "служебная отметка программы"
    if name.startswith("~$"):
        return "временный файл Excel (открытая книга)"
    if name.startswith("."):
        return "скрытый служебный файл"
    suffix = path.suffix.lower()
    if suffix in DOCUMENT_SUFFIXES:
        return f"документ ({suffix}), не таблица данных"
    if suffix == ".csv" and name.startswith("import-"):
        try:
            first = peek_rows(path, 1)
        except UnreadableFile:
            return None
        if first and [str(c).strip().lstrip("\ufeff") for c in first[0]] == REPORT_HEADER:
            return "отчёт о загрузке, созданный программой"
    return None


def file_hash(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def candidate_mappings(region: Region | None) -> list[tuple[str, TableMapping | None, str]]:
    """(table, mapping, origin) pairs to try: the standard template, the region's and each municipality's."""
    out: list[tuple[str, TableMapping | None, str]] = [(t, None, "шаблон") for t in TABLES if t != "vpr"]
    if region:
        out += [(t, m, f"регион {region.code}") for t, m in region.columns.items()]
        for mun in region.municipalities:
            if mun.params:
                mp = load_municipality(mun.params)
                out += [(t, m, f"муниципалитет {mun.code}") for t, m in mp.columns.items()]
    return out


def classify(path: Path, candidates) -> tuple[str | None, TableMapping | None]:
    """Which table a file holds: a ВПР export by its signature, else the best header match (all required).

    Raises :class:`workbench.data.tables.UnreadableFile` for a file no reader can open."""
    from workbench.data import exam_protocol, fisoko

    if fisoko.sniff_vpr(path):   # first: most files are ВПР exports, and the sniff already read their head
        return "vpr", None
    rows = [r for r in peek_rows(path) if r and not all(is_blank(v) for v in r)]
    if exam_protocol.sniff_exam_protocol(rows):
        return PROTOCOL, None
    # All required columns present; then the table that recognises most headers; on a tie the standard
    # template wins: a municipality's mapping also recognises template headers, and applying its constants
    # and parsers (e.g. percent → share) to a region-wide file in the standard format corrupts it.
    best, choice = (0, 0, 0), (None, None)
    for table, mapping, _ in candidates:
        for r in rows:
            share, found = match_score(r, table, mapping)
            rank = (found, mapping is None, 0) if share == 1.0 else (0, 0, 0)
            if share == 1.0 and rank > best:
                best, choice = rank, (table, mapping)
    return choice


def _split(frame: pd.DataFrame, probs: pd.DataFrame, fatal: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accepted rows and quarantined rows (with their reasons) of one file."""
    bad = probs[probs.severity.isin(["error", "fatal"]) & probs.row.notna()]
    if not fatal and bad.empty:      # the common case: no copy of a wide frame
        return frame, frame.iloc[0:0]
    if fatal:
        reject = pd.Series(True, index=frame.index)
    else:
        reject = frame["source_row"].isin(set(bad.row.astype(int)))
    quarantined = frame[reject].copy()
    if len(quarantined):
        reasons = bad.groupby("row").agg(rule=("rule", lambda s: ", ".join(dict.fromkeys(s))),
                                         reason=("message", lambda s: "; ".join(dict.fromkeys(s))))
        quarantined = quarantined.join(reasons, on="source_row")
        if fatal:
            file_msg = "; ".join(probs.loc[probs.severity == "fatal", "message"].drop_duplicates())
            quarantined["rule"] = quarantined["rule"].fillna("file_rejected")
            quarantined["reason"] = quarantined["reason"].fillna("Файл отклонён: " + file_msg)
    return frame[~reject], quarantined


def _as_user_sees(checked: pd.DataFrame, parsed: pd.DataFrame, headers: dict[str, str]) -> pd.DataFrame:
    """Rule problems named by the file's own headers, minus 'empty' reports of cells that failed to parse."""
    if checked.empty:
        return checked
    checked = checked.assign(column=checked["column"].map(
        lambda c: ", ".join(headers.get(x, x) for x in c.split(", ")) if isinstance(c, str) else c))
    already = set(zip(parsed.row, parsed.column))
    twice = checked.rule.eq("required_empty") & pd.Series([k in already for k in zip(checked.row, checked.column)],
                                                          index=checked.index)
    return checked[~twice]


BATCH_ROWS = 300_000  # rows rule-checked in one pandera call: bounded memory, amortised overhead


@dataclass
class _Parsed:
    """One file after reading, before rule checks and writing."""
    path: Path
    name: str          # relative to the import root
    table: str
    frame: pd.DataFrame
    probs: pd.DataFrame
    fmt: str
    rows: int
    headers: dict[str, str]
    notes: list[str] = field(default_factory=list)   # Russian lines the summary prints under the file
    protocol: bool = False


@dataclass
class _Done:
    """What processing one file gives back to the transaction (picklable: it crosses process borders)."""
    report: FileReport
    problems: pd.DataFrame
    source: Source


class Importer:
    """Reads, checks and stages files, keeping the reference tables (registry, scales, tasks) that later files
    need. One instance lives in the importing process; a parallel import sends a copy to each reader process."""

    def __init__(self, base: Store, region: Region | None = None, scales: ScaleBook | None = None,
                 overrides: dict | None = None):
        self.region = region
        self.overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
        self.scales = scales or ScaleBook(load_scales(PARAMS_DIR / "mark_scales.csv"))
        self.school_muni: dict[str, str] = {}
        self.tasks = pd.DataFrame()
        self.hashes: dict[Path, str] = {}   # content hashes import_paths already computed (no second read)
        self._load_reference(base)

    def _load_reference(self, store: Store) -> None:
        tables = store.tables()
        if "schools" in tables:
            s = store.query("SELECT school_id, municipality FROM schools")
            self.school_muni.update(dict(zip(s.school_id, s.municipality)))
        if "mark_scales" in tables:
            self.scales = self.scales.extended(store.query("SELECT * FROM mark_scales"))
        if "vpr_tasks" in tables:
            self.tasks = store.query("SELECT * FROM vpr_tasks")

    def process(self, planned: list[tuple[Path, str, str, TableMapping | None]], stager) -> list[_Done]:
        """Read, rule-check, split and stage files (path, display name, table, mapping) in order; consecutive
        files of one table are rule-checked together in batches, because pandera's cost per call (not per
        row) dominates for many small exports."""
        out: list[_Done] = []
        batch: list[_Parsed] = []
        for path, name, table, mapping in planned:
            if batch and (batch[0].table != table or sum(len(b.frame) for b in batch) >= BATCH_ROWS
                          or table in ORDER):
                out += [self._finish(b, stager) for b in self._rule_check(batch)]
                batch = []
            batch.append(self._read(path, name, table, mapping))
            if table in ORDER:  # reference tables are needed by the files that follow
                out += [self._finish(b, stager) for b in self._rule_check(batch)]
                batch = []
        if batch:
            out += [self._finish(b, stager) for b in self._rule_check(batch)]
        return out

    def _read(self, path: Path, name: str, table: str, mapping: TableMapping | None) -> "_Parsed":
        if table == "vpr":
            return self._read_vpr(path, name)
        if table == PROTOCOL:
            return self._read_protocol(path, name)
        r = read_table(path, table, mapping, name=name)
        probs = r.problems
        if len(r.frame) and not (probs.severity == "fatal").any():
            probs = pd.concat([probs, _as_user_sees(duplicate_keys(r.frame, table, name, r.sheet), probs, r.headers)],
                              ignore_index=True)
        return _Parsed(path, name, table, r.frame, probs, "таблица", r.rows_read, r.headers)

    def _rule_check(self, batch: list["_Parsed"]) -> list["_Parsed"]:
        """Add the pandera rule problems of every file of the batch (one validation call for all)."""
        ok = [i for i, b in enumerate(batch) if len(b.frame) and not (b.probs.severity == "fatal").any()]
        if not ok:
            return batch
        table = batch[0].table
        frames = [batch[i].frame for i in ok]
        combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
        combined["_item"] = np.repeat(ok, [len(f) for f in frames])     # which file a row came from
        checked = validate_table(combined, table)
        for i, mine in checked.groupby("_item", sort=False):
            b = batch[int(i)]
            probs = pd.concat([b.probs, _as_user_sees(mine.drop(columns="_item"), b.probs, b.headers)],
                              ignore_index=True)
            b.probs = probs.drop_duplicates(["sheet", "row", "column", "value", "rule"])
        return batch

    def _finish(self, b: "_Parsed", stager) -> _Done:
        probs, frame = b.probs, b.frame
        fatal = bool((probs.severity == "fatal").any())
        accepted, quarantined = _split(frame, probs, fatal) if len(frame) else (frame, frame)
        accepted = accepted if not fatal else accepted.iloc[0:0]
        sid = self.hashes.get(b.path) or file_hash(b.path)
        src = Source(sid, str(b.path.resolve()), b.name, b.table, b.path.stat().st_size, b.fmt, b.rows,
                     len(accepted), len(quarantined), dt.datetime.now().isoformat(timespec="seconds"))
        stager.write(b.table, accepted, sid)
        stager.quarantine(b.table, quarantined, sid)
        notes = list(b.notes)
        if b.protocol and len(accepted):
            from workbench.data.exam_protocol import school_exams

            derived = school_exams(accepted).assign(source_file=b.name, source_sheet=None,
                                                    source_row=pd.array([pd.NA], dtype="Int64")[0])
            stager.write("exams", derived, sid)
            notes.append(f"по школам рассчитано строк таблицы exams: {len(derived)}")
        if not fatal:
            self._remember(b.table, accepted)
        rep = FileReport(b.name, b.table, b.fmt, b.rows, len(accepted), len(quarantined),
                         int(probs.severity.isin(["error", "fatal"]).sum()), int((probs.severity == "warning").sum()),
                         fatal, status="imported" if not fatal else "rejected",
                         reason="; ".join(probs.loc[probs.severity == "fatal", "message"].drop_duplicates()),
                         notes=notes)
        assert rep.accepted + rep.quarantined == rep.rows_read, rep  # row conservation, always
        return _Done(rep, probs, src)

    def _remember(self, table: str, accepted: pd.DataFrame) -> None:
        if table == "schools":
            self.school_muni.update(dict(zip(accepted.school_id, accepted.municipality)))
        elif table == "mark_scales":
            self.scales = self.scales.extended(accepted)
        elif table == "vpr_tasks":
            self.tasks = pd.concat([self.tasks, accepted], ignore_index=True)

    def _read_vpr(self, path: Path, name: str) -> "_Parsed":
        from workbench.data import fisoko

        r = fisoko.read_vpr(path, self.scales, name=name, **self.overrides)
        frame, probs = self._with_municipality(r.works, r.problems, name)
        if len(frame):
            probs = pd.concat([probs, self._check_tasks(name, r.tasks)], ignore_index=True)
        return _Parsed(path, name, "vpr", frame, probs, r.format, r.rows_read, {})

    def _read_protocol(self, path: Path, name: str) -> "_Parsed":
        from workbench.data.exam_protocol import read_exam_protocol

        r = read_exam_protocol(path, name=name, year=self.overrides.get("year"))
        frame, probs = self._with_municipality(r.results, r.problems, name)
        notes = ([f"персональные данные удалены при чтении и не сохранены: {', '.join(r.dropped_personal)}"]
                 if r.dropped_personal else [])
        return _Parsed(path, name, "exam_results", frame, probs, "протокол РЦОИ", r.rows_read, {}, notes, True)

    def _with_municipality(self, frame: pd.DataFrame, probs: pd.DataFrame, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Municipality from the school registry where the file does not carry it; unknown schools are errors."""
        if not len(frame):
            return frame, probs
        if frame["municipality"].isna().any():       # region protocols carry it on every row
            codes, uniques = pd.factorize(frame["school_id"])       # map each distinct school once
            found = pd.array([self.school_muni.get(u) for u in uniques] + [None], dtype="string")
            known = pd.Series(found[codes], index=frame.index)    # code -1 (no id) picks the trailing None
            frame = frame.assign(municipality=frame["municipality"].where(frame["municipality"].notna(), known))
        unknown = frame["municipality"].isna()
        if not unknown.any():
            return frame, probs
        extra = [P.problem(name, s, row, "school_id", sid, "unknown_school")
                 for s, row, sid in zip(frame.loc[unknown, "source_sheet"], frame.loc[unknown, "source_row"],
                                        frame.loc[unknown, "school_id"])]
        return frame, pd.concat([probs, P.frame(extra)], ignore_index=True)

    def _task_lists(self) -> dict[tuple, list[list[int]]]:
        """(year, subject, grade) -> [[position, max_score], …] of the imported task descriptions (built once)."""
        if getattr(self, "_tasks_by_work", None) is None or self._tasks_rows != len(self.tasks):
            t = self.tasks.sort_values("position")
            self._tasks_by_work = {(int(y), str(s), int(g)): grp[["position", "max_score"]].astype(int).values.tolist()
                                   for (y, s, g), grp in t.groupby(["year", "subject", "grade"], sort=False)}
            self._tasks_rows = len(self.tasks)
        return self._tasks_by_work

    def _check_tasks(self, fname: str, tasks: pd.DataFrame) -> pd.DataFrame:
        """The file's task list (labels, maxima by position) must agree with the imported description."""
        if self.tasks.empty or tasks.empty:
            return P.frame([])
        y, s, g = tasks["year"].iat[0], tasks["subject"].iat[0], tasks["grade"].iat[0]
        a = self._task_lists().get((int(y), str(s), int(g)))
        if a is None:
            return P.frame([])
        pairs = tasks[["position", "max_score"]].to_numpy(dtype=int)
        b = pairs[np.argsort(pairs[:, 0], kind="stable")].tolist()
        if a == b:
            return P.frame([])
        return P.frame([P.problem(fname, None, None, None, None, "task_list_mismatch",
                                  detail=f"в файле {len(b)} заданий с максимумами {[x[1] for x in b]}, "
                                         f"в описании {len(a)}: {[x[1] for x in a]}")])


PARALLEL_MIN_BYTES = 20 << 20   # below this much input a second process costs more than it saves
CHUNK_BYTES = 4 << 20           # input bytes per task of a reader process


def _chunks(planned: list, size_of) -> list[list]:
    """Consecutive files of one table, about CHUNK_BYTES each (tasks for the reader processes)."""
    out: list[list] = []
    size = 0
    for item in planned:
        if not out or out[-1][0][2] != item[2] or size >= CHUNK_BYTES:
            out.append([])
            size = 0
        out[-1].append(item)
        size += size_of(item[0])
    return out


def _classify_chunk(files: list[Path], region: Region | None) -> list[tuple[str | None, int | None, tuple | None]]:
    """A reader process's classification task: (table, index of the mapping among the candidates, error)."""
    candidates = candidate_mappings(region)
    ids = {id(m): i for i, (_, m, _) in enumerate(candidates) if m is not None}
    out = []
    for f in files:
        try:
            t, m = classify(f, candidates)
            out.append((t, ids.get(id(m)) if m is not None else None, None))
        except UnreadableFile as e:
            out.append((None, None, (e.rule, e.detail)))
    return out


def _process_chunk(importer: Importer, chunk: list, folder: str, prefix: str):
    """A reader process's task: read, check and stage one chunk; returns the outcomes and staged parts."""
    from workbench.data.store import Stager

    stager = Stager(Path(folder), prefix)
    done = importer.process(chunk, stager)
    return done, stager.finish()


class _Readers:
    """Reader processes for a large import (None of them for a small one: a process costs more than it saves).

    Spawned, not forked: the parent holds DuckDB threads that must not be copied mid-flight."""

    def __init__(self, files: list[Path], jobs: int | None):
        total = sum(f.stat().st_size for f in files)
        n = jobs or min(os.cpu_count() or 1, 4)
        use = n > 1 and len(files) > 1 and (jobs is not None or total >= PARALLEL_MIN_BYTES)
        self.pool = None
        if use:
            import concurrent.futures as cf
            import multiprocessing

            self.pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"))
            for _ in range(n):            # spawned on submit: start every process now, not at the first task
                self.pool.submit(os.getpid)
        self.jobs = n

    def __enter__(self) -> "_Readers":
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def classify(self, files: list[Path], region: Region | None):
        if self.pool is None or len(files) < 2:
            return _classify_chunk(files, region)
        k = max(1, len(files) // (self.jobs * 4))
        parts = [files[i:i + k] for i in range(0, len(files), k)]
        return [r for rs in self.pool.map(_classify_chunk, parts, [region] * len(parts)) for r in rs]

    def process(self, importer: Importer, tx: ImportTransaction, planned: list) -> list[_Done]:
        """Reference tables in this process (later files need them), the rest in the reader processes;
        results in the planned order."""
        import concurrent.futures as cf

        reference = [x for x in planned if x[2] in ORDER]
        rest = [x for x in planned if x[2] not in ORDER]
        done = importer.process(reference, tx.stager)
        if self.pool is None or len(rest) < 2:
            return done + importer.process(rest, tx.stager)
        chunks = _chunks(rest, lambda p: p.stat().st_size)
        results: dict[int, list[_Done]] = {}
        futures = {self.pool.submit(_process_chunk, importer, c, str(tx.parts_dir), f"w{i:05d}"): i
                   for i, c in enumerate(chunks)}
        for f in cf.as_completed(futures):
            outcomes, staged = f.result()
            tx.add_staged(staged)
            results[futures[f]] = outcomes
        return done + [d for i in sorted(results) for d in results[i]]


def _shared_key_problems(tx: ImportTransaction) -> pd.DataFrame:
    """Warnings for keys that rows of several files share (see ImportTransaction.shared_keys)."""
    keys = {t: tuple(s.key) for t, s in TABLES.items() if getattr(s, "key", None)}
    required = {t: {k for k in key if not columns_of(t).get(k, {}).get("nullable", True)} for t, key in keys.items()}
    out = []
    for d in tx.shared_keys(keys, required):
        files = ", ".join(f"«{f}»" for f in d["files"])
        detail = (f"таблица {d['table']}, {d['keys']} {plural(d['keys'], 'ключ', 'ключа', 'ключей')} в файлах {files}, "
                  f"например {d['example']}")
        out.append(P.problem(d["files"][0], None, None, ", ".join(d["key"]), d["example"], "shared_key",
                             allowed=", ".join(d["key"]), detail=detail))
    return P.frame(out)


def _replaced_note(replaced: list[Source]) -> str:
    """Russian note naming the earlier imports whose rows a file replaced."""
    if not replaced:
        return ""
    items = [f"«{s.relative}» от {s.imported.replace('T', ' ')}" for s in replaced]
    return "заменены строки ранее загруженного файла " + ", ".join(items)


def import_paths(paths: list[Path], store_dir: Path, *, region: Region | None = None, table: str | None = None,
                 mapping: TableMapping | None = None, replace: bool = False,
                 overrides: dict | None = None, jobs: int | None = None) -> ImportResult:
    """Import files/folders into the store at ``store_dir`` as one transaction; returns what happened to each file.

    ``replace`` starts from an empty store instead of the current version; ``overrides`` (``year``, ``subject``,
    ``grade``, ``school_id``) give ВПР forms what they do not say themselves. ``jobs`` reader processes
    (default: the cores, at most 4) read large imports in parallel.
    """
    import contextlib

    result = ImportResult()
    all_probs: list[pd.DataFrame] = []
    with contextlib.ExitStack() as stack:
        tx = stack.enter_context(store_transaction(store_dir, replace=replace))
        if tx.stale:
            result.notes.append(f"Предыдущая загрузка (начата {tx.stale.get('started', '?')}) была прервана; её "
                                "незавершённые данные отброшены, хранилище оставалось в состоянии до неё.")
        importer = Importer(tx.base, region, overrides=overrides)
        candidates = candidate_mappings(region)
        planned: list[tuple[Path, str, str | None, TableMapping | None]] = []
        hashes: dict[str, str] = {}

        def reject(name: str, rule: str, detail: str, status: str = "rejected", fatal: bool = True) -> None:
            all_probs.append(P.frame([P.problem(name, None, None, None, None, rule, detail=detail)]))
            result.files.append(FileReport(name, None, None, fatal=fatal, status=status,
                                           reason=all_probs[-1].message.iloc[0]))

        found: list[tuple[Path, str]] = []
        named = {Path(p).resolve() for p in paths if Path(p).is_file()}
        for f, name in discover(paths):
            why = not_data_reason(f, explicit=f.resolve() in named)
            if why:
                reject(name, "not_data", why, status="not_data", fatal=False)
                continue
            if f.suffix.lower() not in SUPPORTED_SUFFIXES:
                reject(name, "unsupported_format", f"«{f.suffix or 'без расширения'}»; читаются "
                       + ", ".join(sorted(SUPPORTED_SUFFIXES)) + " — сохраните таблицу в одном из них")
                continue
            found.append((f, name))
        # reader processes start now: they import the package while this process hashes the files
        readers = stack.enter_context(_Readers([f for f, _ in found], jobs))
        todo: list[tuple[Path, str]] = []
        for f, name in found:
            h = file_hash(f)
            if h in hashes:
                reject(name, "duplicate_file", f"то же содержимое, что у «{hashes[h]}»", status="duplicate", fatal=False)
                continue
            hashes[h] = name
            importer.hashes[f] = h
            todo.append((f, name))
        kinds = ([(table, None, None)] * len(todo) if table else readers.classify([f for f, _ in todo], region))
        for (f, name), (t, mi, err) in zip(todo, kinds):
            if err:
                reject(name, *err)
            elif t is None:
                reject(name, "unknown_format", "заголовки не совпадают ни с одной таблицей и это не выгрузка ВПР")
            else:
                planned.append((f, name, t, mapping if table else (candidates[mi][1] if mi is not None else None)))
        rank = {t: i for i, t in enumerate(ORDER)}
        planned.sort(key=lambda x: (rank.get(x[2], len(ORDER) + (x[2] == "vpr")), x[1]))
        for d in readers.process(importer, tx, planned):
            d.report.replaced = _replaced_note(tx.add_source(d.source))
            result.files.append(d.report)
            all_probs.append(d.problems)
        shared = _shared_key_problems(tx)
        if len(shared):
            all_probs.append(shared)
            result.notes += [f"ВНИМАНИЕ: {m}." for m in shared.message]
        result.problems = pd.concat(all_probs, ignore_index=True) if all_probs else P.frame([])
        summary = {"files": len(result.files), "imported": sum(f.status == "imported" for f in result.files),
                   "rows_read": sum(f.rows_read for f in result.files), "accepted": sum(f.accepted for f in result.files),
                   "quarantined": sum(f.quarantined for f in result.files), "exit_code": result.exit_code}
        store = tx.commit(result.problems, summary)
    result.version = store.version
    last = store.manifest["imports"][-1]["report"]
    result.report_path = Path(store_dir) / "current" / last
    return result
