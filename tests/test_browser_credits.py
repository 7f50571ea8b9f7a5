"""The residents' page ``/credits`` in a real browser (Debian's Chromium via Playwright).

Part (a) runs the page's own JavaScript (``api/static/sha256.js``, ``verify.js``) inside
Chromium against known answers and against the Python reference (``verifier``,
``tests.merkle_reference``): SHA-256 vectors, base64, the RFC 6962 inclusion vectors,
proofs of small and huge trees, signed notes and their altered variants, and whole lookup
replies with every kind of tampering. Part (b) starts the real server (uvicorn on loopback,
a demo database with an enrolled resident), opens the page, checks it shows the balance and
已验证, then alters the reply in flight (``page.route``) and checks it shows 验证失败.

Chromium is never downloaded: ``scripts/setup`` installs Debian's ``chromium``. Without it
these tests FAIL (they are never skipped), so CI proves them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page

from api import credits_page
from ledger.proofs import inclusion_ranges
from ledger.signing.keys import SignerKey
from ledger.signing.notes import sign_checkpoint, sign_note
from tests import merkle_reference as ref
from tests.api_server import DemoTemplate, LiveServer, demo_template, live_server
from tests.browser import chromium
from tests.conftest import shared_dir
from verifier.core.checkpoint import Checkpoint, open_checkpoint
from verifier.core.errors import VerificationError
from verifier.core.keys import parse_verifier_key
from verifier.core.merkle import root_from_inclusion, verify_inclusion
from verifier.core.note import open_note

ORIGIN = "gongxin.test/credits"
SCREENSHOT = Path("/tmp/credits.png")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (``tests.browser``)."""
    with chromium() as b:
        yield b


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port in a thread; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def log_key() -> SignerKey:
    return SignerKey.generate(ORIGIN)


@pytest.fixture(scope="module")
def unit_page(browser: Browser, log_key: SignerKey) -> Iterator[Page]:
    """The page served by just the ``api.credits_page`` routes, for the JS unit checks."""
    app = FastAPI()
    credits_page.mount(app)
    app.state.log_vkey = str(log_key.verifier())
    with serve(app) as base:
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/credits")
        page.wait_for_function("() => self.GongxinVerify && self.nacl && self.GongxinCredits")
        assert errors == [], f"console errors (CSP?) loading the page: {errors}"
        yield page
        page.close()


# --------------------------------------------------------------------------- (a) JS units


def test_page_headers_and_assets(unit_page: Page, log_key: SignerKey) -> None:
    """The page carries the pinned key, a strict CSP, and loads only same-origin assets."""
    base = unit_page.url.rsplit("/credits", 1)[0]
    resp = unit_page.request.get(f"{base}/credits")
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert resp.headers["content-security-policy"].startswith("default-src 'self'")
    assert resp.headers["cache-control"] == "no-cache"
    meta = unit_page.get_attribute('meta[name="gongxin-log-key"]', "content")
    assert meta == str(log_key.verifier())
    assert unit_page.text_content("#keyid") == log_key.key_id_hex
    assert unit_page.request.get(f"{base}/credits/static/../credits_page.py").status == 404
    js = unit_page.request.get(f"{base}/credits/static/verify.js")
    assert js.ok and js.headers["content-type"].startswith("text/javascript")
    urls = unit_page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith(base + "/credits/static/") for u in urls), urls
    names = {u.split("/credits/static/")[1].split("?")[0] for u in urls}
    assert names >= {
        "credits.css",
        "sha256.js",
        "vendor/nacl-fast.min.js",
        "verify.js",
        "credits.js",
    }


