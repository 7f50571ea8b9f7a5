"""Write the JSON Schemas of the wire formats: ``python -m schemas.generate [--check]``.

One file per entry kind (``schemas/json/<kind>.schema.json``, the body) and one per envelope
(``statement``, ``submission``, ``entry``), JSON Schema draft 2020-12, sorted keys, 2-space
indent, UTF-8, trailing newline. ``--check`` writes nothing and exits 1, listing the files
that are missing, stale or differ (for CI).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from schemas import BODY_MODELS, ENVELOPE_MODELS
from verifier.rules.kinds import KINDS

SCHEMA_DIR = Path(__file__).resolve().parent / "json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_URI = "https://gongxin.example/schemas/"
SUFFIX = ".schema.json"


class _Generator(GenerateJsonSchema):
    """Pydantic's generator without the "Contract Id"-style titles on every property."""

    def field_title_should_be_set(self, schema: object) -> bool:
        return False


def schema_of(name: str, model: type[BaseModel]) -> dict[str, object]:
    """The JSON Schema document of ``model`` published as ``<name>.schema.json``."""
    schema = model.model_json_schema(schema_generator=_Generator)
    schema["$schema"] = DRAFT
    schema["$id"] = f"{BASE_URI}{name}{SUFFIX}"
    schema["title"] = name
    kind = KINDS.get(name)
    if kind is not None:
        roles = ", ".join(sorted(kind.roles))
        schema["description"] = (
            f"{schema.get('description', '')}\n\n签署角色 Signed by: {roles}".lstrip()
        )
    return schema


def render(schema: dict[str, object]) -> str:
    """The file text: sorted keys, 2-space indent, raw UTF-8, trailing newline."""
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def expected_files() -> dict[str, str]:
    """File name → text of every schema file, envelopes first."""
    models = {**ENVELOPE_MODELS, **BODY_MODELS}
    return {f"{name}{SUFFIX}": render(schema_of(name, m)) for name, m in models.items()}


def differences(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of the files in ``directory`` that are missing, differ or should not be there."""
    want = expected_files()
    have = {p.name for p in directory.glob(f"*{SUFFIX}")} if directory.is_dir() else set()
    out = [
        name
        for name, text in want.items()
        if name not in have or (directory / name).read_text(encoding="utf-8") != text
    ]
    return sorted(out + sorted(have - want.keys()))


def write(directory: Path = SCHEMA_DIR) -> list[str]:
    """Write every schema file into ``directory`` and delete stale ones; returns what changed."""
    changed = differences(directory)
    directory.mkdir(parents=True, exist_ok=True)
    want = expected_files()
    for name in changed:
        path = directory / name
        if name in want:
            path.write_text(want[name], encoding="utf-8", newline="\n")
        else:
            path.unlink()
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.generate", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if any file differs; write nothing"
    )
    args = parser.parse_args(argv)
    if args.check:
        stale = differences()
        if stale:
            print(
                "schemas/json is out of date; run python -m schemas.generate. Differing files:",
                file=sys.stderr,
            )
            for name in stale:
                print(f"  schemas/json/{name}", file=sys.stderr)
            return 1
        return 0
    for name in write():
        done = "wrote" if (SCHEMA_DIR / name).exists() else "removed"
        print(f"{done} schemas/json/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
