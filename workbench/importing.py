"""The import pipeline: classify files, read, validate, split accepted / quarantined, write the store.

Guarantees, per file: rows read = rows accepted + rows quarantined; every problem is reported at
once (file, sheet, row, column, value, rule, Russian message); a file-level (fatal) problem sends all
its rows to quarantine. Exit code: 0 all accepted, 1 some quarantined, 2 a file could not be read.

Example
-------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "staff.csv").write_text("Год;Код муниципалитета;Код ОО;Учителей\\n2024;004;edu004001;35\\n2024;004;edu004002;-3\\n")
>>> res = import_paths([d / "staff.csv"], d / "store")
>>> [(f.table, f.rows_read, f.accepted, f.quarantined) for f in res.files], res.exit_code
([('staff', 2, 1, 1)], 1)
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench import problems as P
from workbench.config import Region, TableMapping, load_municipality
from workbench.paths import PARAMS_DIR
from workbench.scales import ScaleBook, load_scales
from workbench.schemas import TABLES
from workbench.store import Store
from workbench.tables import decode_bytes, is_blank, match_score, read_table, sniff_sep
from workbench.validation import duplicate_keys, validate_table

DATA_SUFFIXES = {".csv", ".xlsx", ".xlsm", ".txt"}
# Reference tables first: the registry gives municipalities to ВПР rows, scales recompute marks.
ORDER = ["schools", "mark_scales", "vpr_tasks"]


@dataclass
class FileReport:
    path: str
    table: str | None
    format: str | None
    rows_read: int = 0
    accepted: int = 0
    quarantined: int = 0
    errors: int = 0
    warnings: int = 0
    fatal: bool = False


@dataclass
class ImportResult:
    files: list[FileReport] = field(default_factory=list)
    problems: pd.DataFrame = field(default_factory=lambda: P.frame([]))
    report_path: Path | None = None

    @property
    def exit_code(self) -> int:
        if any(f.fatal for f in self.files):
            return 2
        return 1 if any(f.quarantined for f in self.files) else 0

    def summary_ru(self) -> list[str]:
        """Russian summary lines for the terminal."""
        lines = [f"{'Файл':48} {'Таблица':12} {'Прочитано':>9} {'Принято':>8} {'Карантин':>8} {'Ошибок':>7} {'Предупр.':>8}"]
        for f in self.files:
            lines.append(f"{f.path[-48:]:48} {(f.table or '—'):12} {f.rows_read:9d} {f.accepted:8d} {f.quarantined:8d} "
                         f"{f.errors:7d} {f.warnings:8d}")
        tot = [sum(getattr(f, a) for f in self.files) for a in ("rows_read", "accepted", "quarantined")]
        lines.append(f"Итого файлов: {len(self.files)}; строк прочитано: {tot[0]}, принято: {tot[1]}, в карантине: {tot[2]}.")
        if self.report_path:
            lines.append(f"Отчёт о проблемах: {self.report_path}")
        return lines


def discover(paths: list[Path]) -> list[Path]:
    """Data files under the given paths (folders recursively), skipping hidden, temporary and ``_`` files."""
    out: list[Path] = []
    for p in map(Path, paths):
        items = sorted(p.rglob("*")) if p.is_dir() else [p]
        for f in items:
            if f.is_file() and f.suffix.lower() in DATA_SUFFIXES and not f.name.startswith((".", "~$", "_")):
                out.append(f)
    return out


def file_hash(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def peek_rows(path: Path, n: int = 30) -> list[list[object]]:
    """The first rows of every sheet (cheap: no full read), for classifying a file."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows: list[list[object]] = []
        for ws in wb.worksheets:
            rows += [list(r) for _, r in zip(range(n), ws.iter_rows(values_only=True))]
        wb.close()
        return rows
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    text, _ = decode_bytes(head[: head.rfind(b"\n") + 1] or head, final=False)
    return [list(r) for r in csv.reader(io.StringIO(text), delimiter=sniff_sep(text))][:n]


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
    """Which table a file holds: a ВПР export by its signature, else the best header match (all required)."""
    from workbench import fisoko

    if fisoko.sniff_vpr(path):
        return "vpr", None
    rows = [r for r in peek_rows(path) if r and not all(is_blank(v) for v in r)]
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
    table: str
    frame: pd.DataFrame
    probs: pd.DataFrame
    fmt: str
    rows: int
    headers: dict[str, str]


