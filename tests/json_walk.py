"""Walks over decoded JSON values (dicts, lists, strings), for tests that search statement
bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def iter_bodies(value: Any, key_name: str) -> Iterator[Any]:
    """Every value stored under ``key_name`` anywhere inside ``value``."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key_name:
                yield v
            yield from iter_bodies(v, key_name)
    elif isinstance(value, list):
        for v in value:
            yield from iter_bodies(v, key_name)


def iter_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from iter_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from iter_strings(v)


def depth(value: Any) -> int:
    """Nesting depth of arrays and objects (the outermost counts 1; FORMAT.md §2 rule 5),
    without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest
