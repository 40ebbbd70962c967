"""Shared fixtures: one small demo region per test session, generated and imported through the real CLI."""
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SMALL_SCALE, SMALL_SEED = "0.05", "5"
NULL_SCALE, NULL_SEED = 0.05, 5   # the size of the small demo region, with nothing planted
NULL_TESTS = {"test_null_region_raises_no_more_alarms_than_the_fdr_level",
              "test_null_region_shows_regression_to_the_mean_and_no_support_effect"}


@pytest.fixture(scope="session")
def demo_import(tmp_path_factory):
    """(root, demo CompletedProcess, import CompletedProcess) of a small demo region in a temporary store."""
    root = tmp_path_factory.mktemp("region")
    demo = subprocess.run([str(BIN / "workbench"), "demo", "--out", str(root / "demo"), "--scale", SMALL_SCALE,
                           "--seed", SMALL_SEED], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-4000:]
    imp = subprocess.run([str(BIN / "workbench"), "import", str(root / "demo" / "raw"), "--store", str(root / "store"),
                          "--params", "params/regions/demo.yaml", "--jobs", "2"], capture_output=True, text=True,
                         timeout=1200, cwd=ROOT)  # two reader processes: the parallel path on real files
    return root, demo, imp


@pytest.fixture(scope="session")
def demo_store(demo_import):
    """The Store of the small demo region (import must have accepted every row)."""
    from workbench.data.store import Store

    root, _, imp = demo_import
    assert imp.returncode == 0, imp.stdout[-3000:] + imp.stderr[-3000:]
    return Store(root / "store")


@pytest.fixture(scope="session", autouse=True)
def null_region(request, tmp_path_factory):
    """(process, root) of a small demo region with nothing planted, generated and imported by a child process
    group started with the session (so it runs while the other tests do) when a test that needs it is selected,
    and stopped at teardown if it is still running; None otherwise."""
    if not any(item.name in NULL_TESTS for item in request.session.items):
        yield None
        return
    root = tmp_path_factory.mktemp("null_region")
    gen = ("from pathlib import Path; from workbench.demo import generate_demo; "
           f"generate_demo(Path({str(root / 'demo')!r}), scale={NULL_SCALE}, seed={NULL_SEED}, planted=False)")
    cmd = (f"{shlex.quote(sys.executable)} -c {shlex.quote(gen)} && {shlex.quote(str(BIN / 'workbench'))} import "
           f"{shlex.quote(str(root / 'demo' / 'raw'))} --store {shlex.quote(str(root / 'store'))} "
           "--params params/regions/demo.yaml")
    log = open(root / "log.txt", "w")
    proc = subprocess.Popen(["bash", "-c", cmd], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    yield proc, root
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    log.close()


@pytest.fixture
def null_store(null_region):
    """(Store, root) of the null region once its import has finished."""
    from workbench.data.store import Store

    proc, root = null_region
    assert proc.wait(timeout=900) == 0, (root / "log.txt").read_text(encoding="utf-8")[-3000:]
    return Store(root / "store"), root
