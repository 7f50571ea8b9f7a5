"""``gongxin-verify --flags FILE`` and ``--ocds OUT.json``: reading the red-flag thresholds
and writing the OCDS release package (:mod:`verifier.reports.flag_config`,
:mod:`verifier.reports.ocds`). Both are checked before verifying, so that a long verification
never ends in an unusable thresholds file or an unwritable path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import orjson

from verifier.cli.files import read_limited
from verifier.core.errors import InputError
from verifier.reports.analysis import Analysis
from verifier.reports.flag_config import MAX_FLAGS_BYTES, Thresholds, load_thresholds
from verifier.reports.ocds import PLACEHOLDER_PREFIX, check_prefix

__all__ = ["PLACEHOLDER_WARNING", "ocds_target", "read_thresholds", "write_ocds"]

PLACEHOLDER_WARNING = (
    f"警告 warning: OCID prefix {PLACEHOLDER_PREFIX} is a placeholder — register a prefix with "
    "the Open Contracting Partnership and pass --ocid-prefix before publishing; "
    "发布前请申请正式 OCID 前缀"
)


def read_thresholds(path: str | None) -> Thresholds:
    """The shipped thresholds, overridden by the TOML file ``path`` when given."""
    if path is None:
        return load_thresholds(None)
    data = read_limited(Path(path), MAX_FLAGS_BYTES, "--flags", field="--flags", hint="")
    return load_thresholds(data)


def ocds_target(out: str, prefix: str) -> Path:
    """Where ``--ocds OUT`` writes (a file in an existing directory); checks the prefix."""
    check_prefix(prefix)
    p = Path(out)
    if p.is_dir():
        raise InputError(f"{out} is a directory, not a file", field="--ocds")
    if not p.parent.is_dir():
        raise InputError(f"directory {p.parent} does not exist", field="--ocds")
    return p


def write_ocds(
    target: Path, analysis: Analysis, prefix: str, size: int, *, quiet: bool = False
) -> str:
    """Write the release package to ``target`` (temporary name, then renamed) and return
    the line to print; warns on stderr while the placeholder prefix is used."""
    assert analysis.ocds is not None
    package = analysis.ocds.build(prefix, size)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_bytes(orjson.dumps(package, option=orjson.OPT_INDENT_2) + b"\n")
        os.replace(tmp, target)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", field="--ocds") from None
    if prefix == PLACEHOLDER_PREFIX and not quiet:
        print(PLACEHOLDER_WARNING, file=sys.stderr)
    return f"OCDS: {target} ({len(package['releases'])} releases)"
