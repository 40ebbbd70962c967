"""Benchmark of the data layer: demo generation time, import throughput (rows/s) and peak memory.

Prints figures; asserts nothing (speed is measured here, never in timed unit tests).

    .venv/bin/python benchmarks/bench_foundation.py [--scales 1 10] [--out /tmp/wb-bench]
"""
from __future__ import annotations

import argparse
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scales", nargs="+", type=float, default=[1.0, 10.0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/wb-bench"))
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--reuse-demo", action="store_true", help="import an already generated demo in --out")
    args = ap.parse_args()
    print(f"{'масштаб':>7} {'этап':>8} {'время, с':>9} {'пик RSS, МиБ':>13} {'строк':>10} {'строк/с':>9} {'файлов':>7}")
    for scale in args.scales:
        root = args.out / f"scale-{scale:g}"
        if not args.reuse_demo:
            shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(root / "store", ignore_errors=True)
        t, mem, _ = (0.0, 0.0, "") if args.reuse_demo else run_measured([str(BIN / "workbench"), "demo", "--out", str(root / "demo"), "--scale", str(scale),
                                  "--seed", str(args.seed)])
        raw = root / "demo" / "raw"
        files = [p for p in raw.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files) / 2**20
        print(f"{scale:7g} {'demo':>8} {t:9.1f} {mem:13.0f} {'':>10} {'':>9} {len(files):7d}   ({size:.0f} МиБ сырых файлов)")
        t, mem, out = run_measured([str(BIN / "workbench"), "import", str(raw), "--store", str(root / "store"),
                                    "--params", "params/regions/demo.yaml"])
        line = next(ln for ln in out.splitlines() if ln.startswith("Итого файлов"))
        rows = int(line.split("строк прочитано: ")[1].split(",")[0])
        print(f"{scale:7g} {'import':>8} {t:9.1f} {mem:13.0f} {rows:10d} {rows / t:9.0f} {len(files):7d}")


if __name__ == "__main__":
    main()
