"""The main job: run the production notebooks for every municipality with papermill, in parallel.

For each municipality the notebooks of ``notebooks/`` (``NN_name.ipynb``, in order) run in a real kernel
into a temporary folder; the HTML report and the XLSX workbook are assembled from what they saved;
then the folder is renamed into ``outputs/<run-id>/<municipality>/`` — an interrupted run leaves no
half-written deliverable. A failing municipality does not stop the others: its error goes to the
manifest and the index, and the exit code is non-zero. ``--resume`` reuses the latest run folder and
skips municipalities already done with the same inputs (data fingerprint, parameters, code version).

Example
-------
>>> from workbench.runner import run                      # doctest: +SKIP
>>> manifest = run(["004"], year=2026, store="data/store", jobs=2)   # doctest: +SKIP
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from workbench import __version__
from workbench.paths import OUTPUTS_DIR, PARAMS_DIR, ROOT
from workbench.data.store import Store, fingerprint

NOTEBOOKS_DIR = ROOT / "notebooks"
KERNEL_START_TIMEOUT = 120
KERNEL_START_ERRORS = ("Kernel didn't respond", "Address already in use", "Kernel died before replying",
                       "RuntimeError: Kernel")


def production_notebooks() -> list[Path]:
    """Notebooks run for every municipality, in order: notebooks/NN_*.ipynb."""
    return sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def code_version() -> str:
    """Package version and git commit (with '+dirty' when the work tree has changes)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "workbench", "notebooks", "params"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    return f"{__version__}+{commit or 'nogit'}{'.dirty' if dirty else ''}"


