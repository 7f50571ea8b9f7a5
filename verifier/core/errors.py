"""Typed failures shared by the ledger and the verifier.

Two families, mapped by the CLIs to exit codes (FORMAT.md §9):

- :class:`InputError` (exit 2): the input is unusable as given — a file is missing, a key
  string is malformed, a command-line value is out of range. Nothing was judged.
- :class:`VerificationError` (exit 1): the input was read and found invalid — a signature
  fails, a hash differs, a rule is broken. It names the entry index (when there is one),
  the rule that failed, and what differed.

``InvalidEntry`` is the ledger's rejection of a submission; it is a ``VerificationError``
because the same pure check rejects the same entry when the verifier replays a log.
"""

from __future__ import annotations


class GongxinError(Exception):
    """Base class of every error raised on purpose by Gongxin code."""


class InputError(GongxinError):
    """Unusable input (usage error, unreadable file, malformed key or proof file).

    ``field`` names the argument, file or JSON field at fault when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message


class VerificationError(GongxinError):
    """A check failed.

    Attributes:
        rule:  a stable dotted identifier of the failed check, e.g. ``entry.prev_hash``
               or ``signature.invalid`` (FORMAT.md §9 lists them).
        index: the 0-based entry index at fault, or ``None`` when no entry is involved
               (e.g. a checkpoint signature).
        detail: a human-readable sentence saying what differed.
        key_id: the key involved, if any (8 hex digits).
        field: the JSON field at fault, if any (dotted path such as ``statement.body.amount``).
    """

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
        return {
            "rule": self.rule,
            "detail": self.detail,
            "index": self.index,
            "key_id": self.key_id,
            "field": self.field,
        }


class InvalidEntry(VerificationError):
    """A submission the ledger refuses; nothing was written."""
