"""A small client of the Gongxin HTTP API (docs/API.md) that trusts nothing but the log key.

Every receipt the server returns is checked by :func:`verify_receipt`, a pure function of
the receipt, the log's public key and (when known) the submission it is for: the signed
checkpoint opens under the pinned log key, the entry line hashes to ``leaf_hash``, the entry
holds exactly the submitted statement and signatures, and the inclusion path leads from the
leaf to the checkpoint's root. A receipt that fails any check raises :class:`ReceiptError`
naming what differed; the server is then not to be believed.

API errors (``application/problem+json``, docs/API.md §1) become :class:`ApiError`.
Connection failures are retried (statement ids are idempotency keys, so resending the same
bytes can never log a statement twice: the server answers ``duplicate: true``), then become
:class:`ServerUnavailable`.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx

from verifier.core import merkle
from verifier.core.checkpoint import Checkpoint, open_checkpoint
from verifier.core.entry import Submission, parse_entry_line
from verifier.core.errors import GongxinError, InputError, VerificationError
from verifier.core.keys import VerifierKey, parse_verifier_key

__all__ = [
    "MAX_BATCH",
    "ApiError",
    "GongxinClient",
    "Receipt",
    "ReceiptError",
    "ServerUnavailable",
    "parse_receipt",
    "verify_receipt",
]

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
#: docs/API.md §2: a batch holds 1 … 1000 submissions.
MAX_BATCH = 1000


class ApiError(GongxinError):
    """The server answered with an error (RFC 9457 problem details, docs/API.md §1).

    ``code`` is the FORMAT.md rule id (``payment.exceeds_milestone``, ``statement.conflict``
    …) or an HTTP-level code (``request.json``, ``not_found`` …); ``field`` the offending
    member (``batch[k]…`` for batches)."""

    def __init__(
        self,
        status: int,
        code: str,
        field: str | None,
        detail: str,
        key_id: str | None = None,
    ) -> None:
        self.status, self.code, self.field, self.detail, self.key_id = (
            status,
            code,
            field,
            detail,
            key_id,
        )
        where = f" (field {field})" if field else ""
        super().__init__(f"HTTP {status} [{code}] {detail}{where}")

    @property
    def rejected(self) -> bool:
        """True when the ledger judged the statement and refused it (a rule, or an id
        already used for other content): fixing the input, not retrying, helps."""
        return self.status in (409, 422)


class ServerUnavailable(GongxinError):
    """The server could not be reached (after the retries) or answered nonsense."""


class ReceiptError(VerificationError):
    """A receipt failed verification. ``rule`` is ``receipt.<what>``: ``shape``,
    ``checkpoint``, ``tree_size``, ``leaf_hash``, ``entry``, ``index``, ``statement_id``,
    ``statement`` or ``inclusion``; ``field`` names the member that differed."""


@dataclass(frozen=True)
class Receipt:
    """A receipt as the API returns it (docs/API.md §2); hashes as the API encodes them."""

    index: int
    statement_id: str
    leaf_hash: str
    entry: str
    tree_size: int
    checkpoint: str
    inclusion_path: tuple[str, ...]
    duplicate: bool

    def to_json(self) -> dict[str, Any]:
        """The receipt in the API's JSON form."""
        return {
            "index": self.index,
            "statement_id": self.statement_id,
            "leaf_hash": self.leaf_hash,
            "entry": self.entry,
            "tree_size": self.tree_size,
            "checkpoint": self.checkpoint,
            "inclusion_path": list(self.inclusion_path),
            "duplicate": self.duplicate,
        }


def _bad(
    rule: str, detail: str, field: str | None = None, index: int | None = None
) -> ReceiptError:
    return ReceiptError(f"receipt.{rule}", detail, field=field, index=index)


def parse_receipt(obj: Any) -> Receipt:
    """Check the JSON shape of a receipt (types only; nothing is verified here).
    Raises :class:`ReceiptError` (``receipt.shape``) naming the member. O(size)."""
    if not isinstance(obj, dict):
        raise _bad("shape", "a receipt must be a JSON object")
    types: dict[str, type] = {
        "index": int,
        "statement_id": str,
        "leaf_hash": str,
        "entry": str,
        "tree_size": int,
        "checkpoint": str,
        "inclusion_path": list,
        "duplicate": bool,
    }
    for name, want in types.items():
        value = obj.get(name)
        if type(value) is not want:
            raise _bad("shape", f"member {name} must be a JSON {want.__name__}", field=name)
    path = obj["inclusion_path"]
    if not all(type(h) is str for h in path):
        raise _bad("shape", "inclusion_path must be a list of base64 strings", "inclusion_path")
    return Receipt(
        obj["index"],
        obj["statement_id"],
        obj["leaf_hash"],
        obj["entry"],
        obj["tree_size"],
        obj["checkpoint"],
        tuple(path),
        obj["duplicate"],
    )


