"""``ledger.client`` against a server: submissions and look-ups, API problems become typed
errors, a lying server is caught, trust on first use, and retries after lost connections
never log a statement twice. The server is in-process (tests/client_mock_server.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from ledger.client import ApiError, GongxinClient, ReceiptError, ServerUnavailable
from tests.client_mock_server import fund, ledger_handler, mock_client
from tests.ledger_fixtures import LedgerEnv, fund_body
from verifier.core.errors import InputError


@pytest.fixture
def client(env: LedgerEnv) -> Iterator[GongxinClient]:
    with mock_client(env) as c:
        yield c


def test_submit_batch_and_lookup(env: LedgerEnv, client: GongxinClient) -> None:
    subs = [fund(env, n) for n in range(3)]
    receipts = client.submit_batch(subs)
    assert [r.statement_id for r in receipts] == [s.statement.id for s in subs]
    assert len({r.checkpoint for r in receipts}) == 1
    assert [r.index for r in receipts] == list(range(receipts[0].index, receipts[0].index + 3))
    again = client.submit_batch(subs)
    assert all(r.duplicate for r in again) and [r.index for r in again] == [
        r.index for r in receipts
    ]
    found = client.receipt(subs[1].statement.id)
    assert found is not None and found.index == receipts[1].index
    assert client.receipt("00000000-0000-4000-8000-000000000000") is None
    assert client.checkpoint() == env.ledger.latest_checkpoint()
    with pytest.raises(InputError):
        client.submit_batch([])


def test_rule_violations_are_typed_api_errors(env: LedgerEnv, client: GongxinClient) -> None:
    sub = fund(env, 5)
    client.submit(sub)
    with pytest.raises(ApiError) as info:  # the same fund id again, under a new statement id
        client.submit(env.sign(env.keys["finance"], "fund.appropriate", fund_body(1005)))
    err = info.value
    assert (err.status, err.code, err.rejected) == (422, "fund.duplicate", True)
    assert err.field == "batch[0].statement.body.fund_id"
    with pytest.raises(ApiError) as info:  # a batch: the field names the position
        client.submit_batch(
            [fund(env, 6), env.sign(env.keys["approver"], "fund.appropriate", fund_body(1007))]
        )
    assert info.value.code == "role.forbidden" and (info.value.field or "").startswith("batch[1]")
    assert env.ledger.receipt_of(sub.statement.id) is not None


def test_a_lying_server_is_caught(env: LedgerEnv) -> None:
    """A server that answers with a receipt for an altered statement is refused."""
    honest = ledger_handler(env)

    def lying(request: httpx.Request) -> httpx.Response:
        response = honest(request)
        data = json.loads(response.content)
        if "entry" in data:
            data["statement_id"] = "00000000-0000-4000-8000-000000000000"
        return httpx.Response(response.status_code, json=data)

    with (
        GongxinClient(
            "http://x", env.keys.log.verifier(), transport=httpx.MockTransport(lying)
        ) as c,
        pytest.raises(ReceiptError),
    ):
        c.submit(fund(env, 8))


def test_trust_on_first_use_pins_the_served_key(env: LedgerEnv) -> None:
    with GongxinClient("http://x", None, transport=httpx.MockTransport(ledger_handler(env))) as c:
        assert not c.trusted_on_first_use
        c.submit(fund(env, 9))
        assert c.trusted_on_first_use and c.pinned_key() == env.keys.log.verifier()


def test_a_lost_reply_is_retried_and_logged_once(env: LedgerEnv) -> None:
    """The first POST reaches the ledger but its reply is lost (a read timeout): the client
    resends the same bytes and gets the original entry back as a duplicate."""
    honest = ledger_handler(env)
    calls: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        response = honest(request)
        if len(calls) == 1:
            raise httpx.ReadTimeout("reply lost", request=request)
        return response

    size = env.ledger.size
    with GongxinClient(
        "http://x", env.keys.log.verifier(), transport=httpx.MockTransport(flaky)
    ) as c:
        receipt = c.submit(fund(env, 10))
    assert len(calls) == 2 and receipt.duplicate and env.ledger.size == size + 1


def test_an_unreachable_server_is_a_connection_error() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with (
        GongxinClient("http://x", None, retries=1, transport=httpx.MockTransport(down)) as c,
        pytest.raises(ServerUnavailable),
    ):
        c.log_key()


def test_non_problem_errors_still_become_api_errors() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    with (
        GongxinClient("http://x", None, transport=httpx.MockTransport(broken)) as c,
        pytest.raises(ApiError) as info,
    ):
        c.log_key()
    assert (info.value.status, info.value.code, info.value.rejected) == (502, "http.502", False)
