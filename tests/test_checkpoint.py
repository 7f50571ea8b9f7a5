"""Tests of verifier.core.checkpoint: C2SP tlog-checkpoint (FORMAT.md §6)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.signing.keys import SignerKey
from ledger.signing.notes import checkpoint_body, sign_checkpoint, sign_note
from verifier.core.checkpoint import (
    EMPTY_ROOT,
    MAX_TREE_SIZE,
    Checkpoint,
    open_checkpoint,
    parse_checkpoint_body,
)
from verifier.core.errors import InputError, VerificationError
from verifier.core.note import open_note

ORIGIN = "gongxin.example/log1"
ROOT = hashlib.sha256(b"root").digest()
ROOT_B64 = base64.b64encode(ROOT).decode()
# Same 32 bytes, but with a non-zero value in the 2 unused bits of the last character.
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_STRAY_BITS_B64 = ROOT_B64[:-2] + _ALPHABET[_ALPHABET.index(ROOT_B64[-2]) + 1] + "="


@pytest.fixture(scope="module")
def log_key() -> SignerKey:
    return SignerKey.from_seed(ORIGIN, b"\x11" * 32)


@pytest.fixture(scope="module")
def witness_key() -> SignerKey:
    return SignerKey.from_seed("witness.example/w1", b"\x22" * 32)


def test_body_format() -> None:
    cp = Checkpoint(ORIGIN, 20852163, ROOT)
    assert checkpoint_body(cp) == f"{ORIGIN}\n20852163\n{ROOT_B64}\n"
    ext = Checkpoint(ORIGIN, 1, ROOT, ("ext one", "ext two"))
    assert checkpoint_body(ext) == f"{ORIGIN}\n1\n{ROOT_B64}\next one\next two\n"


def test_empty_tree() -> None:
    cp = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    assert cp.size == 0
    assert cp.root == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert checkpoint_body(cp) == f"{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    assert parse_checkpoint_body(checkpoint_body(cp)) == cp


def test_c2sp_example_body_parses() -> None:
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    cp = parse_checkpoint_body(body)
    assert (cp.origin, cp.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint_body(cp) == body


def test_sign_open_round_trip(log_key: SignerKey) -> None:
    for cp in (
        Checkpoint(ORIGIN, 5, ROOT),
        Checkpoint(ORIGIN, 0, EMPTY_ROOT),
        Checkpoint(ORIGIN, MAX_TREE_SIZE, ROOT, ("x",)),
    ):
        note = sign_checkpoint(cp, log_key)
        assert note.startswith(checkpoint_body(cp) + "\n— " + ORIGIN + " ")
        assert open_checkpoint(note, log_key.verifier()) == cp
        assert open_checkpoint(note.encode(), log_key.verifier()) == cp


def test_cosignatures_are_ignored(log_key: SignerKey, witness_key: SignerKey) -> None:
    cp = Checkpoint(ORIGIN, 7, ROOT)
    note = sign_note(checkpoint_body(cp), [log_key, witness_key])
    assert open_checkpoint(note, log_key.verifier()) == cp


def test_signature_by_another_key_rejected(log_key: SignerKey) -> None:
    cp = Checkpoint(ORIGIN, 7, ROOT)
    # Same name, different key: the signature's key id is unknown -> unsigned.
    other = SignerKey.from_seed(ORIGIN, b"\x33" * 32)
    note = sign_checkpoint(cp, other)
    with pytest.raises(VerificationError) as exc:
        open_checkpoint(note, log_key.verifier())
    assert exc.value.rule == "note.unsigned"


def test_tampered_checkpoint_rejected(log_key: SignerKey) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), log_key)
    with pytest.raises(VerificationError) as exc:
        open_checkpoint(note.replace("\n7\n", "\n8\n", 1), log_key.verifier())
    assert exc.value.rule == "note.signature"


def test_sign_requires_key_name_equal_origin(witness_key: SignerKey) -> None:
    with pytest.raises(InputError):
        sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), witness_key)


def test_open_rejects_origin_mismatch(witness_key: SignerKey) -> None:
    # A note whose origin differs from the name of the (validly signing) log key.
    note = sign_note(checkpoint_body(Checkpoint(ORIGIN, 1, ROOT)), [witness_key])
    with pytest.raises(VerificationError) as exc:
        open_checkpoint(note, witness_key.verifier())
    assert exc.value.rule == "checkpoint.origin"
    assert exc.value.key_id == witness_key.key_id_hex


def test_open_rejects_malformed_body_even_if_signed(log_key: SignerKey) -> None:
    note = sign_note(f"{ORIGIN}\n007\n{ROOT_B64}\n", [log_key])
    with pytest.raises(VerificationError) as exc:
        open_checkpoint(note, log_key.verifier())
    assert exc.value.rule == "checkpoint.malformed"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (f"{ORIGIN}\n01\n{ROOT_B64}\n", "leading zeros"),
        (f"{ORIGIN}\n00\n{ROOT_B64}\n", "leading zeros"),
        (f"{ORIGIN}\n-1\n{ROOT_B64}\n", "sign"),
        (f"{ORIGIN}\n+1\n{ROOT_B64}\n", "sign"),
        (f"{ORIGIN}\n1.0\n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n 1\n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n\n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n١\n{ROOT_B64}\n", "decimal"),  # Arabic-Indic digit one
        (f"{ORIGIN}\n{2**63}\n{ROOT_B64}\n", "2**63"),
        (f"{ORIGIN}\n{10**30}\n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n1\n{ROOT_B64[:-1]}\n", "base64"),  # bad padding
        (f"{ORIGIN}\n1\n{ROOT_B64.rstrip('=')}\n", "base64"),  # unpadded
        (f"{ORIGIN}\n1\n{_STRAY_BITS_B64}\n", "canonical"),
        (f"{ORIGIN}\n1\n{ROOT_B64.replace('+', '-').replace('/', '_')}\n", "base64"),
        (f"{ORIGIN}\n1\n{base64.b64encode(ROOT[:31]).decode()}\n", "31 bytes"),
        (f"{ORIGIN}\n1\n{base64.b64encode(ROOT + b'x').decode()}\n", "33 bytes"),
        (f"{ORIGIN}\n1\n{ROOT_B64}", "newline"),  # missing final newline
        (f"{ORIGIN}\n1\n", "line"),  # too few lines
        (f"{ORIGIN}\n1\n{ROOT_B64}\n\n", "non-empty"),  # empty extension line
        (f"{ORIGIN}\n1\n{ROOT_B64}\nok\n\nafter\n", "non-empty"),
        (f"{ORIGIN}\n1\n{ROOT_B64}\nbad\tx\n", "control"),
        (f"\n1\n{ROOT_B64}\n", "empty"),
        (f"has space\n1\n{ROOT_B64}\n", "whitespace"),
        (f"a+b\n1\n{ROOT_B64}\n", "'+'"),
    ],
)
def test_parse_rejects(body: str, needle: str) -> None:
    with pytest.raises(VerificationError) as exc:
        parse_checkpoint_body(body)
    assert exc.value.rule == "checkpoint.malformed"
    assert needle in exc.value.detail, exc.value.detail


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": "", "size": 0, "root": ROOT},
        {"origin": "a b", "size": 0, "root": ROOT},
        {"origin": ORIGIN, "size": -1, "root": ROOT},
        {"origin": ORIGIN, "size": 2**63, "root": ROOT},
        {"origin": ORIGIN, "size": True, "root": ROOT},
        {"origin": ORIGIN, "size": 1, "root": ROOT[:31]},
        {"origin": ORIGIN, "size": 1, "root": ROOT, "extensions": ("",)},
        {"origin": ORIGIN, "size": 1, "root": ROOT, "extensions": ("a\nb",)},
    ],
)
def test_constructor_validates(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError):
        Checkpoint(**kwargs)  # type: ignore[arg-type]


def test_checkpoint_note_is_a_plain_signed_note(log_key: SignerKey) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, ROOT), log_key)
    assert open_note(note, [log_key.verifier()]).text == checkpoint_body(
        Checkpoint(ORIGIN, 3, ROOT)
    )


@settings(max_examples=100, deadline=None)
@given(
    size=st.integers(min_value=0, max_value=MAX_TREE_SIZE),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20),
        max_size=3,
    ),
)
def test_body_parse_round_trip_property(size: int, root: bytes, extensions: list[str]) -> None:
    cp = Checkpoint(ORIGIN, size, root, tuple(extensions))
    assert parse_checkpoint_body(checkpoint_body(cp)) == cp
