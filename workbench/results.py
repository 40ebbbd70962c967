"""Region-wide results, computed once per store version and shared by every process that needs them.

The run, each municipality's notebooks and every dashboard kernel need the same region-wide results: every
methodology on the whole region, the typology, the schools' trends, the objectivity signals, the region's
reference figures. Whichever process asks first computes a result and writes it atomically under
``<cache>/<store fingerprint>/``; every later process reads it. The run asks first (``runner.warm_cache``), so
after ``make run`` a dashboard kernel only reads files. The key of each file holds its arguments and the
computation version (the computing code, ``params/``, pandas and Python), so changed code or parameters are
never served an old result. Tables are parquet; a methodology's outcome (tables and notes) is a pickle, which
only this program writes and reads, inside its own output folder.

The cache folder is ``WORKBENCH_CACHE`` when set, else ``outputs/_cache``. A folder that cannot be written
(read-only deployment) only costs speed: results then live in the process's memory.

Example
-------
>>> res = RegionResults.shared(Store("data/store"))                        # doctest: +SKIP
>>> res.identification(2026, "kamensk_uralsky").flags.flagged.sum()          # doctest: +SKIP
>>> res.frame("objectivity_signals", year=2026).query("fired").school_id.nunique()   # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import re
import shutil
import sys
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from scipy import stats

from workbench.data.store import Store, fingerprint

log = logging.getLogger(__name__)

CACHE_ENV = "WORKBENCH_CACHE"
TREND_SUBJECTS = ("rus", "math")   # the school's ВПР trend pools the two subjects every school writes


def default_cache_dir() -> Path:
    """``WORKBENCH_CACHE`` or the project's ``outputs/_cache`` (where ``workbench run`` writes by default)."""
    from workbench.paths import OUTPUTS_DIR

    return Path(os.environ.get(CACHE_ENV) or OUTPUTS_DIR / "_cache")


@lru_cache(maxsize=1)
def computation_version() -> str:
    """Hash of the package's computing code (all but ``dashboards/`` and ``reports/``), the parameter files and
    the pandas and Python versions: a cached result is reused only when none of them changed (the methodologies
    read ``params/*.yaml``; pickles depend on pandas)."""
    from workbench.paths import PARAMS_DIR

    h = hashlib.sha1(f"{pd.__version__} {sys.version_info[:2]}".encode())
    here = Path(__file__).resolve().parent
    # the views and the writers only show results: a change there keeps the cache
    code = [p for p in here.rglob("*.py") if p.relative_to(here).parts[0] not in ("dashboards", "reports")]
    for p in sorted(code + [p for p in PARAMS_DIR.rglob("*") if p.is_file()]):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:10]


KEEP_CACHED_STORES = 3       # fingerprint folders kept: the current store's and the two used before it
_FINGERPRINT = re.compile(r"[0-9a-f]{12}|empty")


