"""The residents' page ``/credits`` against the real server, in a real browser (Debian's
Chromium via Playwright).

Starts ``gongxin serve`` on loopback over a demo database with enrolled residents, opens the
page, checks it shows the balance and 已验证, then alters the reply in flight
(``page.route``) and checks it shows 验证失败 naming the fault; a typed code, an unknown code
and the look-up throttle. Chromium is never downloaded (``tests.browser``); without it these
tests FAIL (they are never skipped), so CI proves them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.api_server import DemoTemplate, LiveServer, demo_template, live_server
from tests.browser import chromium
from tests.credits_browser import flip_b64_char as _flip_b64_char

SCREENSHOT = Path("/tmp/credits.png")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (``tests.browser``)."""
    with chromium() as b:
        yield b


# --------------------------------------------------------------------------- (b) end to end

LOOKUP = "**/v1/residents/lookup"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoTemplate:
    """A 500-entry demo log with enrolled residents (built once per module)."""
    return demo_template(tmp_path_factory.mktemp("credits-demo"), 500)


@pytest.fixture(scope="module")
def live(demo: DemoTemplate, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``gongxin serve`` on loopback with a generous look-up limit."""
    with live_server(
        demo, tmp_path_factory.mktemp("credits-live"), "--lookups-per-minute", "1000"
    ) as s:
        yield s


def _resident(demo: DemoTemplate) -> dict[str, str]:
    """The demo resident with the highest balance."""
    return max(demo.residents(), key=lambda r: int(r["balance_points"]))


def _open(browser: Browser, url: str) -> tuple[Page, list[str]]:
    """A phone-sized page (390×844) at ``url``, with a list collecting console errors."""
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    return page, errors


def _wait_mark(page: Page) -> tuple[str, str]:
    """Wait until the mark is decided; return (state, title)."""
    page.wait_for_selector("#mark.ok, #mark.fail", timeout=15000)
    state = "ok" if page.locator("#mark.ok").count() else "fail"
    return state, page.text_content("#mark-title") or ""


def test_e2e_verified(browser: Browser, live: LiveServer, demo: DemoTemplate) -> None:
    """From the QR-code URL (lower case, hyphen, key id): the right balance and 已验证,
    checked against the real server's reply; no request leaves the server's origin; the
    phone screenshot is written to /tmp/credits.png."""
    who = _resident(demo)
    code = who["lookup_code"].lower()
    key_id = demo.log_vkey.split("+")[1]
    requests: list[str] = []
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page.on("request", lambda r: requests.append(r.url))
    with page.expect_response(LOOKUP) as response:
        page.goto(f"{live.url}/credits#code={code[:4]}-{code[4:]}&k={key_id}")
    reply = response.value.json()
    state, title = _wait_mark(page)
    assert state == "ok", (title, page.text_content("#mark-detail"))
    assert title.startswith("已验证")
    assert reply["resident_ref"] == who["resident_ref"] and reply["balance_points"] > 0
    assert page.text_content("#balance") == str(reply["balance_points"])
    assert page.text_content("#keyid") == key_id
    assert page.locator("#history li").count() == len(reply["history"]) > 0
    assert page.locator("#lots tbody tr").count() == len(reply["lots"])
    assert all(u.startswith(live.url + "/") for u in requests), requests
    assert code not in " ".join(requests).lower()  # the code never travels in a URL
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.close()


def _flip_proof(reply: dict[str, Any]) -> None:
    path = reply["history"][-1]["inclusion_path"]
    path[0] = _flip_b64_char(path[0], 10)


def _change_entry(reply: dict[str, Any]) -> None:
    item = reply["history"][-1]
    before = item["entry"]
    item["entry"] = before.replace('"minutes":', '"minutes":1', 1)
    assert item["entry"] != before


def _alter_root(reply: dict[str, Any]) -> None:
    lines = reply["checkpoint"].split("\n")
    lines[2] = _flip_b64_char(lines[2], 5)
    reply["checkpoint"] = "\n".join(lines)


def _corrupt_signature(reply: dict[str, Any]) -> None:
    text, sigs = reply["checkpoint"].split("\n\n")
    reply["checkpoint"] = text + "\n\n" + _flip_b64_char(sigs, len(sigs) - 20)


def _inflate_balance(reply: dict[str, Any]) -> None:
    reply["balance_points"] += 100


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (_flip_proof, "包含证明不成立"),
        (_change_entry, "内容与哈希不符"),
        (_alter_root, "检查点签名无效"),
        (_corrupt_signature, "检查点签名无效"),
        (_inflate_balance, "余额与记录不符"),
    ],
    ids=["proof", "entry", "root", "signature", "balance"],
)
def test_e2e_tampered_reply_fails(
    browser: Browser, live: LiveServer, demo: DemoTemplate, tamper: Any, reason: str
) -> None:
    """The real server's reply, altered in flight, turns the mark red and names the fault."""
    page = browser.new_page(viewport={"width": 390, "height": 844})

    def alter(route: Any) -> None:
        response = route.fetch()
        reply = response.json()
        tamper(reply)
        route.fulfill(response=response, json=reply)

    page.route(LOOKUP, alter)
    page.goto(f"{live.url}/credits#code={_resident(demo)['lookup_code']}")
    state, title = _wait_mark(page)
    assert state == "fail" and title.startswith("验证失败"), title
    assert reason in title
    assert "已验证" not in (page.text_content("#result") or "")
    page.close()


def test_e2e_typed_code_and_unknown_code(
    browser: Browser, live: LiveServer, demo: DemoTemplate
) -> None:
    """A code typed with spaces in lower case works; an unknown code shows the API's message
    and no result; a malformed one is refused without a request."""
    page, errors = _open(browser, f"{live.url}/credits")
    assert page.is_hidden("#result")
    code = _resident(demo)["lookup_code"].lower()
    page.fill("#code", f" {code[:4]} {code[4:]} ")
    page.click("#submit")
    assert _wait_mark(page)[0] == "ok"
    page.fill("#code", "ZZZZ-ZZZZ-ZZZZZ" if code != "zzzz-zzzz-zzzzz" else "YYYY-YYYY-YYYYY")
    page.click("#submit")
    page.wait_for_selector("#message:not([hidden])")
    assert "查询码不正确" in (page.text_content("#message") or "")
    assert page.is_hidden("#result")
    page.fill("#code", "abc")
    page.click("#submit")
    assert "13 位" in (page.text_content("#message") or "")
    page.fill("#code", "abcd-1234")  # an old 8-character code: retired, said so, no request
    page.click("#submit")
    assert "停用的 8 位旧查询码" in (page.text_content("#message") or "")
    assert all("404" in e for e in errors), errors  # only the unknown code's reply
    page.close()


def test_e2e_code_leaves_the_address_bar_and_history(
    browser: Browser, live: LiveServer, demo: DemoTemplate
) -> None:
    """Opened from a QR code (``#code=…&k=…``), the page reads the code, then replaces the
    URL (no new history entry) with one holding only the key id: the code is neither in the
    address bar nor in any history entry, and the look-up still verifies. The reply is
    ``Cache-Control: no-store``."""
    code = _resident(demo)["lookup_code"]
    key_id = demo.log_vkey.split("+")[1]
    page = browser.new_page()
    page.goto(f"{live.url}/healthz")  # a first history entry, to go back to
    with page.expect_response(LOOKUP) as response:
        page.goto(f"{live.url}/credits#code={code}&k={key_id}")
    assert response.value.headers["cache-control"] == "no-store"
    assert _wait_mark(page)[0] == "ok"
    assert page.url == f"{live.url}/credits#k={key_id}"
    assert page.evaluate("location.href").endswith(f"#k={key_id}")
    assert page.evaluate("history.length") == 3  # about:blank, /healthz, this: replaced
    assert page.input_value("#code") == code  # still there to look up again
    page.go_back()
    assert page.url == f"{live.url}/healthz"
    page.go_forward()
    assert page.url == f"{live.url}/credits#k={key_id}"
    page.close()


def test_e2e_rate_limited(browser: Browser, demo: DemoTemplate, tmp_path: Path) -> None:
    """With one look-up a minute, the second look-up tells the resident to wait."""
    with live_server(demo, tmp_path / "limited", "--lookups-per-minute", "1") as server:
        page, _ = _open(browser, f"{server.url}/credits#code={_resident(demo)['lookup_code']}")
        assert _wait_mark(page)[0] == "ok"
        page.click("#submit")
        page.wait_for_selector("#message:not([hidden])")
        assert "请等待" in (page.text_content("#message") or "")
        page.close()
