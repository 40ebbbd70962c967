"""Calibration of the objectivity signals on a null region (nothing planted): for each signal, component and
level the number of tested rows, the share of ordinary rows at p < 0.05 (nominal 5 %) and the rows that fired
after BH; then the same by cell size. Prints figures; asserts nothing (tests/test_objectivity.py holds the
bounds on the small region).

    .venv/bin/python benchmarks/bench_objectivity_calibration.py [--scale 1] [--seed 11] [--work /tmp/null]

The null region is generated (``generate_demo(..., planted=False)``) and imported into ``--work`` unless a store
is already there. Measured on 2 cores at scale 1 (2026-12-03, three years together): 192 000 tested rows; share
at p < 0.05: 4.8 % before the τ² pooling and the winsorising consistency factor, 3.6 % after; fired 20 → 2.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--work", type=Path, default=Path("/tmp/null-region"))
    a = ap.parse_args()

    import pandas as pd

    from workbench import objectivity as O
    from workbench.data.store import Store
    from workbench.demo import generate_demo

    demo, store_dir = a.work / f"demo-{a.scale}-{a.seed}", a.work / f"store-{a.scale}-{a.seed}"
    if not (store_dir / "current").exists():
        start = time.monotonic()
        generate_demo(demo, scale=a.scale, seed=a.seed, planted=False)
        subprocess.run([str(Path(sys.executable).parent / "workbench"), "import", str(demo / "raw"), "--store",
                        str(store_dir), "--params", str(ROOT / "params/regions/demo.yaml")], check=True,
                       stdout=subprocess.DEVNULL)
        print(f"null region generated and imported in {time.monotonic() - start:.0f} s")
    store, p = Store(store_dir), O.load_objectivity_params()
    start = time.monotonic()
    rows = []
    for year in (2026, 2025, 2024):
        sig = O.signals(store, year, p)
        rows.append(sig[sig["tested"]])
    t = pd.concat(rows)
    print(f"signals of three years in {time.monotonic() - start:.1f} s")
    t = t.assign(p05=t["p_value"] < 0.05, size=pd.cut(t["n"], [0, 19, 49, 10**9], labels=["10–19", "20–49", "50+"]))
    by = t.groupby(["signal", "component", "level"], dropna=False).agg(tested=("p05", "size"), p_below_005=("p05", "mean"),
                                                                       fired=("fired", "sum"))
    print(by.round(3).to_string())
    print(t.groupby("size", observed=True).agg(tested=("p05", "size"), p_below_005=("p05", "mean")).round(3).to_string())
    print(f"all: {len(t)} tested rows, {t['p05'].mean():.2%} at p < 0.05, {int(t['fired'].sum())} fired")


if __name__ == "__main__":
    main()
