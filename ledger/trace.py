"""``gongxin trace``: the chain of entries behind one fund, contract, payment or resident
(FORMAT.md §10.6).

:func:`trace_ledger` looks the target's postings up in the ``postings`` index
(:mod:`ledger.postings`, written by the append transaction with the postings the rules
reported), adds the context a replay's :class:`verifier.reports.tracing.Tracer` adds (a
contract's or payment's fund appropriation, a payment's contract award), then reads the
entries behind them to show who signed them. The answer equals a full replay's
(tests/test_postings_index.py checks it on random logs).

Cost: O(log n + k) for k entries of the target — a few index range scans, one read of the k
entry lines and of the key grants; no replay. If the index is incomplete (a database just
upgraded), the first trace fills it once (:func:`ledger.postings.backfill`, O(n)).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from ledger.log import Ledger
from ledger.postings import backfill, trace_postings
from ledger.store.sql import SqlReader
from verifier.core import merkle
from verifier.core.entry import parse_entry_line
from verifier.core.errors import InputError
from verifier.core.keys import parse_verifier_key
from verifier.reports.traceability import ReportBuilder
from verifier.reports.tracing import TARGETS, balance_change, describe
from verifier.rules import Posting

__all__ = ["TARGETS", "TARGET_NAMES", "TraceEntry", "TraceResult", "assemble_trace", "trace_ledger"]

#: Chinese and English names of what can be traced.
TARGET_NAMES = {
    "fund": "资金 fund",
    "contract": "合同 contract",
    "payment": "付款 payment",
    "resident": "居民 resident",
    "provider": "服务商 provider",
}
_RESIDENT_REF = re.compile(r"[0-9a-f]{32}")
_FETCH_CHUNK = 500


@dataclass
class TraceEntry:
    """One entry of a trace: where it is, who signed it, what it moved."""

    index: int
    kind: str
    log_time: str
    signer: str
    signer_title: str | None
    leaf_hash: str
    description: str
    postings: list[Posting] = field(default_factory=list)
    #: Resident traces only: the resident's balance after this entry, in points.
    balance_after: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "kind": self.kind,
            "log_time": self.log_time,
            "signer": self.signer,
            "signer_title": self.signer_title,
            "leaf_hash": self.leaf_hash,
            "description": self.description,
            "postings": [_posting_json(p) for p in self.postings],
        }
        if self.balance_after is not None:
            out["balance_after_points"] = self.balance_after
        return out


def _posting_json(p: Posting) -> dict[str, Any]:
    out: dict[str, Any] = {"event": p.event}
    out["amount_points" if p.event.startswith("credit.") else "amount_fen"] = p.amount
    for name in ("fund", "contract", "payment", "provider", "community", "resident", "activity"):
        value = getattr(p, name)
        if value is not None:
            out[name] = value
    return out


@dataclass
class TraceResult:
    """The trace of ``target`` ``ident`` in a log of ``log_size`` entries."""

    target: str
    ident: str
    log_size: int
    entries: list[TraceEntry]
    summary: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "id": self.ident,
            "log_size": self.log_size,
            "entries": [e.to_json() for e in self.entries],
            "summary": self.summary,
        }


def trace_ledger(ledger: Ledger, target: str, ident: str) -> TraceResult:
    """Trace ``target`` (``fund``, ``contract``, ``payment`` or ``resident``) with id
    ``ident`` (a ``resident_ref`` for a resident) in the log of ``ledger`` (opened read-only
    is enough). Raises :class:`InputError` if the log has no such object. O(log n + k)."""
    if target not in TARGETS:
        raise InputError(f"target must be one of {', '.join(TARGETS)}", field="target")
    if target == "resident" and not _RESIDENT_REF.fullmatch(ident):
        raise InputError(
            "居民须以假名 resident_ref 指定（32 位小写十六进制）a resident is given by its "
            "resident_ref, 32 lower-case hex digits (FORMAT.md §10.5; `gongxin residents ref` "
            "looks it up)",
            field="ID",
        )
    size = ledger.size
    with ledger.engine.connect() as conn:
        if _index_through(conn) < size:  # once after an upgrade: O(n)
            print("正在建立索引 indexing the log's postings (once) …", file=sys.stderr)
            backfill(ledger.store)
            conn.rollback()  # a new read snapshot (SQLite), which sees the index
        postings, own = trace_postings(conn, target, ident, size)
        if not own:
            raise InputError(
                f"未找到{TARGET_NAMES[target].split()[0]} {ident}：日志的 {size} 个条目中没有"
                f"此编号；no {target} {ident!r} in the log's {size} entries",
                field="ID",
            )
        return assemble_trace(ledger, target, ident, size, postings, own, conn=conn)


def _index_through(conn: Connection) -> int:
    """How far the postings index is complete; :class:`InputError` for a database without
    it (run ``gongxin db upgrade``). One read."""
    try:
        return SqlReader(conn).postings_through()
    except DBAPIError:
        raise InputError(
            "this database has no postings index; back it up (`gongxin backup`), then run "
            "`gongxin db upgrade`",
            field="database",
        ) from None


def _read_entries(
    conn: Connection, indices: list[int], size: int
) -> tuple[list[tuple[int, bytes]], dict[str, str]]:
    """The lines at ``indices`` (sorted) in index order, and key id → post title of every
    key granted below ``size`` (the genesis authorities: ``权威 authority (genesis)``), in
    one read per 500 entries (the grants by ``ix_entries_kind``). O(k + grants)."""
    m = _mark(conn)
    lines: list[tuple[int, bytes]] = []
    titles: dict[str, str] = {}
    wanted = set(indices)
    grants = f"(kind IN ('log.genesis', 'key.grant') AND idx < {m})"
    for start in range(0, max(len(indices), 1), _FETCH_CHUNK):
        chunk = tuple(indices[start : start + _FETCH_CHUNK])
        where = [f"idx IN ({', '.join([m] * len(chunk))})"] if chunk else []
        if start == 0:
            where.append(grants)
        sql = f"SELECT idx, kind, line FROM entries WHERE {' OR '.join(where)} ORDER BY idx"
        params = (*chunk, size) if start == 0 else chunk
        for idx, kind, raw in conn.exec_driver_sql(sql, params):
            line = bytes(raw)
            if idx in wanted:
                lines.append((int(idx), line))
            if start == 0 and kind in ("log.genesis", "key.grant") and idx < size:
                _add_titles(titles, line)
    return lines, titles


def _add_titles(titles: dict[str, str], line: bytes) -> None:
    body = orjson.loads(line)["statement"]["body"]  # verified when it was appended
    if "authorities" in body:
        for vkey in body["authorities"]:
            titles[_key_id(vkey)] = "权威 authority (genesis)"
    else:
        titles[_key_id(body["key"])] = body["title"]


@lru_cache(maxsize=1024)
def _key_id(vkey: str) -> str:
    return parse_verifier_key(vkey).key_id_hex


def assemble_trace(
    ledger: Ledger,
    target: str,
    ident: str,
    size: int,
    postings: list[Posting],
    own: list[Posting],
    title_of: Callable[[str], str | None] | None = None,
    conn: Connection | None = None,
) -> TraceResult:
    """The trace of ``target`` ``ident`` from its selected ``postings`` (index order, with
    context) and its ``own`` postings: reads the entries behind them and the key grants
    (one read, on ``conn`` if given: O(k) for k entries) and sums the figures.
    ``title_of`` maps a signer's key id to its post title (default: from the grants). Used
    by :func:`trace_ledger` and by the server's trace views."""
    if conn is None:
        with ledger.engine.connect() as fresh:
            return assemble_trace(ledger, target, ident, size, postings, own, title_of, fresh)
    by_index: dict[int, list[Posting]] = {}
    for p in postings:
        by_index.setdefault(p.index, []).append(p)
    lines, titles = _read_entries(conn, sorted(by_index), size)
    title_of = title_of or titles.get
    entries = []
    balance = 0
    for index, line in lines:
        entry = parse_entry_line(line, index)
        st = entry.statement
        te = TraceEntry(
            index,
            st.kind,
            entry.log_time,
            st.signer,
            title_of(st.signer),
            merkle.leaf_hash(line).hex(),
            describe(entry),
            by_index[index],
        )
        if target == "resident":
            balance += sum(balance_change(p) for p in te.postings)
            te.balance_after = balance
        entries.append(te)
    summary = _summary(target, ident, own)
    if target == "resident":
        summary["balance_points"] = balance
    return TraceResult(target, ident, size, entries, summary)


