"""Shared fixtures: one small demo region per test session, generated and imported through the real CLI."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SMALL_SCALE, SMALL_SEED = "0.05", "5"


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
