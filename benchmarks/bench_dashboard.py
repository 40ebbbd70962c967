"""Benchmark of the dashboard app as an official meets it: Voila (with ``voila.json``, so a preheated kernel)
and Debian's Chromium. Prints figures; asserts nothing.

For each visit it prints the seconds from opening the address to the overview's school table, from choosing
another municipality to its schools in the table, and from each navigation button to its view. «Идентификация»
is opened twice: first PAUSE seconds after a change of municipality, as an official who has read the overview
meets it (the first time the view is drawn in the page), then at once after changing back (the overview's chart
is still being drawn and the hidden view is still following the selection). The first
visit takes the preheated kernel (the app already rendered); a second visit, right after, shows what a
colleague opening the address meanwhile waits for (the pool is being refilled).

    .venv/bin/python benchmarks/bench_dashboard.py --store data/store [--cache outputs/_cache] [--visits 2]

``--cache`` is the run's cache of region-wide results (default: where ``workbench run`` writes); an empty
folder shows a store that no run has computed yet (``--cache /tmp/empty-cache``).
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
PAUSE = 2.0   # seconds an official looks at the overview before opening another view


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, step: float = 0.2) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return False


def shown(page, css: str, text: str | None = None, hidden: str | None = None) -> None:
    """Wait until an element matching ``css`` (containing ``text``) is visible, checked on every animation frame:
    Playwright's own waits poll at growing intervals (up to 0.5 s), which would quantise the figures."""
    page.wait_for_function(
        """([css, text, hidden]) => {
            if (hidden && [...document.querySelectorAll(hidden)].some(e => e.offsetParent !== null)) return false;
            return [...document.querySelectorAll(css)].some(e => e.offsetParent !== null
                && (!text || e.innerText.includes(text)));
        }""", arg=[css, text, hidden], polling="raf", timeout=300_000)


def visit(browser, url: str, store) -> dict[str, float]:
    from workbench.dashboards.app import TITLE

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(300_000)
    out = {}
    t0 = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_text(TITLE).first.wait_for()
    shown(page, ".wb-schools table")
    out["первое открытие"] = time.perf_counter() - t0
    select = page.locator(".wb-app-municipality select")
    current = select.evaluate("el => el.options[el.selectedIndex].text").replace("\u00a0", " ").split(" — ")[0]
    labels = select.locator("option").all_inner_texts()
    current_label = next(x for x in labels if x.replace("\u00a0", " ").startswith(current + " "))
    first_school = store.query("SELECT name FROM schools WHERE municipality = ? ORDER BY school_id LIMIT 1",
                               [current]).name[0]
    label = next(x for x in labels if not x.replace("\u00a0", " ").startswith(current + " "))
    target = label.replace("\u00a0", " ").split(" — ")[0]
    school = store.query("SELECT name FROM schools WHERE municipality = ? ORDER BY school_id LIMIT 1", [target]).name[0]
    t0 = time.perf_counter()
    select.select_option(label=label)
    shown(page, ".wb-schools", school)
    out["смена муниципалитета"] = time.perf_counter() - t0
    time.sleep(PAUSE)          # the official reads the overview; the hidden view follows the selection meanwhile
    t0 = time.perf_counter()
    page.get_by_role("button", name="Идентификация").click()
    shown(page, ".wb-ident-table", school)
    out[f"«Идентификация» через {PAUSE:g} с"] = time.perf_counter() - t0
    page.get_by_role("button", name="Обзор").click()
    shown(page, ".wb-schools", school)
    select.select_option(label=current_label)
    shown(page, ".wb-schools", first_school)
    t0 = time.perf_counter()
    page.get_by_role("button", name="Идентификация").click()   # at once: the overview's chart is still drawn
    shown(page, ".wb-ident-table", first_school)
    out["«Идентификация» сразу после смены"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    page.get_by_role("button", name="Объективность").click()
    shown(page, ".wb-objectivity", hidden=".wb-ident-table")
    out["раздел «Объективность»"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    page.get_by_role("button", name="Разрывы").click()
    shown(page, ".wb-gaps-chart img", hidden=".wb-objectivity")
    out["раздел «Разрывы»"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    page.get_by_role("button", name="Обзор").click()
    shown(page, ".wb-schools", first_school)
    out["назад к «Обзору»"] = time.perf_counter() - t0
    page.close()
    return out


def main() -> None:
    from playwright.sync_api import sync_playwright

    from workbench.results import CACHE_ENV, default_cache_dir
    from workbench.dashboards.serve import NOTEBOOKS, voila_command
    from workbench.data.store import Store

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", type=Path, default=ROOT / "data" / "store")
    ap.add_argument("--cache", type=Path, default=None, help="the cache of region-wide results (default: the run's)")
    ap.add_argument("--visits", type=int, default=2)
    args = ap.parse_args()
    store = Store(args.store.resolve())
    port = free_port()
    argv, env = voila_command(NOTEBOOKS["app"], port, store=args.store.resolve())
    env[CACHE_ENV] = str((args.cache or default_cache_dir()).resolve())
    log = Path(tempfile.mkdtemp(prefix="wb-bench-dash-")) / "voila.log"
    t_start = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        filled = wait_for(lambda: "Kernel pool of" in log.read_text(errors="replace"), 600)
        print(f"Voila: пул с подготовленным ядром {'готов' if filled else 'НЕ готов'} через "
              f"{time.perf_counter() - t_start:.1f} с после запуска (кэш: {env[CACHE_ENV]})")
        time.sleep(3)   # the app's background build of the identification view, as after a quiet minute
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
            for i in range(args.visits):
                figures = visit(browser, f"http://127.0.0.1:{port}/", store)
                print(f"визит {i + 1}: " + "; ".join(f"{k} {v:.2f} с" for k, v in figures.items()))
            browser.close()
        hits = len(re.findall("Using pre-heated kernel", log.read_text(errors="replace")))
        print(f"подготовленных ядер использовано: {hits} из {args.visits} визитов")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


if __name__ == "__main__":
    main()