def prune_cache(cache_dir: Path, current: str, keep: int = KEEP_CACHED_STORES) -> list[Path]:
    """Remove the cached results of other store fingerprints but the ``keep`` - 1 most recently used; the
    current one is marked as used now and always kept. Returns the folders removed. A dashboard still open on
    an older store version computes its results again, it never fails.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); (d / "0123456789ab").mkdir()
    >>> [p.name for p in prune_cache(d, current="ba9876543210", keep=1)], sorted(p.name for p in d.iterdir())
    (['0123456789ab'], ['ba9876543210'])
    """
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return []
    mine = cache_dir / current
    mine.mkdir(exist_ok=True)
    os.utime(mine)
    others = sorted((p for p in cache_dir.iterdir() if p.is_dir() and p != mine and _FINGERPRINT.fullmatch(p.name)),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    removed = others[max(keep - 1, 0):]
    for p in removed:
        shutil.rmtree(p, ignore_errors=True)
    return removed


def cache_path(cache_dir: Path, data_hash: str, name: str, kwargs: dict, suffix: str = ".parquet") -> Path:
    """Where the result ``name`` with ``kwargs`` of the store ``data_hash`` lives.

    >>> cache_path(Path("/c"), "abc", "typology", {"year": 2026}).parent
    PosixPath('/c/abc')
    """
    key = hashlib.sha1(json.dumps([kwargs, computation_version()], sort_keys=True, default=str).encode()).hexdigest()[:10]
    return Path(cache_dir) / data_hash / f"{name}-{key}{suffix}"


def school_trend(ev, subjects=TREND_SUBJECTS, level: float = 0.95) -> pd.DataFrame:
    """Per school × year: the ВПР result (subjects pooled) relative to the region, п.п., with its interval.

    ``n`` is participants per subject (the same pupils write both subjects: ``same_pupils``), the interval is
    estimate ± z·se at ``level`` (no shrinkage: this is what the school wrote that year).

    >>> school_trend(load_evidence(Store("data/store"), 2026)).columns[:3].tolist()   # doctest: +SKIP
    ['school_id', 'year', 'estimate']
    """
    from workbench import identify

    v = ev.results[(ev.results["assessment"] == "ВПР") & ev.results["subject"].isin(list(subjects))]
    t = identify.pool(v, ["school_id", "year"], same_pupils=len(subjects))
    z = float(stats.norm.ppf(0.5 + level / 2))
    t["year"] = t["year"].astype(int)
    t["ci_low"] = t["estimate"] - z * t["se"]
    t["ci_high"] = t["estimate"] + z * t["se"]
    return t.sort_values(["school_id", "year"]).reset_index(drop=True)


class RegionResults:
    """The region-wide results of one store version: in this process's memory, then on disk, then computed.

    Use :meth:`shared` to get the one instance of a store in this process (its memory is shared by every
    caller, as the run's warm-up and the notebook's cells are).
    """

    _instances: dict[tuple, "RegionResults"] = {}

    def __init__(self, store: Store, cache_dir: str | Path | None = None, data_hash: str | None = None):
        self.store = store
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.data_hash = data_hash or fingerprint(store)
        self._memory: dict[tuple, Any] = {}
        self.computed: list[str] = []     # names computed here rather than read (tests and benchmarks read it)

    @classmethod
    def shared(cls, store: Store, cache_dir: str | Path | None = None, data_hash: str | None = None) -> "RegionResults":
        """The process's instance for this store version and cache folder."""
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        key = (str(store.root), store.version, data_hash or fingerprint(store), str(cache))
        if key not in cls._instances:
            cls._instances.clear()       # one store at a time: earlier versions' results are not needed again
            cls._instances[key] = cls(store, cache, data_hash)
        return cls._instances[key]

    # ------------------------------------------------------------ the cache
    def _get(self, name: str, kwargs: dict, compute: Callable[[], Any], table: bool = True) -> Any:
        mkey = (name, json.dumps(kwargs, sort_keys=True, default=str))
        if mkey in self._memory:
            return self._memory[mkey]
        path = cache_path(self.cache_dir, self.data_hash, name, kwargs, ".parquet" if table else ".pickle")
        value = None
        if path.exists():
            try:
                if table:
                    value = pd.read_parquet(path)
                else:
                    with path.open("rb") as f:
                        value = pickle.load(f)
            except Exception:   # a file cut short by a full disk: computed again, never an error
                log.warning("результат %s в кэше не прочитан, рассчитывается заново", path, exc_info=True)
                value = None
        if value is None:
            value = compute()
            self.computed.append(name)
            if self._write(path, value, table) and table:
                value = pd.read_parquet(path)   # exactly what every later reader gets (None → NaN, dtypes)
        self._memory[mkey] = value
        return value

    @staticmethod
    def _write(path: Path, value: Any, table: bool) -> bool:
        tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:6]}.tmp")   # unique across processes
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if table:
                value.to_parquet(tmp)
            else:
                with tmp.open("wb") as f:
                    pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(path)
            return True
        except Exception:   # a read-only or full disk costs speed, never the result
            log.warning("кэш %s недоступен для записи; результат хранится только в памяти", path.parent, exc_info=True)
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            return False

    # ------------------------------------------------------------ tables by name (the notebooks' entry)
    def frame(self, name: str, **kwargs) -> pd.DataFrame:
        """A region-wide table by its name in :data:`FRAMES` (``region_reference``, ``identification_flags``, …)."""
        if name not in FRAMES:
            raise KeyError(f"неизвестный региональный результат «{name}»; есть: {', '.join(FRAMES)}")
        return FRAMES[name](self, **kwargs)

    # ------------------------------------------------------------ the results
    def cells(self, year: int) -> pd.DataFrame:
        from workbench import identify

        return self._get("identification_cells", {"year": year}, lambda: identify.vpr_cells(self.store, year))

    def indices(self, year: int) -> pd.DataFrame:
        from workbench import identify

        return self._get("identification_indices", {"year": year}, lambda: identify.region_indices(self.store, year))

    def evidence(self, year: int):
        """Everything the rules read (``identify.Evidence``); built in memory from the cached cells and indices,
        with the schools whose ВПР may be inflated (``objectivity.inflated_schools`` of the year's signals) for
        the presets that exclude them."""
        from workbench import identify, objectivity

        key = ("evidence", str(year))
        if key not in self._memory:
            self._memory[key] = identify.load_evidence(self.store, year, cells=self.cells(year),
                                                       indices=self.indices(year),
                                                       excluded=objectivity.inflated_schools(self.signals(year)))
        return self._memory[key]

    def identification(self, year: int, name: str, params=None, unc=None):
        """One methodology on the whole region (``identify.Identification``); ``params`` are a municipality's
        overrides, by default the preset's own."""
        from workbench import identify
        from workbench.config import load_defaults, load_presets

        params = load_presets()[name].params if params is None else params
        unc = load_defaults().uncertainty if unc is None else unc
        kwargs = {"year": year, "methodology": name, "params": params.model_dump(mode="json"),
                  "uncertainty": unc.model_dump(mode="json")}
        return self._get("identification", kwargs, lambda: identify.run_methodology(self.evidence(year), name, params, unc),
                         table=False)

    def presets(self, year: int) -> dict:
        """Every preset with its own parameters on the whole region: name → ``Identification``."""
        from workbench.config import load_presets

        return {name: self.identification(year, name) for name in load_presets()}

    def typology(self, year: int) -> pd.DataFrame:
        from workbench import identify

        return self._get("identification_typology", {"year": year}, lambda: identify.typology(self.evidence(year)))

    def trend(self, year: int, level: float | None = None) -> pd.DataFrame:
        """Per school × year the pooled ВПР result relative to the region with its interval (:func:`school_trend`)."""
        from workbench.config import load_defaults

        level = load_defaults().uncertainty.level.value if level is None else level
        return self._get("school_trend", {"year": year, "level": level},
                         lambda: school_trend(self.evidence(year), level=level))

    def signals(self, year: int) -> pd.DataFrame:
        from workbench import objectivity

        return self._get("objectivity_signals", {"year": year}, lambda: objectivity.signals(self.store, year))

    # ------------------------------------------------------------ gaps and their trends (workbench.gaps)
    def _gap_inputs(self, year: int):
        from workbench import gaps, identify
        from workbench.config import load_defaults

        p = gaps.load_gap_params()
        ev = self.evidence(year)
        return (p, load_defaults().uncertainty.level.value, gaps.vpr_school_means(ev.results, p.min_pupils.value),
                identify.social_clusters(ev, p.context_clusters.value))

    def gaps(self, year: int) -> pd.DataFrame:
        """The region's gaps of every work in the five years to ``year`` (``gaps.region_gaps``), with the gap from
        mark counts alone (HETOP) for the lead subjects of ``year``."""
        from workbench import gaps

        def compute():
            p, level, means, cluster = self._gap_inputs(year)
            hist = gaps.score_histograms(self.store, year - 4, year, subjects=p.subjects.value)
            table = gaps.region_gaps(means, hist, cluster=cluster, level=level, min_schools=p.min_schools.value,
                                     rank_subjects=p.subjects.value)
            h = gaps.hetop_gaps(self.hetop(year), level, p.min_schools.value)
            return table.merge(h, on=gaps.WORK_KEYS, how="left")
        return self._get("gap_region", {"year": year}, compute)

    def hetop(self, year: int) -> pd.DataFrame:
        """HETOP school means from mark counts for the lead subjects of ``year`` (``gaps.hetop_schools``)."""
        from workbench import gaps

        def compute():
            p, _, means, _ = self._gap_inputs(year)
            lead = means[(means["year"] == year) & means["subject"].isin(p.subjects.value)]
            return gaps.hetop_schools(lead, p.min_pupils.value)
        return self._get("gap_hetop", {"year": year}, compute)

    def municipality_gaps(self, year: int, municipality: str, shnor=frozenset(), subjects=None) -> pd.DataFrame:
        """One municipality's gaps (``gaps.region_gaps`` on its schools, SD units of the region's pupils;
        ``shnor``: its listed schools; ``subjects``: only these, default all). Not cached on disk: about a second
        for every subject, and the list is the caller's."""
        from workbench import gaps

        key = ("municipality_gaps", str(year), municipality, tuple(sorted(shnor)), tuple(subjects or ()))
        if key not in self._memory:
            p, level, means, cluster = self._gap_inputs(year)
            mine = means[means["municipality"] == municipality]
            if subjects:
                mine = mine[mine["subject"].isin(list(subjects))]
            ranked = [s for s in p.subjects.value if not subjects or s in subjects]
            hist = gaps.score_histograms(self.store, year - 4, year, municipality, subjects=ranked)
            sd = self.gaps(year).set_index(gaps.WORK_KEYS)["pupil_sd"]
            table = gaps.region_gaps(mine, hist, cluster=cluster, shnor=frozenset(shnor), unit=municipality,
                                     pupil_sd=sd, level=level, min_schools=p.min_schools.value, rank_subjects=ranked)
            h = self.hetop(year)
            h = h[h["school_id"].isin(set(mine["school_id"]))]
            self._memory[key] = table.merge(gaps.hetop_gaps(h, level, p.min_schools.value), on=gaps.WORK_KEYS,
                                            how="left")
        return self._memory[key]

    def trajectories(self, year: int) -> pd.DataFrame:
        """Every school's trajectory relative to the region (``gaps.school_trajectories``)."""
        from workbench import gaps
        from workbench.config import load_defaults

        return self._get("gap_trajectories", {"year": year},
                         lambda: gaps.school_trajectories(self.trend(year), load_defaults().uncertainty.level.value))

    def dynamics(self, year: int, name: str, params=None) -> pd.DataFrame:
        """Schools listed by methodology ``name`` in ``year`` − 1 and their dynamics to ``year``
        (``gaps.school_dynamics``), region-wide; ``params`` are a municipality's overrides."""
        from workbench import gaps, objectivity
        from workbench.config import load_defaults, load_presets

        params = load_presets()[name].params if params is None else params

        def compute():
            p = gaps.load_gap_params()
            level = load_defaults().uncertainty.level.value
            ev = self.evidence(year)
            v = ev.results[(ev.results["assessment"] == "ВПР") & ev.results["subject"].isin(list(TREND_SUBJECTS))]
            twos = v.groupby(["school_id", "year"], as_index=False)[["n2", "n"]].sum()
            twos["year"] = twos["year"].astype(int)
            started = gaps.support_of(self.store, p)
            base = self.identification(year - 1, name, params).flags
            now = self.identification(year, name, params).flags
            return gaps.school_dynamics(
                self.trend(year), twos, base, now, year - 1, year,
                context=ev.context.set_index("school_id")["social_index_region"],
                excluded=objectivity.inflated_schools(self.signals(year)),
                supported=frozenset(started[started <= year].index), rule=gaps.DynamicsRule.of(p, level))
        kwargs = {"year": year, "methodology": name, "params": params.model_dump(mode="json")}
        return self._get("gap_dynamics", kwargs, compute)

    def evaluation(self, year: int):
        """Did support work, region-wide (``evaluation.evaluate`` on the schools' yearly ВПР results relative to
        the region, cohorts from ``gaps.support_of``, ИСБШ as the context covariate)."""
        from workbench import evaluation, gaps
        from workbench.config import load_defaults

        def compute():
            p = gaps.load_gap_params()
            trend = self.trend(year)
            started = gaps.support_of(self.store, p)
            ses = self.evidence(year).context.set_index("school_id")["social_index_region"]
            panel = trend.assign(cohort=trend["school_id"].map(started).astype(float),
                                 ses=trend["school_id"].map(ses))
            # a school without an ИСБШ cannot be matched on context: it stays out rather than breaking the match
            return evaluation.evaluate(panel.rename(columns={"estimate": "outcome"}), covariates=["ses"],
                                       k=p.evaluation.matches.value, level=load_defaults().uncertainty.level.value)
        return self._get("support_evaluation", {"year": year}, compute, table=False)

    def risk_profiles(self, year: int) -> pd.DataFrame:
        """Every school's risk profile of the ten «500+» factors (``risks.region_risks``), region-wide."""
        from workbench import risks

        return self._get("risk_profiles", {"year": year},
                         lambda: risks.region_risks(self.store, year, cells=self.cells(year))[1])

    def region_reference(self, year: int) -> pd.DataFrame:
        from workbench import overview

        return self._get("region_reference", {"year": year}, lambda: overview.region_reference(self.store, year))

    def warm(self, year: int, own: dict[str, Any] | None = None) -> None:
        """Compute (or read) everything the notebooks and the dashboards ask for in ``year``; ``own`` maps a
        methodology to a municipality's overriding parameters (each also run on the whole region)."""
        for name in FRAMES:
            self.frame(name, year=year)
        self.trend(year)
        for name, params in (own or {}).items():
            for p in params:
                self.identification(year, name, p)
        self.gaps(year)
        self.trajectories(year)
        self.evaluation(year)
        # the support plan's list history and monitoring cycles (workbench.plan): every earlier year's list and
        # each year's dynamics, under every methodology and each municipality's own parameters
        years = [y for y in self.store.status().years("vpr") if y <= year]
        for y in years:
            if y != year:
                self.presets(y)
                for name, params in (own or {}).items():
                    for p in params:
                        self.identification(y, name, p)
            if y - 1 in years:
                for name in self.presets(y):
                    self.dynamics(y, name)
                for name, params in (own or {}).items():
                    for p in params:
                        self.dynamics(y, name, p)


def _all_flags(res: RegionResults, year: int) -> pd.DataFrame:
    return pd.concat([r.flags for r in res.presets(year).values()], ignore_index=True)


def _all_criteria(res: RegionResults, year: int) -> pd.DataFrame:
    return pd.concat([r.criteria for r in res.presets(year).values()], ignore_index=True)


# Region-wide tables by name: what the notebooks read through ``SectionContext.region_cached``.
FRAMES: dict[str, Callable[..., pd.DataFrame]] = {
    "region_reference": lambda r, year: r.region_reference(year),
    "identification_cells": lambda r, year: r.cells(year),
    "identification_indices": lambda r, year: r.indices(year),
    "identification_flags": _all_flags,
    "identification_criteria": _all_criteria,
    "identification_typology": lambda r, year: r.typology(year),
    "objectivity_signals": lambda r, year: r.signals(year),
    "risk_profiles": lambda r, year: r.risk_profiles(year),
}
