"""Gap section: time of the region-wide models (once per run) and of the section per municipality.

Prints figures, asserts nothing (tests assert). Example:

    .venv/bin/python benchmarks/bench_gaps.py --store /tmp/store3 --municipalities 004 009 017

Region-wide (fresh cache folder, after the evidence every identification needs): the gap table of every work,
the trajectories' mixed model, the dynamics of every preset, the support evaluation. Per municipality: the gap
notebook ``02_gap_trends`` executed by papermill in a real kernel with the cache warm, next to a notebook that
only starts the section (kernel start, package import, store) — the difference is what the section adds.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from workbench.data.store import Store, fingerprint
from workbench.paths import ROOT

EMPTY = """# %% tags=["parameters"]
municipality = "004"
year = 2026
methodology = ""
store = "../data/store"
output_dir = "../outputs/dev/004"
cache_dir = "../outputs/_cache"
# %%
from workbench.notebook_support import start_section
ctx = start_section(municipality=municipality, year=year, store=store, output_dir=output_dir,
                    cache_dir=cache_dir, section="пусто")
"""


def timed(label: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    print(f"{label:<48s} {time.perf_counter() - t0:8.2f} s")
    return out


def run_notebook(nb: Path, code: str, store: str, cache: Path, out: Path) -> float:
    import papermill as pm

    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    pm.execute_notebook(str(nb), str(out / nb.name), cwd=str(out), kernel_name="python3", language="python",
                        progress_bar=False,
                        parameters={"municipality": code, "year": 2026, "methodology": "", "store": store,
                                    "output_dir": str(out), "cache_dir": str(cache)})
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--year", type=int, default=2026)
    ap.add_argument("--municipalities", nargs="+", default=["004", "009"])
    a = ap.parse_args()

    from workbench.results import RegionResults

    st = Store(a.store)
    cache = Path(tempfile.mkdtemp(prefix="bench_gaps_"))
    res = RegionResults(st, cache, fingerprint(st))
    timed("evidence (cells, indices, signals)", res.evidence, a.year)
    timed("region gaps (every work, 5 years)", res.gaps, a.year)
    timed("trajectories (random-slope model)", res.trajectories, a.year)
    timed("dynamics of every preset", lambda: [res.dynamics(a.year, n) for n in res.presets(a.year)])
    timed("support evaluation", res.evaluation, a.year)
    timed("one municipality's gaps, every subject", res.municipality_gaps, a.year, a.municipalities[0])
    timed("one municipality's gaps, one subject", res.municipality_gaps, a.year, a.municipalities[0], frozenset(),
          ["math"])

    from workbench.runner import warm_cache
    from workbench.config import load_region

    reg = load_region(ROOT / "params" / "regions" / "demo.yaml")
    timed("warm the run's cache (all region-wide results)", warm_cache, st, cache, a.year, fingerprint(st),
          [m.code for m in reg.municipalities], reg)
    work = Path(tempfile.mkdtemp(prefix="bench_gaps_nb_"))
    empty = work / "empty.ipynb"
    import jupytext

    jupytext.write(jupytext.reads(EMPTY, fmt="py:percent"), str(empty))
    gap_nb = ROOT / "notebooks" / "02_gap_trends.ipynb"
    figures = {}
    for code in a.municipalities:
        base = run_notebook(empty, code, a.store, cache, work / f"empty_{code}")
        full = run_notebook(gap_nb, code, a.store, cache, work / f"gap_{code}")
        figures[code] = {"start_s": round(base, 2), "section_s": round(full, 2), "adds_s": round(full - base, 2)}
        print(f"municipality {code}: kernel + start {base:5.2f} s, gap section {full:5.2f} s, adds {full - base:5.2f} s")
    print(json.dumps(figures, ensure_ascii=False))
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