@lru_cache(maxsize=32)
def _opened(note: str, log_key: VerifierKey) -> Checkpoint:
    """:func:`open_checkpoint`, remembered: a batch's receipts share one checkpoint."""
    return open_checkpoint(note, log_key)


def _compare_statement(entry_json: dict[str, Any], submission: Submission) -> None:
    """Require the logged statement and signatures to be exactly the submitted ones."""
    mine = submission.to_json()
    st, logged = mine["statement"], entry_json["statement"]
    for name in ("id", "kind", "signer", "time", "body"):
        if st[name] != logged.get(name):
            raise _bad(
                "statement",
                f"the logged statement's {name} differs from the one submitted; "
                "回执中的声明与提交的不一致",
                field=f"statement.{name}",
            )
    if mine["signatures"] != entry_json["signatures"]:
        raise _bad(
            "statement",
            "the logged signatures differ from the ones submitted; 签名不一致",
            field="signatures",
        )


def verify_receipt(
    receipt: Receipt,
    log_key: VerifierKey,
    submission: Submission | None = None,
    *,
    statement_id: str | None = None,
) -> Checkpoint:
    """Check ``receipt`` with nothing but the log's public key; return its checkpoint.

    ``submission``, when given, must be what the entry holds (same id, kind, time, signer,
    body and signatures); else ``statement_id``, when given, must be its statement id.
    Checks, in order: the checkpoint opens under ``log_key`` and its size is ``tree_size``;
    ``SHA-256(0x00 ‖ entry)`` is ``leaf_hash``; ``entry`` is a canonical entry line at
    ``index`` holding the statement; the inclusion path leads to the checkpoint root
    (RFC 9162 §2.1.3). Raises :class:`ReceiptError` at the first difference.
    Cost: one Ed25519 verification (cached per checkpoint) and O(len(entry) + log n).
    """
    try:
        cp = _opened(receipt.checkpoint, log_key)
    except GongxinError as exc:
        raise _bad(
            "checkpoint",
            f"the checkpoint does not open under the pinned log key {log_key.key_id_hex}: {exc}",
            field="checkpoint",
        ) from None
    if cp.size != receipt.tree_size:
        raise _bad(
            "tree_size",
            f"tree_size {receipt.tree_size} but the signed checkpoint is of {cp.size} entries",
            field="tree_size",
        )
    line = receipt.entry.encode("utf-8")
    leaf = merkle.leaf_hash(line)
    if leaf.hex() != receipt.leaf_hash:
        raise _bad(
            "leaf_hash",
            f"the entry hashes to {leaf.hex()}, not to leaf_hash {receipt.leaf_hash}",
            field="leaf_hash",
            index=receipt.index,
        )
    try:
        entry = parse_entry_line(line)
    except GongxinError as exc:
        raise _bad("entry", f"the entry is not a valid entry line: {exc}", "entry") from None
    if entry.index != receipt.index:
        raise _bad(
            "index",
            f"receipt index {receipt.index} but the entry's index is {entry.index}",
            field="index",
        )
    if entry.statement.id != receipt.statement_id:
        raise _bad(
            "statement_id",
            f"receipt statement_id {receipt.statement_id} but the entry holds {entry.statement.id}",
            field="statement_id",
        )
    if submission is not None:
        entry_json = {
            "statement": entry.statement.raw,
            "signatures": [s.to_json() for s in entry.signatures],
        }
        _compare_statement(entry_json, submission)
    elif statement_id is not None and entry.statement.id != statement_id:
        raise _bad(
            "statement",
            f"asked for statement {statement_id}, the receipt is for {entry.statement.id}",
            field="statement.id",
        )
    path: list[bytes] = []
    for k, h in enumerate(receipt.inclusion_path):
        try:
            path.append(base64.b64decode(h, validate=True))
        except (binascii.Error, ValueError):
            raise _bad("shape", "not standard base64", f"inclusion_path[{k}]") from None
    try:
        merkle.verify_inclusion(leaf, receipt.index, cp.size, path, cp.root)
    except VerificationError as exc:
        raise _bad("inclusion", exc.detail, "inclusion_path", receipt.index) from None
    return cp


