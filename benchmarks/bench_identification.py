"""Identification: time and memory of each step on a store, and recovery of the demo's planted schools.

Prints figures, asserts nothing (tests assert). Example:

    .venv/bin/python benchmarks/bench_identification.py --store /tmp/s1/store --truth /tmp/s1/demo/truth

Recovery: recall = share of the planted persistently low schools a methodology flags; precision = share of its
flags that are planted persistently low or deprived (both have truly low results). The typology is scored
against planted resilient schools. A student-level MixedLM (ВПР Russian, grade 5, the target year, school
random intercepts, ИСБШ as a school covariate) is fitted as a cross-check of the school-level value added.
"""
from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from workbench import identify as I
from workbench.data.store import Store


def timed(label: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    print(f"{label:<42s} {time.perf_counter() - t0:8.2f} s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--truth", help="demo truth folder (…/truth) for precision and recall")
    ap.add_argument("--year", type=int, default=2026)
    ap.add_argument("--mixedlm-subject", default="rus")
    ap.add_argument("--mixedlm-grade", type=int, default=5)
    a = ap.parse_args()
    store = Store(a.store)
    schools = store.query("SELECT count(*) AS n FROM schools").n.iloc[0]
    print(f"store {a.store}: {schools} schools")
    cells = timed("vpr cells (DuckDB, 5 years)", I.vpr_cells, store, a.year)
    indices = timed("context indices", I.region_indices, store, a.year)
    ev = timed("evidence (from cells and indices)", I.load_evidence, store, a.year, cells=cells, indices=indices)
    runs = {}
    for name in I.load_presets():
        runs[name] = timed(f"methodology {name}", I.run_methodology, ev, name)
    typ = timed("typology (OLS + empirical Bayes)", I.typology, ev)
    print(f"peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    from workbench.effects import school_effects

    pupils = store.query("""SELECT v.school_id, 100.0 * v.primary_score / s.max_score AS pct
                            FROM vpr v JOIN mark_scales s USING (year, subject, grade)
                            WHERE v.year = ? AND v.subject = ? AND v.grade = ? AND NOT v.absent
                              AND v.primary_score IS NOT NULL""", [a.year, a.mixedlm_subject, a.mixedlm_grade])
    pupils["social_index"] = pupils["school_id"].map(ev.context.set_index("school_id")["social_index_region"])
    fit = timed(f"MixedLM {len(pupils)} pupils (guarded)", school_effects, pupils.dropna(), "pct", "school_id",
                school_covariates=["social_index"], method="reml")
    print(f"  optimizer {fit.optimizer}, boundary {fit.boundary}, ICC {fit.icc:.3f}, attempts {len(fit.attempts)}")
    both = typ.set_index("school_id")[["value_added"]].join(fit.effects.set_index("school")["effect"]).dropna()
    print(f"  corr(MixedLM school effect, typology value added) = {np.corrcoef(both.iloc[:, 0], both.iloc[:, 1])[0, 1]:.3f}"
          f" over {len(both)} schools")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    if a.truth:
        t = pd.read_csv(Path(a.truth) / "schools.csv", dtype={"school_id": str, "municipality": str})
        planted = set(t.loc[t.persistently_low, "school_id"])
        low = planted | set(t.loc[t.deprived, "school_id"])
        print(f"\nplanted persistently low {len(planted)}, deprived {int(t.deprived.sum())}, resilient "
              f"{int(t.resilient.sum())}, schools {len(t)}")
        print(f"{'methodology':<20s} {'flagged':>7s} {'precision':>9s} {'recall':>7s}")
        for name, r in runs.items():
            f = set(r.flags.loc[r.flags.flagged, "school_id"])
            prec = len(f & low) / len(f) if f else float("nan")
            print(f"{name:<20s} {len(f):7d} {prec:9.2f} {len(f & planted) / len(planted):7.2f}")
        for kind, truth_set in (("resilient", set(t.loc[t.resilient, "school_id"])),
                                ("shnsu", set(t.loc[t.deprived, "school_id"]))):
            f = set(typ.loc[typ.type == kind, "school_id"])
            print(f"typology {kind:<11s} {len(f):7d} {len(f & truth_set) / max(len(f), 1):9.2f} "
                  f"{len(f & truth_set) / max(len(truth_set), 1):7.2f}")
        va = typ.set_index("school_id")
        neg = sum(va.loc[s, "va_high"] < 0 for s in planted if s in va.index)
        print(f"planted persistently low with value added wholly below 0: {neg} of {len(planted)}")
        print(f"corr(value added, planted school effect) = "
              f"{va.join(t.set_index('school_id')['school_effect'])[['value_added', 'school_effect']].corr().iloc[0, 1]:.3f}")


if __name__ == "__main__":
    main()
