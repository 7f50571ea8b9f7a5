"""The residents' page ``/credits``: whole lookup replies and the page's helpers, in a real
browser (Debian's Chromium via Playwright).

A ``/v1/residents/lookup`` reply (docs/API.md §5) is built in Python from a 12-entry log with
a signed checkpoint; ``verify.js`` ``verifyReply`` must accept it and name what failed in
every kind of tampering. ``credits.js``: forgiving code entry, fragment parsing and problem
messages. Chromium is never downloaded (``tests.browser``); without it these tests FAIL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from ledger.signing.keys import SignerKey
from ledger.signing.notes import sign_checkpoint
from tests import merkle_reference as ref
from tests.browser import chromium
from tests.credits_browser import ORIGIN, b64, open_unit_page
from tests.credits_browser import flip_b64_char as _flip_b64_char
from verifier.core.checkpoint import Checkpoint

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (``tests.browser``)."""
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def log_key() -> SignerKey:
    return SignerKey.generate(ORIGIN)


@pytest.fixture(scope="module")
def unit_page(browser: Browser, log_key: SignerKey) -> Iterator[Page]:
    """The page served by just the ``api.credits_page`` routes (``tests.credits_browser``)."""
    with open_unit_page(browser, str(log_key.verifier())) as p:
        yield p


# --------------------------------------------------------------------------- crafted replies


def _entry(index: int, kind: str, body: dict[str, Any]) -> str:
    """A log entry line of the FORMAT.md §4 shape (not signed: only its hash matters here)."""
    statement = {"body": body, "id": f"00000000-0000-7000-8000-{index:012d}", "kind": kind}
    obj = {"index": index, "log_time": "2026-03-14T02:00:00.000000Z", "prev": "0" * 64}
    obj |= {"signatures": [], "statement": statement}
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def crafted_reply(key: SignerKey) -> tuple[dict[str, Any], list[str]]:
    """A /v1/residents/lookup reply (docs/API.md §5) built from a 12-entry log in Python,
    with a signed checkpoint; also returns all entry lines (others' entries included)."""
    me, other = "a" * 32, "b" * 32
    lines = [_entry(i, "activity.register", {"activity_id": f"act-{i}"}) for i in range(12)]
    mine = {3: ("credit.award", 20), 5: ("credit.award", 10), 8: ("credit.redeem", -15)}
    for i, (kind, _) in mine.items():
        lines[i] = _entry(i, kind, {"resident_ref": me, "minutes": 60})
    lines[9] = _entry(9, "credit.award", {"resident_ref": other, "minutes": 60})
    data = [line.encode() for line in lines]
    cp = Checkpoint(ORIGIN, len(data), ref.mth(data))
    history, balance = [], 0
    for i, (kind, change) in mine.items():
        balance += change
        history.append(
            {
                "index": i,
                "kind": kind,
                "log_time": "2026-03-14T02:00:00.000000Z",
                "change_points": change,
                "balance_after": balance,
                "description": f"记录 {i}",
                "entry": lines[i],
                "leaf_hash": ref.leaf(data[i]).hex(),
                "inclusion_path": [b64(h) for h in ref.path(i, data)],
            }
        )
    reply = {
        "resident_ref": me,
        "balance_points": balance,
        "lots": [
            {"month": "2026-03", "community": "c-x", "points": 15, "expires_after": "2027-03-31"}
        ],
        "history": history,
        "tree_size": len(data),
        "checkpoint": sign_checkpoint(cp, key),
        "log_key": str(key.verifier()),
    }
    return reply, lines


