"""A small client of the Gongxin HTTP API (docs/API.md) that trusts nothing but the log key.

Every receipt the server returns is checked by :func:`verify_receipt` (the receipt is
defined once, in :mod:`verifier.core.receipt`), a pure function of the receipt, the log's
public key and (when known) the submission it is for: the signed checkpoint opens under the
pinned log key, the entry line hashes to ``leaf_hash``, the entry holds exactly the
submitted statement and signatures, and the inclusion path leads from the leaf to the
checkpoint's root. A receipt that fails any check raises :class:`ReceiptError`
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
from typing import Any

import httpx

from verifier.core import receipt as core_receipt
from verifier.core.checkpoint import Checkpoint, open_checkpoint
from verifier.core.entry import Submission, parse_entry_line
from verifier.core.errors import GongxinError, InputError
from verifier.core.keys import VerifierKey, parse_verifier_key
from verifier.core.merkle import leaf_hash, verify_inclusion
from verifier.core.receipt import Receipt, ReceiptError
from verifier.rules.log_state import message_origin

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


def parse_receipt(obj: Any) -> Receipt:
    """:func:`verifier.core.receipt.parse_receipt`, for a server's reply: a malformed receipt
    is a :class:`ReceiptError` (``receipt.shape``, naming the member), not an input error."""
    try:
        return core_receipt.parse_receipt(obj)
    except InputError as exc:
        raise ReceiptError("receipt.shape", exc.message, field=exc.field) from None


def verify_receipt(
    receipt: Receipt,
    log_key: VerifierKey,
    submission: Submission | None = None,
    *,
    statement_id: str | None = None,
) -> Checkpoint:
    """:func:`verifier.core.receipt.verify_receipt` (``submission`` may be passed by
    position): raises :class:`ReceiptError` at the first difference; returns the checkpoint."""
    return core_receipt.verify_receipt(
        receipt, log_key, statement_id=statement_id, submission=submission
    )


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
        self._genesis_checked = False
        self._origin: str | None = None
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
            detail = f"the checkpoint does not open: {exc}"
            raise ReceiptError("receipt.checkpoint", detail, field="checkpoint") from None
        return note

    def signing_origin(self) -> str | None:
        """What this log's statements must be signed for (``origin`` of
        :func:`ledger.signing.statements.sign_statement`, FORMAT.md §3.2): the log's origin
        in a format-2 log, ``None`` in a format-1 log. Read from the genesis entry, which must
        be leaf 0 of a checkpoint the pinned key signed (inclusion proof) and name the pinned
        key, so a server cannot make its officers sign for another log. Raises
        :class:`ReceiptError` when that does not hold. Cost: three requests, once."""
        if self._genesis_checked:
            return self._origin
        key = self.pinned_key()
        cp = open_checkpoint(self.checkpoint(), key)
        if cp.size == 0:
            raise ServerUnavailable("the log has no genesis entry yet; 日志尚未创建")
        line = self._request("GET", "/v1/log/entries?start=0&end=1").content.rstrip(b"\n")
        proof = self._json(self._request("GET", f"/v1/log/proof/inclusion?index=0&size={cp.size}"))
        try:
            path = [base64.b64decode(h, validate=True) for h in proof["inclusion_path"]]
            verify_inclusion(leaf_hash(line), 0, cp.size, path, cp.root)
            genesis = parse_entry_line(line, 0).statement
        except (GongxinError, KeyError, TypeError, binascii.Error) as exc:
            detail = f"the genesis entry is not leaf 0 of the signed checkpoint: {exc}"
            raise ReceiptError("receipt.genesis", detail, field="genesis") from None
        origin = message_origin(genesis.body)
        if (
            genesis.kind != "log.genesis"
            or genesis.body.get("log_key") != str(key)
            or origin not in (None, key.name)
        ):
            detail = "entry 0 is not the genesis of the pinned log key"
            raise ReceiptError("receipt.genesis", detail, field="genesis")
        self._origin, self._genesis_checked = origin, True
        return self._origin

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
            detail = "the batch reply must hold one receipt per submission"
            raise ReceiptError("receipt.shape", detail, field="receipts")
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
