"""The verifier stands alone: ``pip install gongxin`` without extras is ``gongxin-verify`` with
only ``pynacl`` and ``orjson``, plus ``jinja2`` for its HTML report (docs/VERIFYING.md,
docs/ARCHITECTURE.md).

1. A fast static check on the import graph that ``lint-imports`` builds (grimp): every
   package outside ``verifier`` that a verifier module imports is the standard library,
   ``nacl``, ``orjson``, or ``jinja2``/``markupsafe`` (in ``verifier.reports.html`` only).
   This is an allow-list, stricter than the import-linter contracts
   (which forbid a named deny-list; tests/test_architecture.py runs them).
2. A slow end-to-end check, installed the way an evaluator installs it: a fresh virtual
   environment (no system site packages), ``pip install`` of a copy of the repository
   WITHOUT extras, then: only gongxin, pynacl, orjson, jinja2 and their dependencies (cffi,
   pycparser, markupsafe) are installed; the server stack cannot be imported; the venv's
   ``gongxin-verify`` console script accepts the export of a demo log (exit 0, with its
   traceability report and 2 workers) and rejects tampered copies (exit 1). pip needs PyPI
   (setuptools to build, pynacl, orjson; CI has it): if it cannot install, the test FAILS
   rather than skipping, because an unverified claim of independence is worse than a red
   build. Cost: ~15–60 s (venv, pip, a 300-entry demo log).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import grimp
import pytest

from ledger.demo import build_demo
from ledger.export import export_bundle
from ledger.log import Ledger
from verifier.core.bundle import ENTRIES_FILE

REPO = Path(__file__).resolve().parents[1]
#: ``jinja2`` (and its ``markupsafe``) only for the HTML report (verifier/reports/html.py).
ALLOWED_THIRD_PARTY = {"nacl", "orjson", "jinja2", "markupsafe"}
#: What ``pip install gongxin`` may bring: the verifier's dependencies and theirs.
BASE_DISTRIBUTIONS = {"gongxin", "pynacl", "orjson", "jinja2", "markupsafe", "cffi", "pycparser"}
#: Installers that ``python -m venv`` itself puts into the environment.
INSTALLERS = {"pip", "setuptools", "wheel"}
#: The server stack and the test tools: none may be importable after the base install.
SERVER_STACK = (
    "sqlalchemy", "fastapi", "uvicorn", "starlette", "typer", "pydantic", "psycopg", "alembic",
    "httpx", "openpyxl", "hypothesis", "pytest",
)  # fmt: skip
#: What a source distribution of the repository needs (the packages and their metadata).
PROJECT_FILES = ("pyproject.toml", "README.md", "api", "ledger", "schemas", "verifier")
DEMO_ENTRIES = 300
DEMO_SEED = 7


def test_verifier_imports_only_stdlib_nacl_orjson() -> None:
    graph = grimp.build_graph("verifier", include_external_packages=True, cache_dir=None)
    modules = {m for m in graph.modules if m == "verifier" or m.startswith("verifier.")}
    assert {"verifier.core.merkle", "verifier.rules.rulebook", "verifier.cli.main"} <= modules
    problems = sorted(
        f"{importer} imports {imported}"
        for importer in modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.split(".")[0] not in {"verifier", *ALLOWED_THIRD_PARTY}
        and imported.split(".")[0] not in sys.stdlib_module_names
    )
    assert not problems, problems
    templating = sorted(
        {
            m
            for m in modules
            for imported in graph.find_modules_directly_imported_by(m)
            if imported.split(".")[0] in {"jinja2", "markupsafe"}
        }
    )
    assert templating == ["verifier.reports.html"], templating


def _demo_export(work: Path) -> tuple[Path, Path, int]:
    """A demo log of :data:`DEMO_ENTRIES` entries, built and exported with the full install
    of this environment; returns (bundle, published log key file, size)."""
    url = f"sqlite:///{work / 'demo.db'}"
    keys = work / "keys"
    size, _ = build_demo(url, DEMO_ENTRIES, DEMO_SEED, keys)
    with Ledger.open(url, create=False, replay=False) as ledger:
        assert export_bundle(ledger, work / "export") == size
    return work / "export", keys / "gongxin.example_jiedao-001.vkey", size


def _tampered(bundle: Path, work: Path) -> dict[str, Path]:
    """Copies of ``bundle``: one without its last entry, one with two entries swapped."""
    lines = (bundle / ENTRIES_FILE).read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2
    copies = {
        "truncated": lines[:-1],
        "reordered": [*lines[:middle], lines[middle + 1], lines[middle], *lines[middle + 2 :]],
    }
    out = {}
    for name, new_lines in copies.items():
        shutil.copytree(bundle, work / name)
        (work / name / ENTRIES_FILE).write_bytes(b"".join(new_lines))
        out[name] = work / name
    return out


def _copy_project(target: Path) -> Path:
    """The repository's project files, without build output, caches or virtual envs."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "*.pyc")
    target.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target


