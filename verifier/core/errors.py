"""Typed failures shared by the ledger and the verifier; the CLIs map them to exit codes
(FORMAT.md §9): :class:`InputError` (exit 2, nothing was judged) and
:class:`VerificationError` (exit 1, the input was read and found invalid).
"""

from __future__ import annotations


class GongxinError(Exception):
    """Base class of every error raised on purpose by Gongxin code."""


class InputError(GongxinError):
    """Unusable input (usage error, unreadable file, malformed key or proof file). ``field``
    names the argument, file or JSON field at fault when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message


class VerificationError(GongxinError):
    """A check failed: ``rule`` is its stable dotted id (e.g. ``entry.prev_hash``; FORMAT.md
    §9 lists them), ``detail`` says what differed; ``index`` (the 0-based entry), ``key_id``
    (8 hex digits) and ``field`` (a dotted JSON path) say where, when known."""

    def __init__(
        self,
        rule: str,
        detail: str,
        *,
        index: int | None = None,
        key_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.rule = rule
        self.detail = detail
        self.index = index
        self.key_id = key_id
        self.field = field
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The single line the CLIs print: where, which rule, what differed."""
        where = f"entry {self.index}: " if self.index is not None else ""
        extra = []
        if self.field:
            extra.append(f"field {self.field}")
        if self.key_id:
            extra.append(f"key {self.key_id}")
        suffix = f" ({', '.join(extra)})" if extra else ""
        return f"{where}[{self.rule}] {self.detail}{suffix}"

    def with_index(self, index: int) -> VerificationError:
        """Return a copy of this error attributed to entry ``index``."""
        return type(self)(self.rule, self.detail, index=index, key_id=self.key_id, field=self.field)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready description, used by ``--json`` reports and the HTTP API."""
        return {k: getattr(self, k) for k in ("rule", "detail", "index", "key_id", "field")}