def params_hash() -> str:
    """Hash of every parameter file and notebook: a change in either redoes the work under --resume."""
    h = hashlib.sha1()
    for p in sorted(list(PARAMS_DIR.rglob("*")) + production_notebooks()):
        if p.is_file():
            h.update(str(p.relative_to(ROOT)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


@dataclass
class Task:
    municipality: str
    name: str
    year: int
    store: str
    run_dir: str
    cache_dir: str
    region: str
    key: str
    timeout: int
    notebooks: list[str] = field(default_factory=list)
    data_as_of: str = ""        # when the store's data were imported, «02.12.2026 11:40»


def _execute(nb: Path, out: Path, task: Task, tmp: Path, methodology: str) -> None:
    import papermill as pm

    params = {"municipality": task.municipality, "year": task.year, "methodology": methodology,
              "store": task.store, "output_dir": str(tmp), "cache_dir": task.cache_dir}
    for attempt in (1, 2):  # one retry on kernel start failures (known upstream races under parallel launch)
        try:
            pm.execute_notebook(str(nb), str(out), parameters=params, kernel_name="python3", language="python",
                                cwd=str(tmp), execution_timeout=task.timeout, start_timeout=KERNEL_START_TIMEOUT,
                                progress_bar=False, log_output=False,
                                # the kernel's own log (e.g. a warning about TCP transport at every start) is not
                                # for the console; a failing cell still raises with its traceback
                                extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
            return
        except Exception as e:  # papermill raises several types; only kernel start problems are retried
            if attempt == 2 or not any(s in str(e) for s in KERNEL_START_ERRORS):
                raise


def publish(folder: Path, task: Task, methodology: str) -> dict:
    """The справка (HTML, DOCX, PDF) and the XLSX workbook from the blocks the notebooks saved in ``folder``.
    Returns what the manifest records (``pdf``: whether the PDF was made, ``pdf_error`` when not)."""
    from workbench.reports.docx import write_docx
    from workbench.reports.document import load_document
    from workbench.reports.html import card_page_html, write_html
    from workbench.reports.pdf import PdfUnavailable, write_pdf
    from workbench.reports.xlsx import write_workbook
    from workbench.roadmap import FILE_NAME

    title = f"{task.name}: результаты ВПР, ШНОР и ШНСУ, объективность оценивания, план поддержки — {task.year} год"
    doc = load_document(folder, title=title, municipality=f"{task.name} (код {task.municipality})", year=task.year,
                        data_as_of=task.data_as_of)
    write_html(doc, folder / "report.html")
    write_docx(doc, folder / "report.docx")
    write_workbook(doc, folder / "tables.xlsx", about=[
        ("Документ", title), ("Муниципалитет", f"{task.name} (код {task.municipality})"), ("Год", str(task.year)),
        ("Данные по состоянию на", task.data_as_of or "—"), ("Методика идентификации", methodology),
        ("Защита данных", "Таблицы содержат только агрегаты; значения по малым группам скрыты (см. «скрыто»)."),
        ("Версия", task.key)])
    pages = []
    if doc.cards:                  # «Почему школа в списке» of each listed school as a page of its own
        (folder / "schools").mkdir(exist_ok=True)
        for card in doc.cards:
            page = folder / "schools" / f"{card.school_id}.html"
            page.write_text(card_page_html(doc, card), encoding="utf-8")
            pages.append(page)
    try:
        write_pdf(folder / "report.html", folder / "report.pdf")
        for page in pages:
            write_pdf(page, page.with_suffix(".pdf"))
        return {"pdf": True, "cards": len(pages), "roadmap": (folder / FILE_NAME).exists()}
    except PdfUnavailable as e:     # the other formats are published; the manifest and the index say why not
        return {"pdf": False, "pdf_error": str(e), "cards": len(pages), "roadmap": (folder / FILE_NAME).exists()}


def run_municipality(task: Task) -> dict:
    """Run every notebook for one municipality and publish its deliverables atomically. Never raises."""
    t0 = time.perf_counter()
    final = Path(task.run_dir) / task.municipality
    tmp = Path(task.run_dir) / f".{task.municipality}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    status = {"name": task.name, "status": "ok", "error": None, "key": task.key}
    try:
        from workbench.config import load_region
        from workbench.reports.deliverables import methodology_of

        # Resolved here, not in the parent: a broken municipality params file fails this municipality alone.
        methodology = methodology_of(task.municipality, load_region(task.region, check_municipalities=False))[0]
        executed = []
        for nb in task.notebooks:
            out = tmp / Path(nb).name
            _execute(Path(nb), out, task, tmp, methodology)
            executed.append(out)
        status.update(publish(tmp, task, methodology))
        (tmp / "done.json").write_text(json.dumps({"key": task.key}), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except Exception as e:  # a failing municipality is reported, the others go on
        status.update(status="failed", error=f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}"[:500])
        (Path(task.run_dir) / f"{task.municipality}.error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        shutil.rmtree(tmp, ignore_errors=True)
    status["duration_s"] = round(time.perf_counter() - t0, 2)
    return status


def warm_cache(store: Store, cache_dir: Path, year: int, data_hash: str, municipalities: list[str] = (),
               region=None) -> None:
    """Compute the region-wide results every notebook and every dashboard kernel needs, once per run: each
    methodology on the region (with each municipality's own overriding parameters too), the typology, the
    trends, the objectivity signals, the reference figures, and the year before's list for «Основные выводы»."""
    from workbench.reports.deliverables import methodology_of
    from workbench.results import RegionResults, prune_cache

    prune_cache(cache_dir, data_hash)        # each import of other data would leave a folder behind
    own: dict[str, list] = {}
    for code in municipalities:
        try:
            name, preset, params = methodology_of(code, region)
        except Exception:   # a broken params file fails that municipality's task alone, with its message
            continue
        if params != preset.params and params not in own.setdefault(name, []):
            own[name].append(params)
    results = RegionResults.shared(store, cache_dir, data_hash)
    results.warm(year, own)
    if year - 1 in store.status().years("vpr"):
        results.frame("identification_flags", year=year - 1)


def _latest(out_root: Path) -> Path | None:
    pointer = out_root / "LATEST"
    if pointer.exists():
        p = out_root / pointer.read_text(encoding="utf-8").strip()
        return p if p.is_dir() else None
    return None


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def run(municipalities: list[str] | None = None, *, year: int | None = None, store: str | Path = "data/store",
        jobs: int | None = None, resume: bool = False, out: str | Path | None = None, timeout: int = 900,
        region: str = "regions/demo.yaml", progress: bool = True) -> dict:
    """Run the production notebooks for the municipalities; returns the manifest (also written to disk)."""
    from tqdm import tqdm

    from workbench.config import load_region
    from workbench.reports.deliverables import write_index

    st = Store(store).require_complete()   # no run on an empty, old-format, or half-imported store
    reg = load_region(region, check_municipalities=False)  # each task checks its own municipality file
    names = {m.code: m.name for m in reg.municipalities}
    known = sorted(st.query("SELECT DISTINCT municipality FROM schools").municipality)
    codes = municipalities or known
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValueError(f"Нет в хранилище: {', '.join(unknown)}; есть: {', '.join(known)}")
    status = st.status()
    vpr_years = status.years("vpr")
    if not vpr_years:
        raise ValueError(f"В хранилище {store} нет результатов ВПР: отчёты строить не из чего")
    year = year or vpr_years[-1]
    if year not in vpr_years:
        raise ValueError(f"В хранилище нет результатов ВПР за {year} год; есть: {', '.join(map(str, vpr_years))}")
    gaps = status.missing_for_year(year)
    if gaps and progress:
        print(f"Внимание: за {year} год в хранилище нет таблиц: {gaps}; соответствующие разделы отчётов будут "
              "неполными (это сказано и в отчётах).", file=sys.stderr)
    out_root = Path(out) if out else OUTPUTS_DIR
    data_hash = fingerprint(st)
    completed = st.manifest.get("completed", "")
    data_as_of = dt.datetime.fromisoformat(completed).strftime("%d.%m.%Y %H:%M") if completed else ""
    version, phash = code_version(), params_hash()
    previous = _latest(out_root) if resume else None
    run_dir = previous or out_root / f"{dt.datetime.now():%Y%m%d-%H%M%S}-{year}"
    run_dir.mkdir(parents=True, exist_ok=True)
    if not (out_root / ".workbench-not-data").exists():   # an import pointed here reports the outputs as not data
        (out_root / ".workbench-not-data").write_text("результаты запусков программы\n", encoding="utf-8")
    for stale in run_dir.glob(".*.partial"):  # left by an interrupted run: never published, safe to drop
        shutil.rmtree(stale, ignore_errors=True)
    cache_dir = out_root / "_cache"
    warm_cache(st, cache_dir, year, data_hash, codes, reg)
    old = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")) if (run_dir / "manifest.json").exists() else {}
    manifest = {"run_id": run_dir.name, "year": year, "store": str(Path(store).resolve()), "data_hash": data_hash,
                "store_version": st.version, "missing_tables": gaps,
                "params_hash": phash, "code_version": version, "started": dt.datetime.now().isoformat(timespec="seconds"),
                "notebooks": [p.name for p in production_notebooks()],
                "municipalities": dict(old.get("municipalities", {}))}
    tasks = []
    for code in codes:
        key = f"{data_hash}/{phash}/{version}/{year}"
        done = run_dir / code / "done.json"
        if resume and done.exists() and json.loads(done.read_text(encoding="utf-8")).get("key") == key:
            manifest["municipalities"][code] = {**manifest["municipalities"].get(code, {}), "status": "ok",
                                                "skipped": True, "name": names.get(code, code), "key": key}
            continue
        tasks.append(Task(code, names.get(code, code), year, str(st.version_dir), str(run_dir),
                          str(cache_dir.resolve()), region, key, timeout, [str(p) for p in production_notebooks()],
                          data_as_of))
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks) or 1))
    manifest["parameters"] = {"municipalities": codes, "year": year, "region": region, "jobs": jobs,
                              "timeout_s": timeout, "resume": resume, "notebook_parameters":
                              ["municipality", "year", "methodology", "store", "output_dir", "cache_dir"]}
    bar = tqdm(total=len(tasks), desc="Муниципалитеты", unit="мун.", disable=not progress or not tasks, file=sys.stderr)
    # spawn, not fork: the parent holds DuckDB and tqdm threads that must not be copied mid-flight
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_municipality, t): t for t in tasks}
        for f in cf.as_completed(futures):
            t = futures[f]
            manifest["municipalities"][t.municipality] = f.result()
            bar.set_postfix_str(f"{t.municipality}: {manifest['municipalities'][t.municipality]['status']}")
            bar.update()
    bar.close()
    from workbench.reports import pdf

    pdf.close()   # a browser this process started itself (a municipality published here, not in a worker)
    manifest["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    _write_json(run_dir / "manifest.json", manifest)
    write_index(run_dir, manifest)
    (out_root / "LATEST.tmp").write_text(run_dir.name, encoding="utf-8")
    os.replace(out_root / "LATEST.tmp", out_root / "LATEST")
    link = out_root / "latest"
    if link.is_symlink() or not link.exists():
        tmp_link = out_root / "latest.tmp"
        if tmp_link.is_symlink():
            tmp_link.unlink()
        tmp_link.symlink_to(run_dir.name)
        os.replace(tmp_link, link)
    return manifest