def test_sha256(unit_page: Page) -> None:
    """sha256.js: FIPS 180-4 vectors, the million-'a' message, and random lengths vs hashlib."""
    known = unit_page.evaluate(
        """() => {
          const H = self.GongxinSHA256, enc = s => new TextEncoder().encode(s);
          return [H.hex(enc("")), H.hex(enc("abc")),
                  H.hex(enc("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
                  H.hex(new Uint8Array(1000000).fill(97))];
        }"""
    )
    assert known == [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    ]
    rng = random.Random(1)
    msgs = [rng.randbytes(n) for n in [*range(0, 140), 1000, 4096, 65537]]
    got = unit_page.evaluate(
        "ms => ms.map(m => self.GongxinSHA256.hex(new Uint8Array(m)))", [list(m) for m in msgs]
    )
    assert got == [hashlib.sha256(m).hexdigest() for m in msgs]


def test_base64(unit_page: Page) -> None:
    """verify.js base64: round trips with Python; malformed text (bad padding, alphabet,
    whitespace, URL-safe) is refused."""
    rng = random.Random(2)
    blobs = [rng.randbytes(n) for n in range(0, 70)]
    got = unit_page.evaluate(
        """ss => ss.map(s => { const b = self.GongxinVerify.b64decode(s);
                               return b && self.GongxinVerify.b64encode(b); })""",
        [b64(b) for b in blobs],
    )
    assert got == [b64(b) for b in blobs]
    bad = ["A", "AB", "ABC", "AB=C", "A===", "AB C", "AB-_", "ABC\n", "=AAA", "AA==AA=="]
    refused = unit_page.evaluate("ss => ss.map(s => self.GongxinVerify.b64decode(s))", bad)
    assert refused == [None] * len(bad)


def _js_inclusion(page: Page, cases: list[dict[str, Any]]) -> list[str | None]:
    """Run verify.js verifyInclusion on each case; None when it verifies, else the reason."""
    result: list[str | None] = page.evaluate(
        """cs => cs.map(c => {
          const V = self.GongxinVerify, d = s => V.b64decode(s) || new Uint8Array(0);
          try { V.verifyInclusion(d(c.leaf), c.index, c.size, (c.proof || []).map(d), d(c.root));
                return null; }
          catch (e) { if (!(e instanceof V.VerifyError)) throw e; return e.en; }
        })""",
        cases,
    )
    return result


def _py_inclusion(c: dict[str, Any]) -> bool:
    """Whether verifier.merkle accepts the case (the Python reference)."""
    dec = base64.b64decode
    try:
        verify_inclusion(
            dec(c["leaf"]),
            c["index"],
            c["size"],
            [dec(p) for p in c["proof"] or []],
            dec(c["root"]),
        )
    except VerificationError:
        return False
    return True


def test_inclusion_rfc6962_vectors(unit_page: Page) -> None:
    """verify.js agrees with every transparency-dev RFC 6962 inclusion vector."""
    vector_dir = shared_dir() / "vectors" / "rfc6962" / "inclusion"
    files = sorted(vector_dir.rglob("*.json"))
    assert len(files) >= 90, f"inclusion vectors missing at {vector_dir}"
    vectors = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    cases = [
        {
            "leaf": v["leafHash"],
            "index": v["leafIdx"],
            "size": v["treeSize"],
            "proof": v.get("proof"),
            "root": v["root"],
        }
        for v in vectors
    ]
    got = _js_inclusion(unit_page, cases)
    wrong = [
        (f.relative_to(vector_dir).as_posix(), r)
        for f, v, r in zip(files, vectors, got, strict=True)
        if (r is None) == bool(v.get("wantErr"))
    ]
    assert wrong == []


