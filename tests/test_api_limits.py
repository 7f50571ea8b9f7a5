"""Nothing a client sends produces a 500 (docs/API.md §1): bodies nested 300 or 1,000 deep,
entry lines over 65,535 bytes and dates at the edges of years 0001–9999 are problems
(problem+json, 4xx) — in one submission, inside a batch and through group commit — and the
ledger writes nothing for them."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.jsonbody import batch_items, strict_json
from api.problems import Problem, from_error
from api.settings import Settings
from api.state import ServerState
from ledger.demo.cast import DEMO_ORIGIN
from ledger.records import InvalidEntry, entry_bytes
from ledger.signing.statements import sign_statement
from verifier.audit.lines import MAX_LINE_BYTES
from verifier.core.canonical import MAX_DEPTH, canonical_bytes

from .api_server import DemoTemplate, LiveServer, live_server

JSON = {"content-type": "application/json"}
PROBLEM = "application/problem+json"


def appropriation(template: DemoTemplate, fund_id: str, **body: Any) -> bytes:
    fields = {
        "fund_id": fund_id,
        "fiscal_year": 2026,
        "programme": "界限测试",
        "source": "财政",
        "amount_fen": 1000,
        **body,
    }
    return sign_statement(
        "fund.appropriate", fields, template.signer("finance_officer"), origin=DEMO_ORIGIN
    ).canonical()


def with_body(submission: bytes, body: bytes) -> bytes:
    """``submission`` with its statement's body replaced by the canonical bytes ``body``
    (byte surgery: orjson cannot even encode 255 levels)."""
    start = submission.index(b'"body":') + len(b'"body":')
    end = submission.index(b',"id":"', start)
    return submission[:start] + body + submission[end:]


def deep(levels: int, kind: str = "array") -> bytes:
    if kind == "array":
        return b"[" * levels + b"]" * levels
    return b'{"a":' * levels + b"0" + b"}" * levels


def signed_at(template: DemoTemplate, role: str, kind: str, body: dict[str, Any], t: str) -> bytes:
    return sign_statement(kind, body, template.signer(role), origin=DEMO_ORIGIN, time=t).canonical()


# -- units --------------------------------------------------------------------------------------


def test_batch_items_nest_one_level_deeper_than_an_entry() -> None:
    item = deep(MAX_DEPTH - 1)  # the array of the batch + this item: MAX_DEPTH + 1 in all
    assert batch_items(b"[{" + b'"a":' + item + b"}]") == [b'{"a":' + item + b"}"]
    for body in (b'[{"a":' + deep(MAX_DEPTH) + b"}]", deep(300), deep(1000), deep(100_000)):
        with pytest.raises(Problem) as failure:
            batch_items(body)
        assert (failure.value.status, failure.value.code) == (400, "entry.canonical")


@pytest.mark.parametrize("levels", [1000, 2000])
def test_strict_json_refuses_deep_nesting(levels: int) -> None:
    for body in (deep(levels), deep(levels, "object")):
        with pytest.raises(Problem) as failure:
            strict_json(body)
        assert (failure.value.status, failure.value.code) == (400, "request.json")


def test_too_long_is_413() -> None:
    problem = from_error(InvalidEntry("entry.too_long", "long", field="batch[0]"))
    assert (problem.status, problem.code) == (413, "entry.too_long")


# -- the ledger and group commit ------------------------------------------------------------------


@pytest.fixture
def state(demo_log: DemoTemplate, tmp_path: Path) -> Iterator[ServerState]:
    db = tmp_path / "copy.db"
    shutil.copyfile(demo_log.db, db)
    s = ServerState.open(Settings(f"sqlite:///{db}", demo_log.log_key))
    yield s
    s.close()


def padded_to_line(state: ServerState, template: DemoTemplate, line_bytes: int) -> bytes:
    """A submission whose entry line, as the next entry, has exactly ``line_bytes`` bytes (its
    body has an extra member, so it fails ``entry.body`` if it gets that far)."""
    pad = 0
    while True:
        sub = with_body(appropriation(template, "F-PAD"), b'{"pad":"' + b"x" * pad + b'"}')
        size = len(entry_bytes(state.ledger.size, "9" * 27, "0" * 64, _parsed(sub)))
        if size == line_bytes:
            return sub
        pad += line_bytes - size


def _parsed(data: bytes) -> Any:
    from verifier.core.entry import parse_submission

    return parse_submission(data)


def test_line_limit_is_exact(state: ServerState, demo_log: DemoTemplate) -> None:
    size = state.ledger.size
    with pytest.raises(InvalidEntry) as failure:
        state.ledger.append_batch([padded_to_line(state, demo_log, MAX_LINE_BYTES + 1)])
    assert (failure.value.rule, failure.value.field) == ("entry.too_long", "batch[0]")
    with pytest.raises(InvalidEntry) as failure:  # one byte less: judged by the rules
        state.ledger.append_batch([padded_to_line(state, demo_log, MAX_LINE_BYTES)])
    assert failure.value.rule == "entry.body"
    with pytest.raises(InvalidEntry) as failure:  # far over: refused before it is parsed
        state.ledger.append_batch([b"{" + b" " * 100_000 + b"}"])
    assert failure.value.rule == "entry.too_long"
    assert state.ledger.size == size


def test_group_commit_isolates_deep_long_and_extreme_requests(
    state: ServerState, demo_log: DemoTemplate
) -> None:
    seq = state.sequencer
    assert seq is not None
    good = [[appropriation(demo_log, f"F-L-{k}")] for k in range(4)]
    bad = {
        "entry.canonical": [with_body(appropriation(demo_log, "F-D"), deep(1000))],
        "entry.too_long": [appropriation(demo_log, "F-T", programme="长" * 30_000)],
        "statement.time": [
            signed_at(
                demo_log,
                "finance_officer",
                "fund.appropriate",
                {
                    "fund_id": "F-E",
                    "fiscal_year": 2026,
                    "programme": "末日",
                    "source": "财政",
                    "amount_fen": 1,
                },
                "9999-12-31T23:59:59Z",
            )
        ],
    }

    async def run() -> list[object]:
        return await asyncio.gather(
            *(seq.submit(g) for g in good[:2]),
            *(seq.submit(b) for b in bad.values()),
            *(seq.submit(g) for g in good[2:]),
            return_exceptions=True,
        )

    size = state.ledger.size
    results = asyncio.run(run())
    rejected = results[2:5]
    assert [getattr(r, "rule", r) for r in rejected] == list(bad)
    ok = results[:2] + results[5:]
    assert all(isinstance(r, list) and len(r) == 1 for r in ok)
    assert state.ledger.size == size + 4


# -- over HTTP ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(
    demo_log: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with live_server(demo_log, tmp_path_factory.mktemp("limits")) as s:
        yield s


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == code and r.json()["status"] == status


@pytest.mark.parametrize("levels", [300, 1000])
@pytest.mark.parametrize("shape", ["array", "object"])
def test_deep_bodies_are_400(
    http: httpx.Client, demo_log: DemoTemplate, levels: int, shape: str
) -> None:
    size = http.get("/healthz").json()["tree_size"]
    inner = with_body(appropriation(demo_log, "F-H-D"), b'{"a":' + deep(levels, shape) + b"}")
    for url, body in [
        ("/v1/statements", deep(levels, shape)),
        ("/v1/statements", inner),
        ("/v1/statements/batch", b"[" + deep(levels, shape) + b"]"),
        ("/v1/statements/batch", b"[" + appropriation(demo_log, "F-H-ok") + b"," + inner + b"]"),
    ]:
        problem(http.post(url, content=body, headers=JSON), 400, "entry.canonical")
    assert http.get("/healthz").json()["tree_size"] == size


def test_a_line_over_65535_bytes_is_413(http: httpx.Client, demo_log: DemoTemplate) -> None:
    size = http.get("/healthz").json()["tree_size"]
    huge = appropriation(demo_log, "F-H-T", programme="长" * 30_000)
    problem(http.post("/v1/statements", content=huge, headers=JSON), 413, "entry.too_long")
    batch = b"[" + appropriation(demo_log, "F-H-T2") + b"," + huge + b"]"
    r = http.post("/v1/statements/batch", content=batch, headers=JSON)
    problem(r, 413, "entry.too_long")
    assert r.json()["field"] == "batch[1]"
    assert http.get("/healthz").json()["tree_size"] == size


@pytest.mark.parametrize(
    ("role", "kind", "body", "time", "status", "code"),
    [
        (
            "finance_officer",
            "fund.appropriate",
            None,
            "9999-12-31T23:59:59.999999Z",
            422,
            "statement.time",
        ),
        (
            "finance_officer",
            "fund.appropriate",
            None,
            "0001-01-01T00:00:00Z",
            422,
            "statement.time",
        ),
        ("finance_officer", "fund.appropriate", None, "0000-01-01T00:00:00Z", 422, "entry.shape"),
        (
            "service_desk",
            "credit.expire",
            {"through_month": "9999-12"},
            None,
            422,
            "credit.expire_early",
        ),
        ("service_desk", "credit.expire", {"through_month": "0000-12"}, None, 422, "entry.body"),
        (
            "organiser",
            "activity.register",
            {
                "activity_id": "A-H-0",
                "community": "x",
                "category": "助老",
                "date": "0000-01-01",
                "title": "零年",
            },
            None,
            422,
            "entry.body",
        ),
    ],
)
def test_extreme_dates_are_problems_never_500(
    http: httpx.Client,
    demo_log: DemoTemplate,
    role: str,
    kind: str,
    body: dict[str, Any] | None,
    time: str | None,
    status: int,
    code: str,
) -> None:
    fields = body or {
        "fund_id": "F-H-E",
        "fiscal_year": 2026,
        "programme": "边界日期",
        "source": "财政",
        "amount_fen": 1,
    }
    if time is not None and time.startswith("0000"):  # not a date: only bytes can carry it
        ok = signed_at(demo_log, role, kind, fields, "2026-01-01T00:00:00Z")
        data = ok.replace(b'"time":"2026-01-01T00:00:00Z"', b'"time":"' + time.encode() + b'"')
    else:
        data = sign_statement(
            kind, fields, demo_log.signer(role), origin=DEMO_ORIGIN, time=time
        ).canonical()
    problem(http.post("/v1/statements", content=data, headers=JSON), status, code)
    problem(
        http.post("/v1/statements/batch", content=b"[" + data + b"]", headers=JSON), status, code
    )


def test_the_server_is_still_well(http: httpx.Client) -> None:
    assert http.get("/healthz").status_code == 200
    assert canonical_bytes({"ok": True}) == b'{"ok":true}'
