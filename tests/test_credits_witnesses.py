"""The residents' page ``/credits`` with a witness policy, in a real browser (Debian's
Chromium via Playwright): the page checks the witnesses' cosignatures (``cosign.js``) and
names them, warns when the quorum is not met, and fails on a bad cosignature.

The page is served by the ``api.credits_page`` routes with a policy pinned, and a real HTTP
route ``/v1/residents/lookup`` that answers whatever reply the test puts in
:data:`REPLY` (a lookup reply built in Python, ``tests.test_browser_credits_replies``),
its checkpoint cosigned with :class:`witness.keys.WitnessSigner`. Chromium is never
downloaded (``tests.browser``); without it these tests FAIL.
"""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page

from api import credits_page
from ledger.signing.keys import SignerKey
from tests.browser import chromium
from tests.credits_browser import ORIGIN, serve
from tests.test_browser_credits_replies import crafted_reply
from verifier.core.errors import VerificationError
from verifier.witness.policy import WitnessPolicy, check_cosigned, parse_policy
from witness.keys import WitnessSigner

CODE = "ABCD-EFGH-JKMNP"
#: The reply the test server's lookup route answers (set by each test).
REPLY: dict[str, Any] = {}

SHENJI = WitnessSigner.generate("shenji.example/witness")
JUMIN = WitnessSigner.generate("jumin.example/witness")
PINGGU = WitnessSigner.generate("pinggu.example/witness")
OTHER = WitnessSigner.generate("shenji.example/witness")  # same name, another key


