"""Where the project's own files live (params, data, outputs), independent of the working directory."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARAMS_DIR = ROOT / "params"
DATA_DIR = ROOT / "data"
OUTPUTS_DIR = ROOT / "outputs"
