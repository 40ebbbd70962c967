"""Benchmark of the main job and the dashboard (prints figures; asserts nothing).

* wall time of ``workbench run`` over every municipality of the store;
* per-notebook time for one municipality against the floor: a bare kernel start plus the imports;
* dashboard: first render and one widget update, in Python and in a real browser (Voila + Chromium).

    .venv/bin/python benchmarks/bench_runner.py --store data/store [--jobs 2] [--municipality 004]
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
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
        "import pandas, duckdb, matplotlib.pyplot\nfrom workbench import overview, notebook_support, report")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "floor.ipynb"
    nbformat.write(nb, path)
    return path


def dashboard_python(store: Path, municipality: str) -> tuple[float, float]:
    import contextlib
    import io

    from workbench.dashboard import OverviewDashboard

    with contextlib.redirect_stdout(io.StringIO()):  # outside a kernel, displayed widgets print their repr
        t0 = time.perf_counter()
        dash = OverviewDashboard(store)
        dash.select(municipality=municipality)
        first = time.perf_counter() - t0
        subjects = [v for _, v in dash.subject.options]
        t0 = time.perf_counter()
        if len(subjects) > 1:
            dash.select(subject=subjects[1])
        return first, time.perf_counter() - t0


def dashboard_browser(store: Path) -> tuple[float, float] | None:
    from playwright.sync_api import sync_playwright

    from workbench.dashboard import TITLE
    from workbench.serve import NOTEBOOK, voila_command

    if not Path("/usr/bin/chromium").exists():
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv, env = voila_command(NOTEBOOK, port, store=store)
    proc = subprocess.Popen(argv, env=env, cwd=tempfile.mkdtemp(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.25)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/", timeout=300_000)
            page.get_by_text(TITLE).first.wait_for(timeout=300_000)
            page.locator(".wb-schools table").wait_for(timeout=300_000)
            first = time.perf_counter() - t0
            before = page.locator(".wb-schools").inner_text()
            select = page.locator("select").nth(2)
            options = select.locator("option").all_inner_texts()
            t0 = time.perf_counter()
            select.select_option(label=options[1] if len(options) > 1 else options[0])
            page.wait_for_function("b => document.querySelector('.wb-schools').innerText !== b", arg=before, timeout=60_000)
            update = time.perf_counter() - t0
            browser.close()
        return first, update
    finally:
        os.killpg(proc.pid, signal.SIGTERM)


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
    first, update = dashboard_python(store, args.municipality)
    print(f"dashboard, Python: first render {first:.2f} s, one widget update {update:.2f} s")
    browser = dashboard_browser(store)
    if browser:
        print(f"dashboard, browser: first render {browser[0]:.1f} s, one widget update {browser[1]:.2f} s")
    else:
        print("dashboard, browser: skipped (no /usr/bin/chromium)")


if __name__ == "__main__":
    main()
