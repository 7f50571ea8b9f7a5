"""The committed receipt vector (``tests/vectors/receipt/``) checked by the residents' page's
JavaScript (``api/static/verify.js``) in a real browser (Debian's Chromium via Playwright).

The page verifies lookup replies (docs/API.md §5), whose history items are receipts without
``statement_id`` and ``duplicate``, sharing the reply's ``tree_size`` and ``checkpoint``. Each
vector file, read as is, becomes a one-record reply and goes through the page's
``verifyReply`` with the vector's log key pinned: the good receipt verifies, every broken one
fails with the page's reason for the rule ``expected.json`` names. Python checks the same
files in ``tests/test_receipt_vector.py``. Without Chromium these tests FAIL (``tests.browser``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.browser import chromium
from tests.credits_browser import open_unit_page

VECTOR = Path(__file__).resolve().parent / "vectors" / "receipt"

#: The page's reason (Chinese, as shown to residents) for each receipt rule in the vector.
PAGE_REASON = {
    "receipt.leaf_hash": "的内容与哈希不符",
    "receipt.inclusion": "的包含证明不成立",
    "receipt.checkpoint": "检查点没有本账本公钥的签名",
    "receipt.tree_size": "账本大小与检查点不符",
}


def log_vkey() -> str:
    return (VECTOR / "log.vkey").read_text("ascii").strip()


def expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTOR / "expected.json").read_text("utf-8"))
    return data


def as_lookup_reply(receipt: dict[str, Any]) -> dict[str, Any]:
    """A lookup reply whose only record is ``receipt`` (no points: the figures add up)."""
    item = {k: receipt[k] for k in ("index", "entry", "leaf_hash", "inclusion_path")}
    return {
        "resident_ref": "",
        "balance_points": 0,
        "lots": [],
        "history": [item | {"change_points": 0, "balance_after": 0}],
        "tree_size": receipt["tree_size"],
        "checkpoint": receipt["checkpoint"],
        "log_key": log_vkey(),
    }


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    browser: Browser
    with chromium() as browser, open_unit_page(browser, log_vkey()) as p:
        yield p


def js_verify(page: Page, name: str) -> dict[str, Any]:
    receipt = json.loads((VECTOR / name).read_text("utf-8"))
    result: dict[str, Any] = page.evaluate(
        "([r, k]) => self.GongxinVerify.verifyReply(r, k, '')",
        [as_lookup_reply(receipt), log_vkey()],
    )
    return result


def test_the_page_accepts_the_good_receipt(page: Page) -> None:
    got = js_verify(page, "receipt.json")
    key_id = log_vkey().split("+")[1]
    receipt = json.loads((VECTOR / "receipt.json").read_text("utf-8"))
    assert got == {"ok": True, "keyIdHex": key_id, "size": receipt["tree_size"], "count": 1}


@pytest.mark.parametrize("name", sorted(n for n, want in expected().items() if want))
def test_the_page_rejects_each_broken_receipt(page: Page, name: str) -> None:
    got = js_verify(page, name)
    assert not got["ok"], got
    assert PAGE_REASON[expected()[name]["rule"]] in got["zh"], got
