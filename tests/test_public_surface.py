"""The verifier's public surface (``verifier/__init__.py``): every name a third party is told
to call resolves, lazily, to the one definition in its layer."""

from __future__ import annotations

import subprocess
import sys

import pytest

import verifier


def test_all_lists_exactly_the_lazy_names() -> None:
    assert verifier.__all__ == sorted(verifier._PUBLIC)


@pytest.mark.parametrize("name", verifier.__all__)
def test_each_public_name_resolves_to_its_module(name: str) -> None:
    obj = getattr(verifier, name)
    assert obj.__module__ == verifier._PUBLIC[name]


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        verifier.nonsense  # noqa: B018


def test_importing_a_core_module_does_not_load_the_command_line() -> None:
    """Lazy re-exports keep ``import verifier.core.merkle`` cheap (worker processes do it)."""
    code = (
        "import sys, verifier.core.merkle; "
        "print(sorted(m for m in sys.modules if m.startswith('verifier.cli')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