class Importer:
    """Runs the import of many files into one store, keeping reference tables for later files."""

    def __init__(self, store: Store, region: Region | None = None, scales: ScaleBook | None = None):
        self.store, self.region = store, region
        self.scales = scales or ScaleBook(load_scales(PARAMS_DIR / "mark_scales.csv"))
        self.school_muni: dict[str, str] = {}
        self.tasks = pd.DataFrame()
        self._load_reference()

    def _load_reference(self) -> None:
        tables = self.store.tables()
        if "schools" in tables:
            s = self.store.query("SELECT school_id, municipality FROM schools")
            self.school_muni.update(dict(zip(s.school_id, s.municipality)))
        if "mark_scales" in tables:
            self.scales = self.scales.extended(self.store.query("SELECT * FROM mark_scales"))
        if "vpr_tasks" in tables:
            self.tasks = self.store.query("SELECT * FROM vpr_tasks")

    def import_files(self, planned: list[tuple[Path, str, TableMapping | None]]) -> list[tuple[FileReport, pd.DataFrame]]:
        """Import files in order; consecutive files of one table are rule-checked together in batches,
        because pandera's cost per call (not per row) dominates for many small exports."""
        out: list[tuple[FileReport, pd.DataFrame]] = []
        batch: list[_Parsed] = []
        for path, table, mapping in planned:
            if batch and (batch[0].table != table or sum(len(b.frame) for b in batch) >= BATCH_ROWS
                          or table in ORDER):
                out += [self._finish(b) for b in self._rule_check(batch)]
                batch = []
            batch.append(self._read(path, table, mapping))
            if table in ORDER:  # reference tables are needed by the files that follow
                out += [self._finish(b) for b in self._rule_check(batch)]
                batch = []
        if batch:
            out += [self._finish(b) for b in self._rule_check(batch)]
        return out

    def import_file(self, path: Path, table: str, mapping: TableMapping | None) -> tuple[FileReport, pd.DataFrame]:
        """Import one file (read, check rules, split, write)."""
        return self.import_files([(path, table, mapping)])[0]

    def _read(self, path: Path, table: str, mapping: TableMapping | None) -> "_Parsed":
        if table == "vpr":
            return self._read_vpr(path)
        r = read_table(path, table, mapping)
        probs = r.problems
        if len(r.frame) and not (probs.severity == "fatal").any():
            probs = pd.concat([probs, _as_user_sees(duplicate_keys(r.frame, table, path.name, r.sheet), probs, r.headers)],
                              ignore_index=True)
        return _Parsed(path, table, r.frame, probs, "таблица", r.rows_read, r.headers)

    def _rule_check(self, batch: list["_Parsed"]) -> list["_Parsed"]:
        """Add the pandera rule problems of every file of the batch (one validation call for all)."""
        ok = [i for i, b in enumerate(batch) if len(b.frame) and not (b.probs.severity == "fatal").any()]
        if not ok:
            return batch
        table = batch[0].table
        combined = pd.concat([batch[i].frame.assign(_item=i) for i in ok], ignore_index=True)
        checked = validate_table(combined, table)
        for i in ok:
            b = batch[i]
            mine = checked[checked["_item"] == i].drop(columns="_item")
            probs = pd.concat([b.probs, _as_user_sees(mine, b.probs, b.headers)], ignore_index=True)
            b.probs = probs.drop_duplicates(["sheet", "row", "column", "value", "rule"])
        return batch

    def _finish(self, b: "_Parsed") -> tuple[FileReport, pd.DataFrame]:
        part = file_hash(b.path)
        probs, frame = b.probs, b.frame
        fatal = bool((probs.severity == "fatal").any())
        accepted, quarantined = _split(frame, probs, fatal) if len(frame) else (frame, frame)
        if not fatal:
            self.store.write(b.table, accepted, part)
            self._remember(b.table, accepted)
        else:
            self.store.remove_part(b.table, part)
        self.store.quarantine(b.table, quarantined, part)
        rep = FileReport(str(b.path), b.table, b.fmt, b.rows, len(accepted) if not fatal else 0, len(quarantined),
                         int(probs.severity.isin(["error", "fatal"]).sum()), int((probs.severity == "warning").sum()), fatal)
        assert rep.accepted + rep.quarantined == rep.rows_read, rep  # row conservation, always
        return rep, probs

    def _remember(self, table: str, accepted: pd.DataFrame) -> None:
        if table == "schools":
            self.school_muni.update(dict(zip(accepted.school_id, accepted.municipality)))
        elif table == "mark_scales":
            self.scales = self.scales.extended(accepted)
        elif table == "vpr_tasks":
            self.tasks = pd.concat([self.tasks, accepted], ignore_index=True)

    def _read_vpr(self, path: Path) -> "_Parsed":
        from workbench import fisoko

        r = fisoko.read_vpr(path, self.scales)
        frame, probs = r.works, r.problems
        if len(frame):
            # Municipality from the registry where the export does not carry it.
            known = frame["school_id"].map(self.school_muni)
            frame = frame.assign(municipality=frame["municipality"].where(frame["municipality"].notna(), known))
            unknown = frame["municipality"].isna()
            extra = [P.problem(path.name, s, row, "school_id", sid, "unknown_school")
                     for s, row, sid in zip(frame.loc[unknown, "source_sheet"], frame.loc[unknown, "source_row"],
                                            frame.loc[unknown, "school_id"])]
            probs = pd.concat([probs, P.frame(extra), self._check_tasks(path.name, r.tasks)], ignore_index=True)
        return _Parsed(path, "vpr", frame, probs, r.format, r.rows_read, {})

    def _check_tasks(self, fname: str, tasks: pd.DataFrame) -> pd.DataFrame:
        """The file's task list (labels, maxima by position) must agree with the imported description."""
        if self.tasks.empty or tasks.empty:
            return P.frame([])
        key = ["year", "subject", "grade"]
        k = tasks[key].iloc[0].tolist()
        ref = self.tasks[(self.tasks.year == k[0]) & (self.tasks.subject == k[1]) & (self.tasks.grade == k[2])]
        if ref.empty:
            return P.frame([])
        a = ref.sort_values("position")[["position", "max_score"]].astype(int).values.tolist()
        b = tasks.sort_values("position")[["position", "max_score"]].astype(int).values.tolist()
        if a == b:
            return P.frame([])
        return P.frame([P.problem(fname, None, None, None, None, "task_list_mismatch",
                                  detail=f"в файле {len(b)} заданий с максимумами {[x[1] for x in b]}, "
                                         f"в описании {len(a)}: {[x[1] for x in a]}")])


