"""An undo journal, so that replayed state can be rolled back when a batch is rejected.

The ledger applies a whole batch to its in-memory state before it commits the database
transaction; if any entry (or the commit) fails, :meth:`Journal.rollback` restores the state
exactly. Recording costs O(1) per change; rollback is O(changes).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

_MISSING = object()


class Journal:
    """Records how to undo each change made through it, newest first on rollback."""

    __slots__ = ("_undo",)

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def set_item(self, mapping: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        """``mapping[key] = value``, undoably."""
        old = mapping.get(key, _MISSING)
        mapping[key] = value
        if old is _MISSING:
            self._undo.append(lambda: mapping.pop(key, None))
        else:
            self._undo.append(lambda: mapping.__setitem__(key, old))

    def delete_item(self, mapping: MutableMapping[Any, Any], key: Any) -> None:
        """``del mapping[key]`` if present, undoably."""
        old = mapping.pop(key, _MISSING)
        if old is not _MISSING:
            self._undo.append(lambda: mapping.__setitem__(key, old))

    def set_attr(self, obj: Any, name: str, value: Any) -> None:
        """``setattr(obj, name, value)``, undoably."""
        old = getattr(obj, name)
        setattr(obj, name, value)
        self._undo.append(lambda: setattr(obj, name, old))

    def call_on_rollback(self, undo: Callable[[], None]) -> None:
        """Run ``undo`` on rollback (for changes the other methods cannot express)."""
        self._undo.append(undo)

    def rollback(self) -> None:
        """Undo every recorded change, newest first, and forget them."""
        while self._undo:
            self._undo.pop()()

    def commit(self) -> None:
        """Forget the recorded changes (they are now permanent)."""
        self._undo.clear()

    def __len__(self) -> int:
        return len(self._undo)


# -- helpers for code that runs with or without a journal (verifier vs ledger) ----------------


def put(journal: Journal | None, mapping: MutableMapping[Any, Any], key: Any, value: Any) -> None:
    """``mapping[key] = value``, through ``journal`` when there is one. O(1)."""
    if journal is None:
        mapping[key] = value
    else:
        journal.set_item(mapping, key, value)


def drop(journal: Journal | None, mapping: MutableMapping[Any, Any], key: Any) -> None:
    """``del mapping[key]`` if present, through ``journal`` when there is one. O(1)."""
    if journal is None:
        mapping.pop(key, None)
    else:
        journal.delete_item(mapping, key)


def assign(journal: Journal | None, obj: Any, name: str, value: Any) -> None:
    """``setattr(obj, name, value)``, through ``journal`` when there is one. O(1)."""
    if journal is None:
        setattr(obj, name, value)
    else:
        journal.set_attr(obj, name, value)