def _policy(quorum: str = "2 审计局 居民监督委员会") -> WitnessPolicy:
    """审计局 and 居民监督委员会 (and 评估机构), quorum ``group 全体 <quorum>``."""
    return parse_policy(
        f"witness 审计局 {SHENJI.public} http://127.0.0.1:8091\n"
        f"witness 居民监督委员会 {JUMIN.public}\n"
        f"witness 评估机构 {PINGGU.public}\n"
        f"group 全体 {quorum}\nquorum 全体\n"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (``tests.browser``)."""
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def log_key() -> SignerKey:
    return SignerKey.generate(ORIGIN)


@pytest.fixture(scope="module")
def base_url(log_key: SignerKey) -> Iterator[str]:
    """The page's routes with the log key and the policy pinned, and the lookup route."""
    app = FastAPI()
    credits_page.mount(app)
    app.state.log_vkey = str(log_key.verifier())
    app.state.witness_policy = _policy()

    @app.post("/v1/residents/lookup")
    def lookup() -> dict[str, Any]:
        return REPLY

    with serve(app) as base:
        yield base


def _cosigned(log_key: SignerKey, signers: list[WitnessSigner], ts: int) -> dict[str, Any]:
    """The crafted reply with its checkpoint cosigned by ``signers`` at time ``ts``."""
    reply, _ = crafted_reply(log_key)
    body = reply["checkpoint"].split("\n\n")[0].encode() + b"\n"
    reply["checkpoint"] += "".join(s.cosign(body, ts) for s in signers)
    return reply


def _flip_cosignature(note: str, line_no: int) -> str:
    """``note`` with a bit of the Ed25519 signature in signature line ``line_no`` changed."""
    text, block = note.split("\n\n")
    lines = block.split("\n")
    name, b64 = lines[line_no][2:].split(" ")
    blob = bytearray(base64.b64decode(b64))
    blob[-5] ^= 0x01
    lines[line_no] = f"— {name} {base64.b64encode(bytes(blob)).decode()}"
    return text + "\n\n" + "\n".join(lines)


def _open(browser: Browser, url: str) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector("#mark.ok, #mark.warn, #mark.fail", timeout=15000)
    return page, errors


def _show(browser: Browser, base_url: str, reply: dict[str, Any]) -> dict[str, str]:
    """Open the page with a lookup code for ``reply``; the mark, witness line and balance."""
    REPLY.clear()
    REPLY.update(reply)
    page, errors = _open(browser, f"{base_url}/credits#code={CODE}")
    try:
        assert errors == [], errors
        return {
            "state": (page.get_attribute("#mark", "class") or "").split()[-1],
            "title": page.text_content("#mark-title") or "",
            "detail": page.text_content("#mark-detail") or "",
            "witnesses": page.text_content("#witnesses") or "",
            "witnesses_hidden": str(page.is_hidden("#witnesses")),
            "balance": page.text_content("#balance") or "",
        }
    finally:
        page.close()


def test_page_names_both_witnesses(browser: Browser, base_url: str, log_key: SignerKey) -> None:
    """Two valid cosignatures satisfying the quorum: 已验证, and the witnesses named in
    policy order with their times (China time) — whatever the order of the lines."""
    ts = 1_780_000_000  # 2026-05-28 20:26:40 UTC = 2026-05-29 04:26:40 UTC+8
    got = _show(browser, base_url, _cosigned(log_key, [JUMIN, SHENJI], ts))
    assert got["state"] == "ok", got
    assert got["title"].startswith("已验证")
    assert got["witnesses"].startswith("由 审计局、居民监督委员会 见证"), got
    assert "witnessed by 审计局, 居民监督委员会" in got["witnesses"]
    assert "审计局 2026-05-29 04:26" in got["witnesses"]
    assert got["balance"] == "15"


def test_quorum_not_met_warns(browser: Browser, base_url: str, log_key: SignerKey) -> None:
    """One of the two required witnesses (the other's key name signed with another key, a
    line that does not count): a warning naming what is missing, and the balance shown."""
    reply = _cosigned(log_key, [SHENJI, PINGGU], 1_780_000_000)
    got = _show(browser, base_url, reply)
    assert got["state"] == "warn", got
    assert "未获足够见证" in got["title"]
    assert "未获足够见证：需要 审计局、居民监督委员会 中 2 个副署，现有 审计局" in got["witnesses"]
    assert got["balance"] == "15"
    other = _cosigned(log_key, [OTHER], 1_780_000_000)  # no listed witness's key
    got = _show(browser, base_url, other)
    assert got["state"] == "warn" and "现有 无" in got["witnesses"], got
    bare, _ = crafted_reply(log_key)
    assert _show(browser, base_url, bare)["state"] == "warn"


@pytest.mark.parametrize("line", [1, 2])
def test_tampered_cosignature_fails(
    browser: Browser, base_url: str, log_key: SignerKey, line: int
) -> None:
    """A cosignature by a listed witness that does not verify is an error, like a bad log
    signature, even when the quorum is otherwise met (3 of 3 signed, 2 needed)."""
    reply = _cosigned(log_key, [SHENJI, JUMIN, PINGGU], 1_780_000_000)
    reply["checkpoint"] = _flip_cosignature(reply["checkpoint"], line)
    got = _show(browser, base_url, reply)
    name = ["审计局", "居民监督委员会"][line - 1]
    assert got["state"] == "fail", got
    assert f"见证副署无效（{name}）" in got["title"], got
    assert got["witnesses_hidden"] == "True"


def test_page_without_policy_has_no_witness_line(browser: Browser, log_key: SignerKey) -> None:
    """Without a policy the meta tag is empty and the page verifies as before."""
    app = FastAPI()
    credits_page.mount(app)
    app.state.log_vkey = str(log_key.verifier())
    reply, _ = crafted_reply(log_key)

    @app.post("/v1/residents/lookup")
    def lookup() -> dict[str, Any]:
        return reply

    with serve(app) as base:
        page, errors = _open(browser, f"{base}/credits#code={CODE}")
        assert page.get_attribute('meta[name="gongxin-witness-policy"]', "content") == ""
        assert page.get_attribute("#mark", "class") == "mark ok"
        assert page.is_hidden("#witnesses") and errors == []
        page.close()


def test_js_agrees_with_python(browser: Browser, base_url: str, log_key: SignerKey) -> None:
    """cosign.js ``checkCosignatures`` and ``verifier.witness.policy.check_cosigned`` agree
    on every subset of signers, under four quorum shapes (any, 2 of 3, all, nested)."""
    page = browser.new_page()
    page.goto(f"{base_url}/credits")
    page.wait_for_function("() => self.GongxinCosign && self.GongxinVerify")
    reply, _ = crafted_reply(log_key)
    body = reply["checkpoint"].split("\n\n")[0].encode() + b"\n"
    ts = int(time.time())
    signers = [SHENJI, JUMIN, PINGGU]
    policies = [_policy("any 审计局 居民监督委员会"), _policy("2 审计局 居民监督委员会 评估机构")]
    policies.append(_policy("all 审计局 居民监督委员会 评估机构"))
    policies.append(
        parse_policy(
            "".join(f"witness w{i} {s.public}\n" for i, s in enumerate(signers))
            + "group a any w0 w1\ngroup b all a w2\nquorum b\n"
        )
    )
    for policy, n in itertools.product(policies, range(len(signers) + 1)):
        for chosen in itertools.combinations(signers, n):
            note = reply["checkpoint"] + "".join(s.cosign(body, ts) for s in chosen)
            expected: tuple[bool, list[str] | None]
            try:
                _, present = check_cosigned(note, log_key.verifier(), policy)
                expected = (True, [w.name for w in present])
            except VerificationError:
                expected = (False, None)
            got = page.evaluate(
                "([n, p]) => self.GongxinCosign.checkCosignatures(n, p)",
                [note, credits_page.policy_json(policy)],
            )
            assert got["met"] == expected[0], (policy.describe(), chosen)
            if expected[1] is not None:
                assert [s["name"] for s in got["signed"]] == expected[1]
            assert all(s["time"] == ts for s in got["signed"])
    page.close()


# --------------------------------------------------------------------------- live server


@pytest.fixture(scope="module")
def live_witnessed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``gongxin serve --witness-policy`` over a 300-entry demo log with enrolled residents,
    and two real ``gongxin witness serve`` processes (审计局, 居民监督委员会; quorum both)."""
    from ledger.demo.cast import DEMO_ORIGIN
    from tests.api_server import demo_template, live_server
    from tests.witness_procs import init_witness, running

    root = tmp_path_factory.mktemp("credits-witnessed")
    template = demo_template(root / "tpl", 300)
    vkey = template.log_vkey
    w1 = init_witness(root / "w1", "shenji.example/witness", DEMO_ORIGIN, vkey)
    w2 = init_witness(root / "w2", "jumin.example/witness", DEMO_ORIGIN, vkey)
    policy = root / "witnesses.policy"
    policy.write_text(
        f"log {vkey}\nwitness 审计局 {w1.key} {w1.url}\nwitness 居民监督委员会 {w2.key} {w2.url}\n"
        "group 全体 all 审计局 居民监督委员会\nquorum 全体\n",
        "utf-8",
    )
    with (
        running(w1),
        running(w2) as w2_proc,
        live_server(
            template,
            root / "server",
            "--witness-policy",
            str(policy),
            "--lookups-per-minute",
            "1000",
        ) as server,
    ):
        yield {"template": template, "server": server, "w2": w2_proc}


def _until_witnessed(http: Any) -> None:
    """Wait (≤ 30 s) until ``/v1/log/checkpoint`` says its quorum cosigned it."""
    deadline = time.monotonic() + 30
    while http.get("/v1/log/checkpoint").headers.get("Gongxin-Witnessed") != "true":
        assert time.monotonic() < deadline, "the latest checkpoint was not witnessed in 30 s"
        time.sleep(0.2)


def test_live_page_names_witnesses_then_warns(
    browser: Browser, live_witnessed: dict[str, Any]
) -> None:
    """Against the real server and witnesses: once both cosigned, the page names them; with
    居民监督委员会 stopped and a new entry appended, the same look-up warns 未获足够见证 and
    still shows the balance."""
    from ledger.demo.cast import DEMO_ORIGIN
    from ledger.signing.statements import sign_statement
    from tests.domain_bodies import fund_body

    template, server = live_witnessed["template"], live_witnessed["server"]
    who = max(template.residents(), key=lambda r: int(r["balance_points"]))
    url = f"{server.url}/credits#code={who['lookup_code']}"
    with server.client() as http:
        _until_witnessed(http)
        page, errors = _open(browser, url)
        assert page.get_attribute("#mark", "class") == "mark ok", page.text_content("#mark")
        text = page.text_content("#witnesses") or ""
        assert text.startswith("由 审计局、居民监督委员会 见证"), text
        assert page.text_content("#balance") == who["balance_points"] and errors == []
        page.close()
        live_witnessed["w2"].stop()
        finance = template.signer("finance_officer")
        sub = sign_statement("fund.appropriate", fund_body(1), finance, origin=DEMO_ORIGIN)
        r = http.post(
            "/v1/statements",
            content=sub.canonical(),
            headers={"content-type": "application/json", "Prefer": "wait=0"},
        )
        assert r.status_code == 201, r.text
    page, errors = _open(browser, url)
    assert page.get_attribute("#mark", "class") == "mark warn", page.text_content("#mark")
    assert "现有 " in (page.text_content("#witnesses") or "")
    assert page.text_content("#balance") == who["balance_points"] and errors == []
    page.close()
