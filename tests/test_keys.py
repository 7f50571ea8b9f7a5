"""Tests of verifier.core.keys and ledger.signing.keys: Ed25519 keys, key names and key ids (FORMAT.md §1)."""

from __future__ import annotations

import base64
import copy
import pickle
from pathlib import Path
from typing import Any

import pytest

from ledger.signing.keys import SignerKey, parse_signer_key
from verifier.cli.files import load_verifier_key
from verifier.core.errors import InputError
from verifier.core.keys import (
    VerifierKey,
    check_key_name,
    compute_key_id,
    parse_verifier_key,
    verify_ed25519,
)

# --------------------------------------------------------------------------- vector


def test_vector_keys(vec: dict[str, Any], peter: VerifierKey) -> None:
    assert peter.name == "PeterNeumann"
    assert peter.key_id_hex == "c74f20a3"
    assert compute_key_id(peter.name, peter.public_key) == bytes.fromhex("c74f20a3")
    sk = parse_signer_key(vec["skey"])
    assert sk.name == "PeterNeumann"
    assert sk.key_id == peter.key_id
    assert sk.public_key == peter.public_key
    assert sk.verifier() == peter
    assert sk.private_key_string() == vec["skey"]


def test_vector_vkey_round_trip(vec: dict[str, Any]) -> None:
    for text in (vec["vkey"], vec["other_vkey"]):
        assert str(parse_verifier_key(text)) == text


def test_vector_base64_with_plus(vec: dict[str, Any], enoch: VerifierKey) -> None:
    # The vkey base64 of the vector keys has '/' and the signature of EnochRoot '+'; check a
    # vkey whose base64 part contains '+' too (split on the first two '+' only).
    assert "+" in vec["skey"].split("+", 4)[4]  # the skey's base64 has '+'
    for _ in range(200):
        key = SignerKey.generate("plus.example/k").verifier()
        encoded = str(key).split("+", 2)[2]
        if "+" in encoded:
            assert parse_verifier_key(str(key)) == key
            break
    else:  # pragma: no cover - probability ~ (3/4)^(44*200)
        pytest.fail("no key with '+' in its base64 generated")
    assert enoch.key_id_hex == "af0cfe78"


# --------------------------------------------------------------------------- keys


def test_key_id_depends_on_type_byte() -> None:
    pub = bytes(32)
    assert compute_key_id("a", pub) != compute_key_id("a", pub, 0x04)
    assert len(compute_key_id("a", pub)) == 4


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\tname", "nl\nx", "nbsp\u00a0x", "\x7f"])
def test_check_key_name_rejects(name: str) -> None:
    with pytest.raises(InputError):
        check_key_name(name)


@pytest.mark.parametrize("name", ["a", "example.com/log", "公信/志愿", "x-y_z:1"])
def test_check_key_name_accepts(name: str) -> None:
    check_key_name(name)


def test_signer_round_trip_and_secrecy() -> None:
    key = SignerKey.from_seed("example.com/log", bytes(range(32)))
    secret_b64 = key.private_key_string().split("+", 4)[4]
    assert secret_b64 not in repr(key)
    assert secret_b64 not in str(key)
    assert "SignerKey" in repr(key)
    again = parse_signer_key(key.private_key_string())
    assert again == key
    assert again.verifier() == key.verifier()
    assert parse_verifier_key(str(key.verifier())) == key.verifier()
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert copy.deepcopy(key) is key
    assert copy.copy(key) is key


def test_sign_and_verify_raw() -> None:
    key = SignerKey.generate("k")
    sig = key.sign(b"hello")
    assert len(sig) == 64
    assert key.verifier().verify(b"hello", sig)
    assert verify_ed25519(key.public_key, b"hello", sig)
    assert not verify_ed25519(key.public_key, b"hellO", sig)
    assert not verify_ed25519(key.public_key, b"hello", sig[:63])
    assert not verify_ed25519(key.public_key, b"hello", sig + b"\x00")
    assert not verify_ed25519(key.public_key[:31], b"hello", sig)
    assert not verify_ed25519(key.public_key, b"hello", bytes(64))


