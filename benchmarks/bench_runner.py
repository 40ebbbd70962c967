"""Benchmark of the main job and the dashboard (prints figures; asserts nothing).

* wall time of ``workbench run`` over every municipality of the store;
* per-notebook time for one municipality against the floor: a bare kernel start plus the imports;
* the dashboard app in a real browser is measured by ``bench_dashboard.py``.

    .venv/bin/python benchmarks/bench_runner.py --store data/store [--jobs 2] [--municipality 004]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill as pm

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed_notebook(nb: Path, params: dict, cwd: Path) -> float:
    t0 = time.perf_counter()
    pm.execute_notebook(str(nb), str(cwd / ("out-" + nb.name)), parameters=params, kernel_name="python3",
                        language="python", cwd=str(cwd), progress_bar=False, execution_timeout=900)
    return time.perf_counter() - t0


def floor_notebook(folder: Path) -> Path:
    """A notebook that only starts a kernel and imports what the production notebooks import."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import pandas, duckdb, matplotlib.pyplot\nfrom workbench import overview, notebook_support\nfrom workbench.reports import builder")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "floor.ipynb"
    nbformat.write(nb, path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", type=Path, default=ROOT / "data" / "store")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--municipality", default="004")
    ap.add_argument("--skip-run", action="store_true", help="do not time the whole-region run")
    args = ap.parse_args()
    store = args.store.resolve()
    work = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    if not args.skip_run:
        t0 = time.perf_counter()
        cmd = [str(BIN / "workbench"), "run", "--store", str(store), "--out", str(work / "outputs")]
        cmd += ["--jobs", str(args.jobs)] if args.jobs else []
        subprocess.run(cmd, check=False, cwd=ROOT)
        print(f"whole-region run: {time.perf_counter() - t0:.1f} s")
    floor = min(timed_notebook(floor_notebook(work), {}, work) for _ in range(2))
    print(f"floor (kernel start + imports): {floor:.1f} s")
    from workbench.runner import production_notebooks

    for nb in production_notebooks():
        out = work / "nb" / args.municipality
        out.mkdir(parents=True, exist_ok=True)
        t = timed_notebook(nb, {"municipality": args.municipality, "store": str(store), "output_dir": str(out),
                                "cache_dir": str(work / "cache"), "year": 2026}, out)
        print(f"{nb.name} ({args.municipality}): {t:.1f} s  (floor {floor:.1f} s, own work {t - floor:.1f} s)")
    print("dashboard app in a browser: benchmarks/bench_dashboard.py")


if __name__ == "__main__":
    main()