def lines_at(
    ledger: Ledger, indices: list[int], conn: Connection | None = None
) -> list[tuple[int, bytes]]:
    """The lines of the entries at ``indices`` (sorted), in index order, read on ``conn``
    (default: a new connection of the ledger's engine). O(k)."""
    if conn is None:
        with ledger.engine.connect() as own:
            return lines_at(ledger, indices, own)
    m = _mark(conn)
    out: list[tuple[int, bytes]] = []
    for start in range(0, len(indices), _FETCH_CHUNK):
        chunk = tuple(indices[start : start + _FETCH_CHUNK])
        marks = ", ".join([m] * len(chunk))
        sql = f"SELECT idx, line FROM entries WHERE idx IN ({marks}) ORDER BY idx"
        out += [(int(idx), bytes(line)) for idx, line in conn.exec_driver_sql(sql, chunk)]
    return out


def _mark(conn: Connection) -> str:
    """The driver's parameter mark (the reads here go straight to the driver: building a
    SQLAlchemy expression costs more than the indexed reads)."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _summary(target: str, ident: str, own: list[Posting]) -> dict[str, Any]:
    """Figures of the target from its own postings (the report's figures, restricted).

    Cost: O(len(own)) to replay them into a :class:`ReportBuilder`, then one look-up."""
    if target == "resident":
        return _resident_summary(own)
    builder = ReportBuilder()
    for p in own:
        builder(p)
    return _REPORT_SUMMARIES[target](builder.build(), ident, own)


def _resident_summary(own: list[Posting]) -> dict[str, Any]:
    """A resident's points per credit event: ``{"awarded_points": n, ...}``."""
    totals: dict[str, int] = {}
    for p in own:
        totals[p.event] = totals.get(p.event, 0) + p.amount
    return {f"{ev.removeprefix('credit.')}_points": v for ev, v in sorted(totals.items())}


def _provider_summary(report: dict[str, Any], ident: str, own: list[Posting]) -> dict[str, Any]:
    prov = next(p for p in report["providers"] if p["party_id"] == ident)
    return {k: prov[k] for k in ("contracts", "contracted_fen", "paid_fen", "reversed_fen")}


def _fund_summary(report: dict[str, Any], ident: str, own: list[Posting]) -> dict[str, Any]:
    row = next(f for f in report["funds"] if f["fund_id"] == ident)
    for name in ("entries", "fund_id", "source", "fiscal_year", "programme"):
        row.pop(name)
    return dict(row)


def _contract_of(report: dict[str, Any], own: list[Posting]) -> dict[str, Any]:
    """The report's row of the contract the postings belong to."""
    return next(c for c in report["contracts"] if c["contract_id"] == own[0].contract)


def _contract_summary(report: dict[str, Any], ident: str, own: list[Posting]) -> dict[str, Any]:
    contract = _contract_of(report, own)
    out = {k: v for k, v in contract.items() if k.endswith("_fen")}
    out["fund_id"], out["provider"] = own[0].fund, own[0].provider
    out["payments"] = {p["payment_id"]: p["state"] for p in contract["payments"]}
    return out


def _payment_summary(report: dict[str, Any], ident: str, own: list[Posting]) -> dict[str, Any]:
    pay = next(p for p in _contract_of(report, own)["payments"] if p["payment_id"] == ident)
    return {
        "state": pay["state"],
        "amount_fen": pay["amount_fen"],
        "contract_id": own[0].contract,
        "fund_id": own[0].fund,
        "provider": own[0].provider,
    }


_REPORT_SUMMARIES: dict[str, Callable[[dict[str, Any], str, list[Posting]], dict[str, Any]]] = {
    "provider": _provider_summary,
    "fund": _fund_summary,
    "contract": _contract_summary,
    "payment": _payment_summary,
}


# ------------------------------------------------------------------------------- text