def _vkey(name: str, id_hex: str, payload: bytes) -> str:
    return f"{name}+{id_hex}+{base64.b64encode(payload).decode()}"


def test_parse_verifier_key_rejects(peter: VerifierKey) -> None:
    pub, kid, name = peter.public_key, peter.key_id_hex, peter.name
    good = str(peter)
    cases = [
        ("PeterNeumann", "form"),
        ("PeterNeumann+c74f20a3", "form"),
        (good.replace(kid, kid[:7]), "8 hex"),
        (good.replace(kid, kid[:7] + "z"), "8 hex"),
        (good[:-1], "base64"),  # bad padding
        (good[:-2] + "=", "base64"),  # wrong padding
        (good + "=", "base64"),
        (_vkey(name, kid, b"\x01" + pub)[:-1] + "V", "does not match"),  # another key
        (_vkey(name, kid, b"\x01" + pub[:31]), "expected 32"),
        (_vkey(name, kid, b"\x01" + pub + b"\x00"), "expected 32"),
        (_vkey(name, kid, b"\x02" + pub), "type 0x02"),
        (_vkey(name, kid, b""), "empty"),
        (good[:30] + " " + good[30:], "base64"),  # space inside the base64
        (good.replace(kid, "c74f20a4"), "does not match"),
        (good.replace(name, "PeterNewmann"), "does not match"),
        (" " + good, "whitespace"),
        (good + "\n", "whitespace"),
        ("+" + good.split("+", 1)[1], "empty"),
        ("a b+" + good.split("+", 1)[1], "whitespace"),
    ]
    # A one-byte payload whose base64 has stray bits ("AR==" vs canonical "AQ==").
    cases.append((f"{name}+{kid}+AR==", "canonical"))
    for text, needle in cases:
        with pytest.raises(InputError) as exc:
            parse_verifier_key(text)
        assert needle in str(exc.value), (text, str(exc.value))


def test_parse_verifier_key_uppercase_hex(peter: VerifierKey) -> None:
    text = f"{peter.name}+{peter.key_id_hex.upper()}+{str(peter).split('+', 2)[2]}"
    assert parse_verifier_key(text) == peter


def test_parse_signer_key_rejects_without_echo(vec: dict[str, Any]) -> None:
    skey: str = vec["skey"]
    secret = skey.split("+", 4)[4]
    bad = [
        skey.replace("PRIVATE", "PRIVATO", 1),
        skey.replace("c74f20a3", "c74f20a4"),
        skey.replace("PeterNeumann", "PeterNewmann"),
        skey[:-1],
        skey + "A",
        skey.replace("+AY", "+Ag"),
        "PRIVATE+KEY+" + secret,
        "PRIVATE+KEY+x+" + secret,
    ]
    for text in bad:
        with pytest.raises(InputError) as exc:
            parse_signer_key(text)
        message = str(exc.value)
        for fragment in (secret, secret[:12], secret[-12:], *secret.split("+")):
            assert fragment not in message, (text, message)


def test_verifier_key_construction_validates(peter: VerifierKey) -> None:
    with pytest.raises(InputError):
        VerifierKey(peter.name, b"\x00\x00\x00\x00", peter.public_key)
    with pytest.raises(InputError):
        VerifierKey(peter.name, peter.key_id, peter.public_key[:31])
    with pytest.raises(InputError):
        VerifierKey("a b", peter.key_id, peter.public_key)


def test_load_verifier_key(tmp_path: Path, vec: dict[str, Any], peter: VerifierKey) -> None:
    assert load_verifier_key(vec["vkey"]) == peter
    assert load_verifier_key(vec["vkey"] + "\n") == peter
    f = tmp_path / "peter.vkey"
    f.write_text(vec["vkey"] + "\n", encoding="utf-8")
    assert load_verifier_key(str(f)) == peter
    f.write_text("garbage\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_verifier_key(str(f))
    assert exc.value.field == str(f)
    with pytest.raises(InputError) as exc:
        load_verifier_key(str(tmp_path / "missing.vkey"))
    assert "no file" in str(exc.value)
    with pytest.raises(InputError) as exc:
        load_verifier_key(vec["skey"])
    assert vec["skey"].split("+", 4)[4] not in str(exc.value)
