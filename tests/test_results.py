"""Region-wide results shared between processes: computed once, read back equal, never stale, never fatal."""
import pandas as pd
import pytest

from workbench import identify
from workbench.results import RegionResults, cache_path


@pytest.fixture()
def year(demo_store):
    return demo_store.status().years("vpr")[-1]


def test_a_second_process_reads_instead_of_computing(demo_store, tmp_path, year):
    first = RegionResults(demo_store, tmp_path)
    flags = first.identification(year, "kamensk_uralsky").flags
    typ = first.typology(year)
    assert {"identification", "identification_typology"} <= set(first.computed)
    second = RegionResults(demo_store, tmp_path)       # a new kernel: empty memory, the same folder
    assert second.identification(year, "kamensk_uralsky").flags.equals(flags)
    pd.testing.assert_frame_equal(second.typology(year), typ)
    assert second.computed == []
    # the same rule computed directly
    direct = identify.run_methodology(identify.load_evidence(demo_store, year), "kamensk_uralsky")
    assert direct.flags["flagged"].tolist() == flags["flagged"].tolist()


def test_other_parameters_are_another_result(demo_store, tmp_path, year):
    from workbench.config import load_presets

    res = RegionResults(demo_store, tmp_path)
    params = load_presets()["kamensk_uralsky"].params
    stricter = params.model_copy(update={"years": params.years.model_copy(update={"value": 1})})
    a, b = res.identification(year, "kamensk_uralsky"), res.identification(year, "kamensk_uralsky", stricter)
    assert a is not b and res.computed.count("identification") == 2
    assert res.identification(year, "kamensk_uralsky", params) is a     # explicit preset parameters = the default


def test_a_damaged_file_is_computed_again(demo_store, tmp_path, year):
    res = RegionResults(demo_store, tmp_path)
    typ = res.typology(year)
    path = cache_path(tmp_path, res.data_hash, "identification_typology", {"year": year})
    path.write_bytes(b"cut short")
    again = RegionResults(demo_store, tmp_path)
    pd.testing.assert_frame_equal(again.typology(year), typ)
    assert again.computed == ["identification_typology"]


def test_an_unwritable_cache_costs_only_speed(demo_store, tmp_path, year):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")                 # a folder cannot be made under a file, not even by root
    res = RegionResults(demo_store, blocker / "cache")
    typ = res.typology(year)
    assert len(typ) and res.typology(year) is typ and not (blocker / "cache").exists()


def test_the_cache_keeps_the_current_store_and_the_two_used_before(tmp_path):
    # every import of other data is a new fingerprint folder: without pruning outputs/_cache only grows
    import os

    from workbench.results import prune_cache

    for age, name in enumerate(["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd", "empty"]):
        (tmp_path / name).mkdir()
        (tmp_path / name / "typology-0123456789.parquet").write_bytes(b"x")
        os.utime(tmp_path / name, (1_000_000 - age * 1000,) * 2)     # aaaa… used last, empty first
    (tmp_path / "notes.txt").write_text("not a cache folder")
    (tmp_path / "not-a-hash").mkdir()
    removed = prune_cache(tmp_path, current="empty")        # the current store: kept although oldest
    assert sorted(p.name for p in removed) == ["cccccccccccc", "dddddddddddd"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "empty", "not-a-hash",
                                                          "notes.txt"]
    assert prune_cache(tmp_path / "missing", current="empty") == []


def test_the_run_excludes_schools_with_inflation_signals(demo_store, tmp_path, year):
    """The preset's «exclude schools with signs of non-objective results» is applied in the run: the evidence
    carries the schools with fired inflation signals of the year, and the methodology that excludes them says how
    many it left out."""
    from workbench import objectivity

    res = RegionResults(demo_store, tmp_path)
    ev = res.evidence(year)
    assert ev.excluded == objectivity.inflated_schools(res.signals(year)) and len(ev.excluded) > 0
    bottom = res.identification(year, "bottom_percentile")
    assert not any("не применено" in n for n in bottom.notes)
    assert any(f"{len(ev.excluded)} школ" in n and "признаками" in n for n in bottom.notes)
    f = bottom.flags[bottom.flags.school_id.isin(ev.excluded)]
    assert not f["flagged"].any()
