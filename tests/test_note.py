"""Tests of verifier.core.note (and ledger.signing.notes): C2SP signed notes (FORMAT.md §6)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.signing.keys import SignerKey, parse_signer_key
from ledger.signing.notes import sign_note
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey, compute_key_id
from verifier.core.note import MAX_SIGNATURES, open_note


def _rule(exc: pytest.ExceptionInfo[VerificationError]) -> str:
    return exc.value.rule


# --------------------------------------------------------------------------- vector


def test_vector_sign_reproduces_signature(vec: dict[str, Any]) -> None:
    sk = parse_signer_key(vec["skey"])
    signed = sign_note(vec["text"], [sk])
    assert signed == vec["text"] + "\n" + vec["signatures"]["PeterNeumann"]
    assert vec["note"].startswith(vec["text"] + "\n" + vec["signatures"]["PeterNeumann"])


def test_vector_open_with_one_key(vec: dict[str, Any], peter: VerifierKey) -> None:
    opened = open_note(vec["note"], [peter])
    assert opened.text == vec["text"]
    assert opened.verified == [peter]
    assert opened.unverified_lines == [vec["signatures"]["EnochRoot"].rstrip("\n")]


def test_vector_open_with_both_keys(
    vec: dict[str, Any], peter: VerifierKey, enoch: VerifierKey
) -> None:
    opened = open_note(vec["note"].encode("utf-8"), [enoch, peter])
    assert opened.verified == [peter, enoch]  # signature-line order
    assert opened.unverified_lines == []


def test_vector_only_other_key(vec: dict[str, Any], enoch: VerifierKey) -> None:
    assert open_note(vec["note"], [enoch]).verified == [enoch]


def test_vector_tampered_text(vec: dict[str, Any], peter: VerifierKey) -> None:
    tampered = vec["note"].replace("cryptography", "cryptograph", 1)
    with pytest.raises(VerificationError) as exc:
        open_note(tampered, [peter])
    assert _rule(exc) == "note.signature"
    assert exc.value.key_id == "c74f20a3"


def test_vector_flipped_signature_byte(vec: dict[str, Any], peter: VerifierKey) -> None:
    line = vec["signatures"]["PeterNeumann"]
    b64 = line.rstrip("\n").split(" ")[2]
    raw = bytearray(base64.b64decode(b64))
    raw[10] ^= 0x01
    bad_line = line.replace(b64, base64.b64encode(bytes(raw)).decode())
    note = vec["note"].replace(line, bad_line)
    with pytest.raises(VerificationError) as exc:
        open_note(note, [peter])
    assert _rule(exc) == "note.signature"


def test_vector_wrong_name_key_is_unknown(vec: dict[str, Any], peter: VerifierKey) -> None:
    # Same public key under another name: different (name, key id), so ignored -> unsigned.
    other = VerifierKey(
        "PeterNewman", compute_key_id("PeterNewman", peter.public_key), peter.public_key
    )
    with pytest.raises(VerificationError) as exc:
        open_note(vec["note"], [other])
    assert _rule(exc) == "note.unsigned"


def test_vector_unknown_key_only(vec: dict[str, Any]) -> None:
    stranger = SignerKey.generate("stranger").verifier()
    with pytest.raises(VerificationError) as exc:
        open_note(vec["note"], [stranger])
    assert _rule(exc) == "note.unsigned"
    with pytest.raises(VerificationError) as exc:
        open_note(vec["note"], [])
    assert _rule(exc) == "note.unsigned"


def test_same_name_other_key_id_is_ignored(vec: dict[str, Any], peter: VerifierKey) -> None:
    # A known key sharing the name but not the key id with a signature must not be tried.
    impostor = SignerKey.generate("PeterNeumann").verifier()
    assert impostor.key_id != peter.key_id
    opened = open_note(vec["note"], [impostor, peter])
    assert opened.verified == [peter]


# --------------------------------------------------------------------------- notes


@pytest.fixture(scope="module")
def alice() -> SignerKey:
    return SignerKey.from_seed("alice.example", b"\x01" * 32)


@pytest.fixture(scope="module")
def bob() -> SignerKey:
    return SignerKey.from_seed("bob.example", b"\x02" * 32)


def test_sign_note_rejects_bad_text(alice: SignerKey) -> None:
    for text in ["no newline", "", "a\tb\n", "cr\r\n", "nul\x00\n", "lone \ud800\n"]:
        with pytest.raises(InputError):
            sign_note(text, [alice])
    with pytest.raises(InputError):
        sign_note("ok\n", [])
    with pytest.raises(InputError):
        sign_note("ok\n", [alice, alice])


def test_text_with_empty_lines_round_trips(alice: SignerKey, bob: SignerKey) -> None:
    text = "line one\n\nline three\n\n"
    note = sign_note(text, [alice, bob])
    opened = open_note(note, [alice.verifier(), bob.verifier()])
    assert opened.text == text
    assert [k.name for k in opened.verified] == ["alice.example", "bob.example"]


def test_duplicate_signature_lines(alice: SignerKey) -> None:
    note = sign_note("x\n", [alice])
    line = note.split("\n\n", 1)[1]
    doubled = note + line
    assert open_note(doubled, [alice.verifier()]).verified == [alice.verifier()]


def test_duplicate_known_keys_are_fine(alice: SignerKey) -> None:
    note = sign_note("x\n", [alice])
    assert open_note(note, [alice.verifier(), alice.verifier()]).verified == [alice.verifier()]


def _with_block(text: str, block: str) -> str:
    return text + "\n" + block


@pytest.mark.parametrize(
    "note",
    [
        "no separator\n— a AAAAAAA=\n",
        "text\n\n",  # empty signature block
        "text\n\n— a AAAAAAA=",  # no final newline
        "text\n\n- a AAAAAAA=\n",  # ASCII hyphen, not U+2014
        "text\n\n—a AAAAAAA=\n",  # no space after the dash
        "text\n\n— a\n",  # no signature
        "text\n\n— a \n",  # empty signature
        "text\n\n—  AAAAAAA=\n",  # empty name
        "text\n\n— a+b AAAAAAA=\n",  # '+' in name
        "text\n\n— a AAAA\n",  # 3 bytes < 5
        "text\n\n— a AAAAAA=\n",  # bad padding
        "text\n\n— a AAAAAAA\n",  # missing padding
        "text\n\n— a AAAA AAA=\n",  # space inside base64
        "text\n\n— a AAAAAAA=\n\n",  # trailing empty line
        "te\txt\n\n— a AAAAAAA=\n",  # control character
        "text\r\n\n— a AAAAAAA=\n",  # CR
    ],
)
def test_open_note_malformed(note: str, alice: SignerKey) -> None:
    with pytest.raises(VerificationError) as exc:
        open_note(note, [alice.verifier()])
    assert _rule(exc) == "note.malformed"
    assert exc.value.detail


def test_open_note_invalid_utf8(alice: SignerKey) -> None:
    raw = sign_note("x\n", [alice]).encode("utf-8")
    with pytest.raises(VerificationError) as exc:
        open_note(b"\xff" + raw, [alice.verifier()])
    assert _rule(exc) == "note.malformed"


def test_open_note_too_many_signatures(alice: SignerKey) -> None:
    note = sign_note("x\n", [alice])
    text, block = note.split("\n\n", 1)
    filler = "".join(
        f"— other{i} {base64.b64encode(bytes(68)).decode()}\n" for i in range(MAX_SIGNATURES)
    )
    with pytest.raises(VerificationError) as exc:
        open_note(text + "\n\n" + block + filler, [alice.verifier()])
    assert _rule(exc) == "note.malformed"
    ok_filler = filler.split("\n", MAX_SIGNATURES - 1)
    just_enough = "\n".join(ok_filler[:-1]) + "\n"
    assert just_enough.count("\n") == MAX_SIGNATURES - 1
    opened = open_note(text + "\n\n" + block + just_enough, [alice.verifier()])
    assert opened.verified == [alice.verifier()]


def test_known_key_bad_signature_length(alice: SignerKey) -> None:
    blob = base64.b64encode(alice.key_id + bytes(10)).decode()
    with pytest.raises(VerificationError) as exc:
        open_note(f"x\n\n— {alice.name} {blob}\n", [alice.verifier()])
    assert _rule(exc) == "note.signature"


def test_failing_known_signature_rejects_even_with_a_good_one(
    alice: SignerKey, bob: SignerKey
) -> None:
    good = sign_note("x\n", [alice])
    bad_bob = sign_note("y\n", [bob]).split("\n\n", 1)[1]
    with pytest.raises(VerificationError) as exc:
        open_note(good + bad_bob, [alice.verifier(), bob.verifier()])
    assert _rule(exc) == "note.signature"
    # ...but is ignored when bob is unknown.
    assert open_note(good + bad_bob, [alice.verifier()]).verified == [alice.verifier()]


def test_ambiguous_known_keys(alice: SignerKey) -> None:
    # Two different keys with the same (name, key id) can only be built by bypassing
    # validation; the check guards open_note against a corrupted key list.
    fake = object.__new__(VerifierKey)
    object.__setattr__(fake, "name", alice.name)
    object.__setattr__(fake, "key_id", alice.key_id)
    object.__setattr__(fake, "public_key", bytes(32))
    with pytest.raises(InputError):
        open_note(sign_note("x\n", [alice]), [alice.verifier(), fake])


_note_chars = st.characters(
    blacklist_categories=["Cs"], blacklist_characters=[chr(c) for c in range(32) if c != 10]
)


@settings(max_examples=150, deadline=None)
@given(body=st.text(_note_chars, max_size=200))
def test_sign_open_round_trip_property(body: str) -> None:
    key = SignerKey.from_seed("prop.example", b"\x07" * 32)
    text = body + "\n"
    note = sign_note(text, [key])
    opened = open_note(note, [key.verifier()])
    assert opened.text == text
    assert opened.verified == [key.verifier()]
    assert open_note(note.encode("utf-8"), [key.verifier()]).text == text