def _mutations(c: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    """Altered copies of an inclusion case: flipped proof byte, wrong index, wrong size,
    dropped and extra proof elements, another leaf."""
    out = []
    if c["proof"]:
        proof = [bytearray(base64.b64decode(p)) for p in c["proof"]]
        k = rng.randrange(len(proof))
        proof[k][rng.randrange(32)] ^= 1 << rng.randrange(8)
        out.append({**c, "proof": [b64(bytes(p)) for p in proof]})
        out.append({**c, "proof": c["proof"][:-1]})
    out.append({**c, "proof": [*c["proof"], b64(bytes(32))]})
    out.append({**c, "index": c["index"] ^ 1})
    out.append({**c, "size": c["size"] + 1})
    out.append({**c, "leaf": b64(ref.leaf(b"another"))})
    return out


def test_inclusion_against_reference(unit_page: Page) -> None:
    """Every leaf of trees of 1..40 leaves (RFC 9162 PATH from tests.merkle_reference)
    verifies in verify.js, and every altered proof gets the same verdict as verifier.merkle."""
    rng = random.Random(3)
    good: list[dict[str, Any]] = []
    for n in range(1, 41):
        data = [f"leaf {i} of {n}".encode() for i in range(n)]
        root = ref.mth(data)
        for m in range(n):
            good.append(
                {
                    "leaf": b64(ref.leaf(data[m])),
                    "index": m,
                    "size": n,
                    "proof": [b64(h) for h in ref.path(m, data)],
                    "root": b64(root),
                }
            )
    assert _js_inclusion(unit_page, good) == [None] * len(good)
    altered = [m for c in good for m in _mutations(c, rng)]
    expected = [_py_inclusion(c) for c in altered]
    # Most alterations fail; a grown size may legitimately keep the same path and root.
    assert sum(expected) < len(altered) // 2
    got = [r is None for r in _js_inclusion(unit_page, altered)]
    assert got == expected


def test_inclusion_huge_trees(unit_page: Page) -> None:
    """Indices and sizes far above 2^32 (no 32-bit bit operations): the root Python computes
    from a random path verifies in verify.js; one flipped bit does not."""
    rng = random.Random(4)
    cases = []
    for size, index in [(2**40 + 5, 2**40 + 3), (2**45, 2**44 + 12345), (2**52 + 1, 2**52)]:
        leaf = rng.randbytes(32)
        proof = [rng.randbytes(32) for _ in inclusion_ranges(index, size)]
        root = root_from_inclusion(leaf, index, size, proof)
        case = {"leaf": b64(leaf), "index": index, "size": size, "root": b64(root)}
        cases.append({**case, "proof": [b64(p) for p in proof]})
        bad = [*proof]
        bad[-1] = bytes([bad[-1][0] ^ 1]) + bad[-1][1:]
        cases.append({**case, "proof": [b64(p) for p in bad]})
    assert [r is None for r in _js_inclusion(unit_page, cases)] == [True, False] * 3


def _flip_b64_char(text: str, pos: int) -> str:
    """``text`` with the base64 character at ``pos`` replaced by another one."""
    return text[:pos] + ("B" if text[pos] == "A" else "A") + text[pos + 1 :]


def _note_variants(key: SignerKey) -> list[tuple[str, str, str]]:
    """(label, signed note, verifier key string) for a genuine checkpoint and alterations."""
    vkey = str(key.verifier())
    other = SignerKey.generate("witness.test")
    twin = SignerKey.generate(ORIGIN)  # same name, other key id: its lines are ignored
    cp = Checkpoint(ORIGIN, 77, hashlib.sha256(b"root").digest())
    note = sign_checkpoint(cp, key)
    text, sig_line = note.split("\n\n")
    b64_start = len(f"— {ORIGIN} ")
    short_sig = f"— {ORIGIN} {b64(key.key_id + b'x' * 10)}\n"
    return [
        ("genuine", note, vkey),
        ("size", note.replace("\n77\n", "\n78\n", 1), vkey),
        ("root", _flip_b64_char(note, len(ORIGIN) + 5), vkey),
        ("origin", note.replace(ORIGIN, ORIGIN + "x", 1), vkey),
        ("signature", _flip_b64_char(note, len(text) + 2 + b64_start + 20), vkey),
        ("key id", _flip_b64_char(note, len(text) + 2 + b64_start + 1), vkey),
        ("cosigned after", sign_note(cp.body(), [key, other]), vkey),
        ("cosigned before", sign_note(cp.body(), [other, key]), vkey),
        ("other key only", sign_note(cp.body(), [other]), vkey),
        ("same-name twin only", sign_note(cp.body(), [twin]), vkey),
        ("twin then key", sign_note(cp.body(), [twin, key]), vkey),
        ("short signature", text + "\n\n" + short_sig, vkey),
        ("no blank line", text + sig_line, vkey),
        ("no final newline", note[:-1], vkey),
        ("CRLF", note.replace("\n", "\r\n"), vkey),
        ("trailing text", note + "x\n", vkey),
        ("other pinned key", note, str(other.verifier())),
    ]


def test_checkpoint_notes(unit_page: Page, log_key: SignerKey) -> None:
    """verify.js openCheckpoint gives the same verdict as verifier.checkpoint.open_checkpoint
    on a checkpoint signed in Python and on every altered variant; the genuine one parses
    to the right origin, size and root."""
    variants = _note_variants(log_key)
    expected = []
    for _, note, vkey in variants:
        try:
            open_checkpoint(note, parse_verifier_key(vkey))
            expected.append(True)
        except VerificationError:
            expected.append(False)
    got = unit_page.evaluate(
        """vs => vs.map(([label, note, vkey]) => {
          const V = self.GongxinVerify;
          try { const cp = V.openCheckpoint(note, V.parseVerifierKey(vkey));
                return [cp.origin, cp.size, V.b64encode(cp.root)]; }
          catch (e) { if (!(e instanceof V.VerifyError)) throw e; return null; }
        })""",
        [list(v) for v in variants],
    )
    labels = [v[0] for v in variants]
    assert dict(zip(labels, [g is not None for g in got], strict=True)) == dict(
        zip(labels, expected, strict=True)
    )
    assert expected.count(True) == 4  # genuine, both cosigned orders, twin then key
    assert got[0] == [ORIGIN, 77, b64(hashlib.sha256(b"root").digest())]


def test_go_signed_note_vector(unit_page: Page) -> None:
    """The C2SP/Go signed-note vector opens with either known key, not with a stranger's."""
    vec = json.loads((shared_dir() / "vectors" / "signed-note.json").read_text("utf-8"))
    assert open_note(vec["note"], [parse_verifier_key(vec["vkey"])]).text == vec["text"]
    got = unit_page.evaluate(
        """([note, keys]) => keys.map(k => { const V = self.GongxinVerify;
             try { return V.openNote(note, V.parseVerifierKey(k)); } catch (e) { return null; } })""",
        [vec["note"], [vec["vkey"], vec["other_vkey"], str(SignerKey.generate("x").verifier())]],
    )
    assert got == [vec["text"], vec["text"], None]


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
          return [["abcd-efgh", " ab cd ef gh ", "0ILO-1234", "ABCDEFG", "ABCDEFGU", "ABCD–EFGH"]
                    .map(C.normalizeCode),
                  C.parseFragment("#code=abcd-efgh&k=0A1B2C3D"), C.parseFragment(""),
                  C.problemMessage(429, {title: "请求过于频繁"}, "42").zh,
                  C.problemMessage(422, {title: "标题", detail: "细节"}, null).zh]; }"""
    )
    assert got[0] == ["ABCDEFGH", "ABCDEFGH", "0110-1234".replace("-", ""), None, None, "ABCDEFGH"]
    assert got[1] == {"code": "abcd-efgh", "keyId": "0A1B2C3D", "keyIdValid": True}
    assert got[2] == {"code": "", "keyId": "", "keyIdValid": True}
    assert "42 秒" in got[3]
    assert got[4] == "标题：细节"


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
    page.fill("#code", "ZZZZ-ZZZZ" if code != "zzzzzzzz" else "YYYY-YYYY")
    page.click("#submit")
    page.wait_for_selector("#message:not([hidden])")
    assert "查询码不正确" in (page.text_content("#message") or "")
    assert page.is_hidden("#result")
    page.fill("#code", "abc")
    page.click("#submit")
    assert "8 位" in (page.text_content("#message") or "")
    assert all("404" in e for e in errors), errors  # only the unknown code's reply
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