def _problem(response: httpx.Response) -> ApiError:
    """The :class:`ApiError` of an error response (problem+json, or whatever came)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        return ApiError(
            response.status_code,
            body["code"],
            body.get("field") if isinstance(body.get("field"), str) else None,
            str(body.get("detail", "")),
            body.get("key_id") if isinstance(body.get("key_id"), str) else None,
        )
    text = response.text.strip().replace("\n", " ")[:200]
    return ApiError(response.status_code, f"http.{response.status_code}", None, text)


class GongxinClient:
    """Client of one Gongxin server at ``base_url`` (e.g. ``http://127.0.0.1:8080``).

    ``log_key`` is the log's public key, published out of band. When ``None``, the first
    call that needs it fetches ``/v1/log/key`` and pins it (trust on first use; then
    :attr:`trusted_on_first_use` is true and callers should say so). ``retries`` is how
    many times a request is resent after a connection error or timeout. ``transport`` is
    for tests (``httpx.MockTransport``)."""

    def __init__(
        self,
        base_url: str,
        log_key: VerifierKey | None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        retries: int = DEFAULT_RETRIES,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._log_key = log_key
        self.trusted_on_first_use = False
        self.retries = retries
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GongxinClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------

    def _request(self, method: str, path: str, content: bytes | None = None) -> httpx.Response:
        """Send, resending after connection errors; raise :class:`ApiError` on ≥ 400."""
        headers = {"Content-Type": "application/json"} if content is not None else None
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(method, path, content=content, headers=headers)
                break
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise ServerUnavailable(
                        f"cannot reach {self.base_url} ({type(exc).__name__}: {exc}); "
                        "无法连接服务器，请检查 --server / GONGXIN_SERVER"
                    ) from None
                time.sleep(min(0.25 * 2**attempt, 2.0))
        if response.status_code >= 400:
            raise _problem(response)
        return response

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ServerUnavailable(
                f"{response.request.url} answered {response.status_code} without JSON"
            ) from None

    # -- the log -----------------------------------------------------------------------

    def log_key(self) -> str:
        """The log key the server publishes (``GET /v1/log/key``), as text."""
        return self._request("GET", "/v1/log/key").text.strip()

    def pinned_key(self) -> VerifierKey:
        """The pinned log key; fetched from the server (and pinned) when none was given."""
        if self._log_key is None:
            try:
                self._log_key = parse_verifier_key(self.log_key())
            except InputError as exc:
                raise ServerUnavailable(f"the server's log key is malformed: {exc}") from None
            self.trusted_on_first_use = True
        return self._log_key

    def checkpoint(self) -> str:
        """The latest signed checkpoint (``GET /v1/log/checkpoint``), verified with the
        pinned key (:class:`ReceiptError` ``receipt.checkpoint`` if it does not open)."""
        note = self._request("GET", "/v1/log/checkpoint").text
        key = self.pinned_key()
        try:
            open_checkpoint(note, key)
        except GongxinError as exc:
            raise _bad("checkpoint", f"the checkpoint does not open: {exc}", "checkpoint") from None
        return note

    # -- statements --------------------------------------------------------------------

    def submit(self, submission: Submission) -> Receipt:
        """POST one signed submission; return its verified receipt (``duplicate`` when the
        statement was already logged with identical content)."""
        response = self._request("POST", "/v1/statements", submission.canonical())
        receipt = parse_receipt(self._json(response))
        verify_receipt(receipt, self.pinned_key(), submission)
        return receipt

    def submit_batch(self, submissions: Sequence[Submission]) -> list[Receipt]:
        """POST 1 … :data:`MAX_BATCH` submissions atomically (all or nothing); return their
        verified receipts in order. Raises :class:`InputError` for an empty or oversize
        batch, :class:`ApiError` (``field`` ``batch[k]…``) when the server refuses it."""
        if not 1 <= len(submissions) <= MAX_BATCH:
            raise InputError(f"a batch holds 1 to {MAX_BATCH} submissions", field="batch")
        body = b"[" + b",".join(s.canonical() for s in submissions) + b"]"
        data = self._json(self._request("POST", "/v1/statements/batch", body))
        items = data.get("receipts") if isinstance(data, dict) else None
        if not isinstance(items, list) or len(items) != len(submissions):
            raise _bad("shape", "the batch reply must hold one receipt per submission")
        key = self.pinned_key()
        receipts = [parse_receipt(item) for item in items]
        for receipt, sub in zip(receipts, submissions, strict=True):
            verify_receipt(receipt, key, sub)
        return receipts

    def receipt(self, statement_id: str) -> Receipt | None:
        """The verified receipt of a logged statement, or ``None`` if the log does not hold
        it (``GET /v1/statements/{id}`` answered 404)."""
        try:
            response = self._request("GET", f"/v1/statements/{statement_id}")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        receipt = parse_receipt(self._json(response))
        verify_receipt(receipt, self.pinned_key(), statement_id=statement_id)
        return receipt
