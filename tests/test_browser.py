"""A real Voila server with the overview dashboard, driven by Debian's Chromium through Playwright.

In CI (``CI=true``) a missing browser or a Voila that does not start is a failure, never a skip; elsewhere the
test skips with the reason. Chromium comes from ``scripts/ensure_chromium.sh`` (Debian package; Playwright's own
browser downloads are not reachable here). The screenshot lands in ``tests/artifacts/dashboard.png``.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.dashboards.overview import TITLE, municipality_names, number
from workbench.dashboards.serve import NOTEBOOK, voila_command
from workbench.vocab import SUBJECT_BY_LABEL

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = ROOT / "tests" / "artifacts"
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
START_TIMEOUT = 120   # s until Voila listens
RENDER_TIMEOUT = 180  # s for the first page (kernel start + notebook run; 20–30 s on a cold machine)
UPDATE_TIMEOUT = 60   # s for one widget update

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


def unavailable(reason: str):
    """Fail in CI (the browser test is part of the contract there), skip with the reason elsewhere."""
    if IN_CI:
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to Voila's whole process group (server and kernels), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_listening(proc: subprocess.Popen, port: int, log: Path) -> float:
    start = time.monotonic()
    while time.monotonic() - start < START_TIMEOUT:
        if proc.poll() is not None:
            unavailable(f"voila exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return time.monotonic() - start
        except OSError:
            time.sleep(0.25)
    unavailable(f"voila did not listen on {port} within {START_TIMEOUT} s:\n{log.read_text(errors='replace')[-3000:]}")


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists() and IN_CI:
        # CI runs as root: install Debian's package (idempotent script)
        subprocess.run(["bash", str(ROOT / "scripts" / "ensure_chromium.sh")], check=False, timeout=900)
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable(f"playwright is not installed: {exc}")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:  # the reason must be visible, in CI as a failure
            unavailable(f"chromium does not start: {exc}")
        yield browser
        browser.close()


@contextlib.contextmanager
def served(notebook: Path, store: Path, work: Path, jupyter_path: Path | None = None):
    """(url, log path, seconds to listen) of a real Voila serving ``notebook`` on ``store``; stopped on exit.
    ``jupyter_path``: a folder put first on JUPYTER_PATH (e.g. with extra kernel specs)."""
    port = free_port()
    argv, env = voila_command(notebook, port, store=store)
    if jupyter_path is not None:
        env["JUPYTER_PATH"] = os.pathsep.join(x for x in (str(jupyter_path), env.get("JUPYTER_PATH")) if x)
    env["WORKBENCH_CACHE"] = str(work / "cache")   # the region-wide results this server's kernels share
    log = work / "voila.log"
    with open(log, "w") as fh:
        # started outside the project root: voila.json must still be found (serve passes its folder)
        proc = subprocess.Popen(argv, env=env, cwd=work, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        listen = wait_listening(proc, port, log)
        yield f"http://127.0.0.1:{port}/", log, listen
    finally:
        stop_group(proc)
    assert proc.poll() is not None, "voila is still running after teardown"


@pytest.fixture(scope="module")
def voila(demo_store, tmp_path_factory):
    """The overview dashboard served on the demo store."""
    with served(NOTEBOOK, demo_store.root, tmp_path_factory.mktemp("voila")) as v:
        yield v


# ---------------------------------------------------------------- helpers

def selected_label(page, hook: str) -> str:
    # ipywidgets writes option labels with non-breaking spaces
    text = page.locator(f".{hook} select").evaluate("el => el.options[el.selectedIndex].text")
    return text.replace("\u00a0", " ")


def choose(page, hook: str, label: str) -> float:
    """Select an option by its visible label; returns the seconds until the status line is clear again."""
    start = time.monotonic()
    page.locator(f".{hook} select").select_option(label=label)
    return time.monotonic() - start


def chart_src(page, hook: str = "wb-chart") -> str:
    img = page.locator(f".{hook} img")
    img.first.wait_for(timeout=UPDATE_TIMEOUT * 1000)
    return img.first.get_attribute("src") or ""


def wait_chart_change(page, before: str, hook: str = "wb-chart") -> None:
    page.wait_for_function(
        "([sel, old]) => { const i = document.querySelector(sel); return i && i.getAttribute('src') !== old; }",
        arg=[f".{hook} img", before], timeout=UPDATE_TIMEOUT * 1000)


def shown_schools(store, municipality: str, year: int, subject: str, grade: int, min_n: int = 5) -> list[str]:
    """Names of a municipality's schools that the table shows with values (independent DuckDB query)."""
    return store.query("""
        SELECT coalesce(s.name, v.school_id) AS name
        FROM vpr v JOIN mark_scales m USING (year, subject, grade) LEFT JOIN schools s USING (school_id)
        WHERE NOT v.absent AND v.primary_score IS NOT NULL AND v.municipality = ? AND v.year = ?
              AND v.subject = ? AND v.grade = ?
        GROUP BY 1 HAVING count(*) >= ? ORDER BY 1""", [municipality, year, subject, grade, min_n]).name.tolist()