@dataclass(frozen=True)
class BaseInstall:
    """A fresh virtual environment holding ``pip install <repository copy>`` (no extras)."""

    env_dir: Path
    bindir: Path
    work: Path
    env: dict[str, str]

    def run(self, *args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run a command with the venv's environment; the working directory is neither the
        repository nor the copy, so nothing is importable by accident."""
        return subprocess.run(
            [str(a) for a in args],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
        )

    def python(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(self.bindir / "python", *args)


@pytest.fixture(scope="module")
def base_install(tmp_path_factory: pytest.TempPathFactory) -> BaseInstall:
    """Installed the way an evaluator installs the verifier. FAILS (never skips) when pip
    cannot install. Cost: a venv and one pip install (~10–60 s)."""
    work = tmp_path_factory.mktemp("standalone")
    project = _copy_project(work / "gongxin-src")
    env_dir = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(env_dir)], check=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    env |= {"PYTHONIOENCODING": "utf-8", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    install = BaseInstall(env_dir, bindir, work, env)
    pip = install.python("-m", "pip", "install", "--quiet", str(project))
    assert pip.returncode == 0, f"pip install <repository copy> failed (needs PyPI):\n{pip.stderr}"
    return install


def test_base_install_brings_only_the_verifiers_dependencies(base_install: BaseInstall) -> None:
    listed = base_install.python("-m", "pip", "list", "--format=json")
    assert listed.returncode == 0, listed.stderr
    installed = {d["name"].lower().replace("_", "-") for d in json.loads(listed.stdout)}
    assert {"gongxin", "pynacl", "orjson"} <= installed, installed
    assert installed - INSTALLERS <= BASE_DISTRIBUTIONS, installed - INSTALLERS


def test_base_install_cannot_import_the_server_stack(base_install: BaseInstall) -> None:
    for module in SERVER_STACK:
        r = base_install.python("-c", f"import {module}")
        assert r.returncode != 0, f"{module} is importable after a base install"
        assert "ModuleNotFoundError" in r.stderr, r.stderr
    # the verifier that runs is the installed copy, not the repository
    r = base_install.python("-c", "import verifier; print(verifier.__file__)")
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).is_relative_to(base_install.env_dir), r.stdout


def test_base_install_gongxin_verify_judges_a_demo_export(
    base_install: BaseInstall, tmp_path: Path
) -> None:
    bundle, log_key, size = _demo_export(tmp_path)
    tampered = _tampered(bundle, tmp_path)
    verify = base_install.bindir / ("gongxin-verify.exe" if os.name == "nt" else "gongxin-verify")
    # A valid export passes, with the traceability report and 2 worker processes ...
    report = tmp_path / "report"
    r = base_install.run(verify, bundle, "--log-key", log_key, "--workers", "2", "--report", report)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"✓ 验证通过 valid: {size} entries"), r.stdout
    assert (report / "report.json").is_file()
    assert (report / "report.md").is_file()
    assert "<svg" in (report / "report.html").read_text(encoding="utf-8")  # template shipped
    # ... and tampered copies fail, naming the rule.
    r = base_install.run(verify, tampered["truncated"], "--log-key", log_key)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "[export.size]" in r.stderr
    r = base_install.run(verify, tampered["reordered"], "--log-key", log_key, "--workers", "1")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "[entry.index]" in r.stderr