def reply_tamperings(
    reply: dict[str, Any], lines: list[str]
) -> dict[str, tuple[dict[str, Any], str]]:
    """Altered copies of ``reply`` by label, each with a phrase the 验证失败 reason must hold."""

    def item_changed(k: int, **changes: Any) -> dict[str, Any]:
        history = [dict(h) for h in reply["history"]]
        history[k] |= changes
        return {**reply, "history": history}

    path0 = reply["history"][1]["inclusion_path"]
    other_leaf = ref.leaf(lines[9].encode()).hex()
    other_path = [b64(h) for h in ref.path(9, [line.encode() for line in lines])]
    cp = reply["checkpoint"]
    text, sigs = cp.split("\n\n")
    root_at = len(ORIGIN) + 5
    return {
        "proof char": (
            item_changed(1, inclusion_path=[_flip_b64_char(path0[0], 7), *path0[1:]]),
            "第 5 条记录的包含证明不成立",
        ),
        "proof dropped": (
            item_changed(1, inclusion_path=path0[:-1]),
            "第 5 条记录的包含证明不成立",
        ),
        "entry text": (
            item_changed(
                0, entry=reply["history"][0]["entry"].replace('"minutes":60', '"minutes":600')
            ),
            "第 3 条记录的内容与哈希不符",
        ),
        "entry and hash": (
            item_changed(
                0,
                entry=(e := reply["history"][0]["entry"].replace("60", "61")),
                leaf_hash=ref.leaf(e.encode()).hex(),
            ),
            "第 3 条记录的包含证明不成立",
        ),
        "index": (item_changed(2, index=7), "第 7 条记录的序号与账本原文不符"),
        "another resident": (
            item_changed(
                2,
                index=9,
                kind="credit.award",
                entry=lines[9],
                leaf_hash=other_leaf,
                inclusion_path=other_path,
            ),
            "第 9 条记录不属于本居民",
        ),
        "tree size": ({**reply, "tree_size": 13}, "账本大小与检查点不符"),
        "checkpoint root": ({**reply, "checkpoint": _flip_b64_char(cp, root_at)}, "检查点签名无效"),
        "checkpoint size": (
            {**reply, "checkpoint": cp.replace("\n12\n", "\n13\n")},
            "检查点签名无效",
        ),
        "signature": (
            {**reply, "checkpoint": text + "\n\n" + _flip_b64_char(sigs, len(ORIGIN) + 30)},
            "检查点签名无效",
        ),
        "balance": ({**reply, "balance_points": 99}, "余额与记录不符"),
        "balance after": (item_changed(1, balance_after=31), "余额与记录不符"),
        "lots": ({**reply, "lots": [{**reply["lots"][0], "points": 16}]}, "余额与记录不符"),
        "log key": (
            {**reply, "log_key": str(SignerKey.generate(ORIGIN).verifier())},
            "账本公钥与本页不符",
        ),
    }


def _js_verify_reply(page: Page, reply: Any, pinned: str, k: str = "") -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        "([r, p, k]) => self.GongxinVerify.verifyReply(r, p, k)", [reply, pinned, k]
    )
    return result


def test_verify_reply(unit_page: Page, log_key: SignerKey) -> None:
    """verifyReply accepts a genuine reply and names what failed in every tampered one."""
    reply, lines = crafted_reply(log_key)
    pinned = str(log_key.verifier())
    ok = _js_verify_reply(unit_page, reply, pinned)
    assert ok == {"ok": True, "keyIdHex": log_key.key_id_hex, "size": 12, "count": 3}
    assert _js_verify_reply(unit_page, reply, pinned, log_key.key_id_hex.upper())["ok"]
    wrong_k = _js_verify_reply(unit_page, reply, pinned, "00000000")
    assert not wrong_k["ok"] and "指纹" in wrong_k["zh"]
    assert not _js_verify_reply(unit_page, reply, "")["ok"]
    assert not _js_verify_reply(unit_page, None, pinned)["ok"]
    for label, (bad, reason) in reply_tamperings(reply, lines).items():
        got = _js_verify_reply(unit_page, bad, pinned)
        assert not got["ok"], label
        assert reason in got["zh"], (label, got)


def test_page_helpers(unit_page: Page) -> None:
    """credits.js: forgiving code entry, fragment parsing and problem messages."""
    got = unit_page.evaluate(
        """() => { const C = self.GongxinCredits;
          return [["abcd-efgh-jkmnp", " ab cd ef gh jk mn p ", "0ILO-1234-56789",
                   "ABCDEFGHJKMN", "ABCDEFGHJKMNU", "ABCD–EFGH–JKMNP", "ABCD-EFGH"]
                    .map(C.normalizeCode),
                  C.parseFragment("#code=abcd-efgh&k=0A1B2C3D"), C.parseFragment(""),
                  C.problemMessage(429, {title: "请求过于频繁"}, "42").zh,
                  C.problemMessage(422, {title: "标题", detail: "细节"}, null).zh,
                  ["abcd-efgh", "ABCD-EFGH-JKMNP", "abcdefg"].map(C.isRetiredCode),
                  C.problemMessage(404, {type: "urn:gongxin:problem:lookup.code_retired"}).zh,
                  C.problemMessage(404, {type: "urn:gongxin:problem:not_found"}).zh]; }"""
    )
    full = "ABCDEFGHJKMNP"
    assert got[0] == [full, full, "0110123456789", None, None, full, None]
    assert got[1] == {"code": "abcd-efgh", "keyId": "0A1B2C3D", "keyIdValid": True}
    assert got[2] == {"code": "", "keyId": "", "keyIdValid": True}
    assert "42 秒" in got[3]
    assert got[4] == "标题：细节"
    assert got[5] == [True, False, False]
    assert "13 位" in got[6] and "查询码不正确" in got[7]
