"""The architecture holds (docs/ARCHITECTURE.md): import contracts and a complexity ceiling.

1. ``lint-imports`` keeps every contract in ``pyproject.toml`` (``[tool.importlinter]``):
   api → ledger → verifier, the verifier's layers, no server stack in the verifier, the ledger
   never imports the API, no cycles between siblings. A broken contract fails with
   lint-imports' own report (which import, from where). A second test checks that the harness
   can fail at all: a contract that must break is reported as broken.
2. No function or method outside ``bench/`` has a cyclomatic complexity graded D or worse by
   radon (complexity > 20); the failure lists every offender with file, line and score.

Cost: one import graph (~1 s) and one parse of each source file (~2 s).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from radon.complexity import cc_rank, cc_visit
from radon.visitors import Class, Function

REPO = Path(__file__).resolve().parents[1]
#: ``lint-imports`` of the interpreter running the tests (``.venv/bin`` under scripts/test).
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
#: Top-level entries that hold no project source (or, for bench/, are exempt).
NOT_SOURCE = {"bench", "build", "demo", "node_modules"}
#: Worst grade allowed: C is 11–20; D (21–30) and worse fail.
WORST_ALLOWED = "C"


def _lint_imports(*config: str) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS.is_file(), f"{LINT_IMPORTS} missing: run scripts/setup (.[dev])"
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *config],
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )


def test_import_contracts_are_kept() -> None:
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"
    ]["contracts"]
    assert len(contracts) >= 6
    r = _lint_imports()
    report = r.stdout + r.stderr
    assert r.returncode == 0, f"lint-imports: a contract is broken\n{report}"
    # every contract was read and checked, none silently skipped
    assert f"Contracts: {len(contracts)} kept, 0 broken." in report, report


def test_lint_imports_reports_a_broken_contract(tmp_path: Path) -> None:
    # The command line imports the core, so forbidding that import must fail.
    config = tmp_path / "broken.toml"
    config.write_text(
        "[tool.importlinter]\n"
        'root_packages = ["verifier"]\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "must break"\n'
        'type = "forbidden"\n'
        'source_modules = ["verifier.cli"]\n'
        'forbidden_modules = ["verifier.core"]\n',
        encoding="utf-8",
    )
    r = _lint_imports(str(config))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "must break BROKEN" in r.stdout
    assert "verifier.cli." in r.stdout  # names the offending import


def _source_files() -> Iterator[Path]:
    """Every ``.py`` file of the checkout outside bench/, virtual environments, build output
    and hidden directories."""
    for top in sorted(REPO.iterdir()):
        if top.name.startswith(".") or top.name in NOT_SOURCE or top.name.endswith(".egg-info"):
            continue
        if top.is_file() and top.suffix == ".py":
            yield top
        elif top.is_dir() and not (top / "pyvenv.cfg").exists():
            yield from (p for p in sorted(top.rglob("*.py")) if "__pycache__" not in p.parts)


def _functions(blocks: Iterable[Function | Class]) -> Iterator[Function]:
    """Every function, method and nested function among radon's ``blocks``, possibly more than
    once (classes are containers here: their own score is the sum of their methods')."""
    for block in blocks:
        if isinstance(block, Class):
            yield from _functions([*block.methods, *block.inner_classes])
        else:
            yield block
            yield from _functions(block.closures)


def test_no_function_is_graded_d_or_worse() -> None:
    files = list(_source_files())
    assert REPO / "verifier" / "core" / "merkle.py" in files
    assert not any(p.is_relative_to(REPO / "bench") for p in files)
    offenders: set[str] = set()
    for path in files:
        blocks = cc_visit(path.read_text(encoding="utf-8"))
        for fn in _functions(blocks):
            if cc_rank(fn.complexity) > WORST_ALLOWED:
                name = f"{fn.classname}.{fn.name}" if fn.classname else fn.name
                where = f"{path.relative_to(REPO).as_posix()}:{fn.lineno}"
                offenders.add(f"{where} {name} {cc_rank(fn.complexity)} ({fn.complexity})")
    if offenders:
        pytest.fail(
            "radon grade D or worse (complexity > 20); split these:\n"
            + "\n".join(sorted(offenders)),
            pytrace=False,
        )
