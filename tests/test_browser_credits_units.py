"""The residents' page ``/credits``: its JavaScript primitives in a real browser (Debian's
Chromium via Playwright).

The page's own ``api/static/sha256.js`` and ``verify.js`` run inside Chromium against known
answers and against the Python reference (``verifier``, ``tests.merkle_reference``): the
page's headers and assets, SHA-256 vectors, base64, the RFC 6962 inclusion vectors, proofs of
small and huge trees, signed notes and their altered variants. Whole lookup replies are
``tests/test_browser_credits_replies.py``; the page against the real server is
``tests/test_browser_credits_e2e.py``.

Chromium is never downloaded: ``scripts/setup`` installs Debian's ``chromium``. Without it
these tests FAIL (they are never skipped), so CI proves them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from ledger.proofs import inclusion_ranges
from ledger.signing.keys import SignerKey
from ledger.signing.notes import checkpoint_body, sign_checkpoint, sign_note
from tests import merkle_reference as ref
from tests.browser import chromium
from tests.conftest import shared_dir
from tests.credits_browser import ORIGIN, b64, open_unit_page
from tests.credits_browser import flip_b64_char as _flip_b64_char
from verifier.core.checkpoint import Checkpoint, open_checkpoint
from verifier.core.errors import VerificationError
from verifier.core.keys import parse_verifier_key
from verifier.core.merkle import root_from_inclusion, verify_inclusion
from verifier.core.note import open_note

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
        ("cosigned after", sign_note(checkpoint_body(cp), [key, other]), vkey),
        ("cosigned before", sign_note(checkpoint_body(cp), [other, key]), vkey),
        ("other key only", sign_note(checkpoint_body(cp), [other]), vkey),
        ("same-name twin only", sign_note(checkpoint_body(cp), [twin]), vkey),
        ("twin then key", sign_note(checkpoint_body(cp), [twin, key]), vkey),
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
