"""Benchmark of the data layer: demo generation, import throughput (rows/s) against its floor, peak memory,
the store's size, and the speed of the queries consumers make.

Prints figures; asserts nothing (speed is measured here, never in timed unit tests).

    .venv/bin/python benchmarks/bench_foundation.py [--scales 1 10] [--out /tmp/wb-bench] [--reuse-demo] [--jobs N]

The floor of an import is the time the fastest tools need just to read the same files: DuckDB's CSV reader for
the CSV files (``read_csv`` with every column as text, all files at once) plus python-calamine for the
spreadsheets. The ratio import / floor says how much the checks, the parsing and the store cost on top.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

BIN = Path(sys.executable).parent


def run_measured(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS of the process tree in MiB, stdout) of one command."""
    t0 = time.perf_counter()
    log = tempfile.TemporaryFile(mode="w+")  # not a pipe: a full pipe buffer would block the child
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.1)
    log.seek(0)
    out = log.read()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out}")
    return time.perf_counter() - t0, peak / 2**20, out


def floor_seconds(raw: Path) -> tuple[float, float]:
    """(seconds DuckDB needs to read every CSV file, seconds calamine needs to read every spreadsheet)."""
    import duckdb
    import python_calamine

    csvs = sorted(str(p) for p in raw.rglob("*.csv"))
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for f in csvs:   # one by one: the files have different columns, separators and encodings
        try:
            con.execute(f"SELECT count(*) FROM read_csv('{f}', all_varchar=true, header=false, null_padding=true, "
                        "ignore_errors=true, encoding='utf-8')").fetchone()
        except duckdb.Error:   # cp1251 files: DuckDB reads only UTF-8/UTF-16/latin-1; count as read
            pass
    t_csv = time.perf_counter() - t0
    t0 = time.perf_counter()
    for f in sorted(p for p in raw.rglob("*") if p.suffix.lower() in (".xlsx", ".xls", ".ods", ".xlsm")):
        wb = python_calamine.CalamineWorkbook.from_path(str(f))
        for name in wb.sheet_names:
            wb.get_sheet_by_name(name).to_python()
    return t_csv, time.perf_counter() - t0


def query_seconds(store_dir: Path, repeat: int = 5) -> dict[str, float]:
    """Best-of-``repeat`` seconds of the queries consumers make on a fresh Store (connection included)."""
    from workbench.data.store import Store

    def best(fn) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    s = Store(store_dir)
    muni = s.status().tables["vpr"]["municipalities"][0]
    year = s.status().tables["vpr"]["years"][-1]
    return {
        "open + one municipality's ВПР rows of one year": best(lambda: Store(store_dir).query(
            "SELECT * FROM vpr WHERE municipality = ? AND year = ?", [muni, year])),
        "one municipality's ВПР rows of one year (open store)": best(lambda: s.query(
            "SELECT * FROM vpr WHERE municipality = ? AND year = ?", [muni, year])),
        "region: school means of one work": best(lambda: s.query(
            "SELECT school_id, avg(primary_score) FROM vpr WHERE year = ? AND subject = 'rus' AND grade = 5 "
            "GROUP BY 1", [year])),
        "region: municipalities × years × subjects": best(lambda: s.query(
            "SELECT DISTINCT municipality, year, subject FROM vpr")),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scales", nargs="+", type=float, default=[1.0, 10.0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/wb-bench"))
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--jobs", type=int, default=None, help="reader processes of the import (default: the cores)")
    ap.add_argument("--reuse-demo", action="store_true", help="import an already generated demo in --out")
    args = ap.parse_args()
    for scale in args.scales:
        root = args.out / f"scale-{scale:g}"
        if not args.reuse_demo:
            shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(root / "store", ignore_errors=True)
        print(f"\n== масштаб {scale:g}")
        if not args.reuse_demo:
            t, mem, _ = run_measured([str(BIN / "workbench"), "demo", "--out", str(root / "demo"), "--scale", str(scale),
                                      "--seed", str(args.seed)])
            print(f"demo: {t:.1f} с, пик RSS {mem:.0f} МиБ")
        raw = root / "demo" / "raw"
        files = [p for p in raw.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files) / 2**20
        cmd = [str(BIN / "workbench"), "import", str(raw), "--store", str(root / "store"), "--params",
               "params/regions/demo.yaml"] + (["--jobs", str(args.jobs)] if args.jobs else [])
        t, mem, out = run_measured(cmd)
        line = next(ln for ln in out.splitlines() if ln.startswith("Итого файлов"))
        rows = int(re.search(r"[Сс]трок прочитано: (\d+)", line).group(1))
        t_csv, t_xlsx = floor_seconds(raw)
        floor = t_csv + t_xlsx
        parquet = list((root / "store" / "current").rglob("*.parquet"))
        store_mb = sum(p.stat().st_size for p in parquet) / 2**20
        print(f"import: {len(files)} файлов ({size:.0f} МиБ), {rows} строк за {t:.1f} с = {rows / t:,.0f} строк/с; "
              f"пик RSS {mem:.0f} МиБ".replace(",", " "))
        print(f"пол (только чтение): DuckDB CSV {t_csv:.1f} с + calamine таблицы {t_xlsx:.1f} с = {floor:.1f} с; "
              f"загрузка / пол = {t / floor:.1f}")
        print(f"хранилище: {len(parquet)} файлов parquet, {store_mb:.0f} МиБ")
        for what, sec in query_seconds(root / "store").items():
            print(f"запрос «{what}»: {sec:.3f} с")


if __name__ == "__main__":
    main()
