"""pyproject.toml is the single source of dependencies; environment.yml must mirror it exactly."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _norm(req: str) -> str:
    return re.sub(r"\s+", "", req).lower()


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_norm(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    have = {_norm(d) for d in conda if re.split(r"[=<>!~\s]", d, maxsplit=1)[0] not in ("python", "pip")}
    assert have == wanted, f"only in pyproject: {wanted - have}; only in environment.yml: {have - wanted}"
    assert "conda-forge" in env["channels"]
    assert "python=3.11" in conda
    assert any("-e .[dev]" in p or "-e ." in p for p in pip_block)


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make run" in readme


def test_data_dictionary_is_generated_from_schemas():
    from workbench.data.schemas import data_dictionary

    assert (ROOT / "data" / "README.md").read_text(encoding="utf-8") == data_dictionary()
