"""The verifier stands alone: only ``pynacl`` and ``orjson``, no ledger, no server stack.

1. A fast static check: no module of ``verifier/`` imports the ledger, the API or their
   dependencies (SQLAlchemy, FastAPI, uvicorn, typer, pydantic).
2. A slow end-to-end check: a fresh virtual environment (no system site packages) with only
   ``pynacl`` and ``orjson`` from PyPI, and a copy of nothing but the ``verifier/`` package,
   verifies an export — and cannot import the ledger or the server stack. It needs PyPI
   (CI has it); if pip cannot install, the test FAILS rather than skipping, because an
   unverified claim of independence is worse than a red build.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from tests import logfactory as lf

REPO = Path(__file__).resolve().parents[1]
VERIFIER = REPO / "verifier"
FORBIDDEN = {"ledger", "api", "sqlalchemy", "fastapi", "uvicorn", "typer", "pydantic", "starlette"}
ALLOWED_THIRD_PARTY = {"nacl", "orjson"}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Call) and getattr(
            node.func, "attr", getattr(node.func, "id", "")
        ) in (
            "import_module",
            "__import__",
        ):
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
    return found


def test_verifier_imports_only_stdlib_nacl_orjson() -> None:
    # every module of the package, subpackages (verifier/rules/) included
    files = sorted(p for p in VERIFIER.rglob("*.py") if "__pycache__" not in p.parts)
    assert len(files) > 5
    assert VERIFIER / "rules" / "rulebook.py" in files
    stdlib = set(sys.stdlib_module_names)
    problems = []
    for path in files:
        name = path.relative_to(VERIFIER).as_posix()
        for module in _imported_modules(path):
            top = module.split(".")[0]
            if top in FORBIDDEN:
                problems.append(f"{name}: imports {module}")
            elif top not in stdlib and top not in ALLOWED_THIRD_PARTY and top != "verifier":
                problems.append(f"{name}: imports third-party {module}")
    assert not problems, problems


# Slow (~15 s: venv + pip). To select it with ``-m slow``, register the marker in pyproject
# (``markers = ["slow: ..."]``) and mark it; unregistered marks only produce warnings.
def test_fresh_venv_with_only_pynacl_and_orjson_verifies_an_export(tmp_path: Path) -> None:
    # A small export, made with the real ledger in this (full) environment.
    log = lf.build_log(tmp_path, domain_entries=12)
    bundle = lf.export(log, tmp_path / "bundle")
    bad = lf.write_bundle(tmp_path / "bad", log.lines[:-1], log.checkpoint)

    # Only the verifier/ package, copied somewhere the repository is not.
    standalone = tmp_path / "standalone"
    shutil.copytree(VERIFIER, standalone / "verifier", ignore=shutil.ignore_patterns("__pycache__"))
    # copytree is recursive: the rulebook subpackage comes along (the replay needs it)
    assert (standalone / "verifier" / "rules" / "rulebook.py").is_file()

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=True, clear=True).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    env["PYTHONIOENCODING"] = "utf-8"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "pynacl", "orjson"],
        cwd=standalone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pip.returncode == 0, f"pip install pynacl orjson failed (needs PyPI):\n{pip.stderr}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), *args],
            cwd=standalone,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=300,
        )

    vkey = str(log.log_key.verifier())
    for workers in ("1", "2"):
        r = run("-m", "verifier", str(bundle), "--log-key", vkey, "--workers", workers)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"✓ 验证通过 valid: {log.size} entries")
    r = run("-m", "verifier", str(bad), "--log-key", vkey)
    assert r.returncode == 1
    assert "[export.size]" in r.stderr

    # The environment really is bare: no ledger, no server stack, no test tools.
    for module in ("ledger", "sqlalchemy", "fastapi", "pydantic", "typer", "uvicorn", "hypothesis"):
        r = run("-c", f"import {module}")
        assert r.returncode != 0, f"{module} is importable in the standalone venv"
        assert "ModuleNotFoundError" in r.stderr
    r = run("-c", "import sys, verifier.audit; print(sorted(m.split('.')[0] for m in sys.modules))")
    assert r.returncode == 0, r.stderr
    loaded = set(ast.literal_eval(r.stdout))
    assert not loaded & {"ledger", "sqlalchemy", "fastapi", "pydantic", "typer"}