def import_paths(paths: list[Path], store_dir: Path, *, region: Region | None = None, table: str | None = None,
                 mapping: TableMapping | None = None, report_dir: Path | None = None) -> ImportResult:
    """Import files/folders into the store at ``store_dir``; writes quarantine and an import report CSV."""
    store = Store(store_dir)
    importer = Importer(store, region)
    files = discover(paths)
    candidates = candidate_mappings(region)
    planned: list[tuple[Path, str | None, TableMapping | None]] = []
    result = ImportResult()
    all_probs: list[pd.DataFrame] = []
    for f in files:
        try:
            t, m = (table, mapping) if table else classify(f, candidates)
        except Exception as e:  # unreadable file: report, never crash the batch
            t, m = None, None
            all_probs.append(P.frame([P.problem(f.name, None, None, None, None, "file_unreadable", detail=str(e))]))
            result.files.append(FileReport(str(f), None, None, fatal=True))
            continue
        if t is None:
            all_probs.append(P.frame([P.problem(f.name, None, None, None, None, "unknown_format",
                                                detail="заголовки не совпадают ни с одной таблицей и это не выгрузка ВПР")]))
            result.files.append(FileReport(str(f), None, None, fatal=True))
            continue
        planned.append((f, t, m))
    rank = {t: i for i, t in enumerate(ORDER)}
    planned.sort(key=lambda x: (rank.get(x[1], len(ORDER) + (x[1] == "vpr")), str(x[0])))
    for rep, probs in importer.import_files(planned):
        result.files.append(rep)
        all_probs.append(probs)
    result.problems = pd.concat(all_probs, ignore_index=True) if all_probs else P.frame([])
    report_dir = report_dir or store.root / "_reports"
    report_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    result.report_path = report_dir / f"import-{stamp}.csv"
    result.problems.to_csv(result.report_path, index=False, encoding="utf-8-sig", sep=";")
    return result