def participants(store, municipality: str, year: int, subject: str, grade: int) -> int:
    return int(store.query("""
        SELECT count(*) AS n FROM vpr v JOIN mark_scales m USING (year, subject, grade)
        WHERE NOT v.absent AND v.primary_score IS NOT NULL AND v.municipality = ? AND v.year = ?
              AND v.subject = ? AND v.grade = ?""", [municipality, year, subject, grade]).n[0])


def open_dashboard(browser, url: str, ready: list[str], timings: dict, viewport=(1280, 900)):
    """A new page on ``url`` once the ``ready`` locators are visible; returns (page, seconds of the load).

    Full-suite runs before the preheated pool of ``voila.json`` saw a first Voila kernel never finish (log:
    kernel started, nothing after; the cause is not found, see the issue notes; not seen since the pool). A
    second load takes a fresh kernel; the first failure is recorded in ``timings["first_load_timed_out"]`` and
    printed, so it stays visible."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in (1, 2):
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        page.set_default_timeout(UPDATE_TIMEOUT * 1000)
        start = time.monotonic()
        try:
            page.goto(url, timeout=RENDER_TIMEOUT * 1000 // 2, wait_until="domcontentloaded")
            for selector in ready:
                page.locator(selector).first.wait_for(timeout=RENDER_TIMEOUT * 1000)
            return page, round(time.monotonic() - start, 2)
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            timings["first_load_timed_out"] = True
            print(f"WARNING: the first load of {url} did not finish; loading again")
            page.close()


# ---------------------------------------------------------------- the test

def test_dashboard_in_a_real_browser(voila, chromium, demo_store):
    url, log, listen = voila
    timings = {"voila_listen_s": round(listen, 2)}
    page, timings["first_render_s"] = open_dashboard(chromium, url, [f"text={TITLE}", ".wb-schools table"], timings)
    assert page.title() == TITLE

    # the initial selection, read from the page itself
    names = municipality_names()
    first_label = selected_label(page, "wb-municipality")
    first = first_label.split(" — ")[0]
    year = int(selected_label(page, "wb-year"))
    subject_label = selected_label(page, "wb-subject")
    subject = SUBJECT_BY_LABEL.get(subject_label.lower())
    grade = int(selected_label(page, "wb-grade").split()[0])
    assert subject, subject_label
    old_schools = shown_schools(demo_store, first, year, subject, grade)
    assert old_schools, "the default selection should show schools"
    schools_box = page.locator(".wb-schools")
    assert old_schools[0] in schools_box.inner_text()
    old_chart = chart_src(page)

    # another municipality: the table, the key figures and the chart must follow
    target = next(c for c in sorted(names) if c != first and shown_schools(demo_store, c, year, subject, grade))
    new_schools = shown_schools(demo_store, target, year, subject, grade)
    start = time.monotonic()
    choose(page, "wb-municipality", f"{target} — {names[target]}")
    page.locator(".wb-schools", has_text=new_schools[0]).wait_for()
    wait_chart_change(page, old_chart)
    timings["municipality_update_s"] = round(time.monotonic() - start, 2)
    text = schools_box.inner_text()
    assert all(n in text for n in new_schools)
    assert not any(n in text for n in old_schools if n not in new_schools)
    n = participants(demo_store, target, year, subject, grade)
    assert number(n, 0) in page.locator(".wb-figures").inner_text()

    # another subject: the heading and the chart change again
    other_subject, other_label = ("math", "Математика") if subject != "math" else ("rus", "Русский язык")
    before = chart_src(page)
    start = time.monotonic()
    choose(page, "wb-subject", other_label)
    page.get_by_text(f"Ключевые показатели: {other_label}").wait_for()
    wait_chart_change(page, before)
    timings["subject_update_s"] = round(time.monotonic() - start, 2)
    grade = int(selected_label(page, "wb-grade").split()[0])
    n = participants(demo_store, target, year, other_subject, grade)
    page.locator(".wb-figures", has_text=number(n, 0)).wait_for()

    # a school card: table and line chart of the chosen school
    school = shown_schools(demo_store, target, year, other_subject, grade)[0]
    start = time.monotonic()
    choose(page, "wb-school", school)
    page.get_by_text(f"Карточка школы: {school}").wait_for()
    page.locator(".wb-card-chart img").wait_for()
    timings["card_open_s"] = round(time.monotonic() - start, 2)
    assert "Муниципалитет" in page.locator(".wb-card-table").inner_text()

    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "Не удалось построить" not in body

    # Voila's page scrolls inside its own container: grow the viewport to the dashboard for a full screenshot
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = page.locator(".wb-root").bounding_box()["height"]
    page.set_viewport_size({"width": 1280, "height": int(height) + 100})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=1), encoding="utf-8")
    print("timings:", timings)

    # voila.json was read although Voila started elsewhere: its culling settings appear only there
    assert "Culling kernels with idle durations > 1800 seconds" in log.read_text(errors="replace")
    page.close()


# ---------------------------------------------------------------- command and settings (no browser needed)

def test_voila_command_binds_localhost_and_uses_voila_json(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "agg")
    argv, env = voila_command(NOTEBOOK, 8999, base_url="dash", store=tmp_path)
    assert argv[1:3] == ["-m", "voila"] and str(NOTEBOOK) in argv
    assert {"--port=8999", "--no-browser", "--Voila.ip=127.0.0.1", "--Voila.base_url=/dash/",
            "--Voila.port_retries=0", f"--Voila.config_file_paths={ROOT}"} <= set(argv)
    assert env["WORKBENCH_STORE"] == str(tmp_path.resolve())
    assert "MPLBACKEND" not in env  # a forced agg backend would make the figures vanish
    assert voila_command(NOTEBOOK, 1)[0][-1] == f"--Voila.config_file_paths={ROOT}"


def test_voila_json_settings():
    cfg = json.loads((ROOT / "voila.json").read_text(encoding="utf-8"))
    assert cfg["Voila"] == {"ip": "127.0.0.1", "open_browser": False}
    assert cfg["VoilaConfiguration"]["show_tracebacks"] is False
    assert cfg["VoilaConfiguration"]["template"] == "workbench"     # lab + the watchdog of a page that never opens
    # two kernels are kept with the app already rendered: an official's page, and a colleague's opened right
    # after it (while the pool refills), open without a kernel start
    assert cfg["VoilaConfiguration"]["preheat_kernel"] is True and cfg["VoilaConfiguration"]["default_pool_size"] == 2
    kernels = cfg["MappingKernelManager"]
    assert kernels["cull_idle_timeout"] > 0 and 0 < kernels["cull_interval"] <= kernels["cull_idle_timeout"]


# ---------------------------------------------------------------- the one app

@pytest.fixture(scope="module")
def voila_app(demo_store, tmp_path_factory):
    """The one dashboard app served on the demo store."""
    from workbench.dashboards.serve import NOTEBOOKS

    with served(NOTEBOOKS["app"], demo_store.root, tmp_path_factory.mktemp("voila_app")) as v:
        # Voila hands out the preheated kernel only once it has started (before that a page gets a fresh kernel,
        # as a page opened in the server's first seconds does): wait for it, so the test is not a race
        start = time.monotonic()
        while "Kernel pool of" not in v[1].read_text(errors="replace") and time.monotonic() - start < START_TIMEOUT:
            time.sleep(0.25)
        yield v


def test_app_navigation_keeps_the_selection(voila_app, chromium, demo_store):
    """One address: the overview renders first, the municipality chosen there is kept in «Идентификация»,
    «Объективность», «Разрывы», «Риски» and «План», and every view shows its content."""
    from workbench.dashboards.app import TITLE as APP_TITLE

    url, log, _ = voila_app
    timings = {}
    page, timings["app_first_render_s"] = open_dashboard(chromium, url, [f"text={APP_TITLE}", ".wb-schools table"],
                                                         timings, viewport=(1280, 1000))
    assert "Using pre-heated kernel" in log.read_text(errors="replace")   # voila.json's preheat is in force

    first = selected_label(page, "wb-app-municipality").split(" — ")[0]
    labels = page.locator(".wb-app-municipality select option").all_inner_texts()
    label = next(x for x in labels if not x.replace("\u00a0", " ").startswith(first + " "))
    target = label.replace("\u00a0", " ").split(" — ")[0]
    start = time.monotonic()
    page.locator(".wb-app-municipality select").select_option(label=label)
    school = demo_store.query("SELECT name FROM schools WHERE municipality = ? ORDER BY school_id LIMIT 1", [target]).name[0]
    page.locator(".wb-schools", has_text=school).wait_for()
    timings["app_municipality_s"] = round(time.monotonic() - start, 2)

    start = time.monotonic()
    page.get_by_role("button", name="Идентификация").click()
    page.locator(".wb-ident-table table").wait_for(timeout=RENDER_TIMEOUT * 1000)   # built in the background
    timings["app_identification_s"] = round(time.monotonic() - start, 2)
    assert selected_label(page, "wb-municipality").split(" — ")[0] == target   # the view's own (hidden) selector
    start = time.monotonic()
    page.get_by_role("button", name="Объективность").click()
    page.locator(".wb-ident-table").first.wait_for(state="hidden")   # the identification table leaves the page
    page.locator(".wb-objectivity").filter(has_text="признак").first.wait_for()
    timings["app_objectivity_s"] = round(time.monotonic() - start, 2)
    start = time.monotonic()
    page.get_by_role("button", name="Разрывы").click()
    page.locator(".wb-gaps-summary", has_text="Разрыв P90 − P10").wait_for(timeout=RENDER_TIMEOUT * 1000)
    page.locator(".wb-gaps-chart img").wait_for()
    timings["app_gaps_s"] = round(time.monotonic() - start, 2)
    assert selected_label(page, "wb-gaps-municipality").split(" — ")[0] == target
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app_gaps.png"), full_page=True)
    start = time.monotonic()
    page.get_by_role("button", name="Риски").click()
    page.locator(".wb-plan-heatmap img").wait_for(timeout=RENDER_TIMEOUT * 1000)   # built in the background
    timings["app_risks_s"] = round(time.monotonic() - start, 2)
    assert selected_label(page, "wb-plan-municipality").split(" — ")[0] == target
    page.locator(".wb-plan-school select").select_option(index=1)   # listed schools come first
    page.locator(".wb-plan-card", has_text="Фактор риска").wait_for()
    assert page.locator(".wb-plan-card tbody tr").count() >= 10   # the ten factors (and a listed school's measures)
    page.screenshot(path=str(ARTIFACTS / "app_risks.png"), full_page=True)
    start = time.monotonic()
    page.get_by_role("button", name="План").click()
    page.locator(".wb-plan-roadmap", has_text="Дорожная карта").wait_for()
    page.locator(".wb-plan-indicators", has_text="Показатели мониторинга по циклам").wait_for()
    timings["app_plan_s"] = round(time.monotonic() - start, 2)
    assert page.locator(".wb-plan-heatmap").first.is_hidden()   # the risks part leaves the page
    assert page.locator(".wb-plan-pairs", has_text="Сетевые пары").is_visible()
    page.screenshot(path=str(ARTIFACTS / "app_plan.png"), full_page=True)
    start = time.monotonic()
    page.get_by_role("button", name="Обзор").click()
    page.locator(".wb-schools", has_text=school).wait_for()
    timings["app_back_to_overview_s"] = round(time.monotonic() - start, 2)
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "не удалось показать" not in body
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app.png"))
    (ARTIFACTS / "app_timings.json").write_text(json.dumps(timings, indent=1), encoding="utf-8")
    print("app timings:", timings)
    page.close()



@pytest.mark.parametrize("code, kernel, said", [
    ("import os\nos._exit(1)", "python3", "остановилась, не построив панель"),
    ("import time\ntime.sleep(600)", "python3", "За 5 с программа на сервере не ответила"),
    ("1", "wb-silent", "За 5 с программа на сервере не ответила")],
    ids=["kernel dies", "kernel hangs", "kernel never answers"])
def test_a_page_that_cannot_open_says_so_with_a_retry(chromium, demo_store, tmp_path, code, kernel, said):
    """A dashboard whose kernel dies, hangs in a cell, or never answers at all (a process that starts and stays
    silent: the preheated pool's kernel then never gets ready): the page says so in Russian with «Повторить» (the
    project's Voila template), never an endless spinner."""
    import nbformat

    specs = tmp_path / "jupyter"
    silent = specs / "kernels" / "wb-silent"
    silent.mkdir(parents=True)
    (silent / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", "import time, sys; time.sleep(600)", "{connection_file}"],
        "display_name": "silent", "language": "python"}), encoding="utf-8")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nb.metadata["workbench"] = {"render_timeout_s": 5}
    path = tmp_path / "cannot_open.ipynb"
    nbformat.write(nb, path)
    with served(path, demo_store.root, tmp_path, jupyter_path=specs) as (url, log, _):
        page = chromium.new_page()
        page.goto(url, timeout=RENDER_TIMEOUT * 1000, wait_until="commit")   # a hung page never finishes loading
        box = page.locator(".wb-open-failed")
        box.wait_for(timeout=RENDER_TIMEOUT * 1000)
        text = box.inner_text()
        assert "Панель не открылась" in text and said in text, text
        assert page.get_by_role("button", name="Повторить").is_visible()
        assert not page.locator("#rendered_cells").is_visible()    # Voila's English notice is not shown
        page.close()
