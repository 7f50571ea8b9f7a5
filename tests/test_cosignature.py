"""C2SP tlog-cosignature (FORMAT.md §14): witness keys, the signed message, verification and
quorum counting in ``verifier.witness.cosignature``, against bytes built here by hand with
pynacl and hashlib (an implementation independent of the module under test)."""

from __future__ import annotations

import base64
import contextlib
import hashlib

import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.signing.keys import SignerKey
from ledger.signing.notes import sign_checkpoint
from verifier.core.checkpoint import Checkpoint
from verifier.core.errors import InputError, VerificationError
from verifier.witness.cosignature import (
    WitnessKey,
    cosigned_message,
    open_cosigned_checkpoint,
    parse_witness_key,
    require_quorum,
)

ORIGIN = "example.com/behind-the-sofa"
LOG = SignerKey.from_seed(ORIGIN, bytes(range(32)))
CHECKPOINT = Checkpoint(
    ORIGIN, 20852163, base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
)
NOTE = sign_checkpoint(CHECKPOINT, LOG)
BODY = NOTE[: NOTE.index("\n\n") + 1].encode()
TIME = 1679315147


def hand_witness(name: str, seed_byte: int) -> tuple[nacl.signing.SigningKey, bytes, str]:
    """(signing key, key id, vkey) built by hand as the spec says."""
    sk = nacl.signing.SigningKey(bytes([seed_byte]) * 32)
    pub = bytes(sk.verify_key)
    key_id = hashlib.sha256(name.encode() + b"\n\x04" + pub).digest()[:4]
    material = base64.b64encode(b"\x04" + pub).decode()
    vkey = f"{name}+{key_id.hex()}+{material}"
    return sk, key_id, vkey


def hand_line(name: str, seed_byte: int, body: bytes = BODY, ts: int = TIME) -> str:
    sk, key_id, _ = hand_witness(name, seed_byte)
    message = b"cosignature/v1\ntime " + str(ts).encode() + b"\n" + body
    sig = sk.sign(message).signature
    blob = key_id + ts.to_bytes(8, "big") + sig
    return f"— {name} {base64.b64encode(blob).decode()}\n"


W1 = parse_witness_key(hand_witness("witness.example/w1", 1)[2])
W2 = parse_witness_key(hand_witness("witness.example/w2", 2)[2])


def test_go_vkey_key_id() -> None:
    """A type-0x04 vkey from transparency-dev/formats' tests: our key id matches Go's."""
    text = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
    key = parse_witness_key(text)
    assert key.key_id_hex == "da77ade7" and str(key) == text


def test_vkey_refusals() -> None:
    _, _, vkey = hand_witness("w", 3)
    name, kid, b64 = vkey.split("+", 2)
    with pytest.raises(InputError, match="does not match"):
        parse_witness_key(f"{name}+00000000+{b64}")
    raw = base64.b64decode(b64)
    with pytest.raises(InputError, match="type 0x01"):
        type1 = base64.b64encode(b"\x01" + raw[1:]).decode()
        parse_witness_key(f"{name}+{kid}+{type1}")
    with pytest.raises(InputError):
        parse_witness_key(f"{name}+{kid}")
    with pytest.raises(InputError):
        parse_witness_key(f"{name}+{kid}+{b64[:-4]}")


def test_signed_message_is_the_spec_example() -> None:
    expected = (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    assert cosigned_message(TIME, BODY) == expected
    with pytest.raises(InputError):
        cosigned_message(2**63, BODY)
    with pytest.raises(InputError):
        cosigned_message(-1, BODY)


def test_known_answer_accepted() -> None:
    note = NOTE + hand_line("witness.example/w1", 1) + hand_line("witness.example/w2", 2)
    opened = open_cosigned_checkpoint(note, LOG.verifier(), [W1, W2])
    assert opened.checkpoint == CHECKPOINT
    assert [(c.witness, c.timestamp) for c in opened.cosignatures] == [(W1, TIME), (W2, TIME)]
    assert require_quorum(note, LOG.verifier(), [W1, W2], 2).count() == 2


def _tamper_line(line: str, offset: int) -> str:
    name, b64 = line[2:].rstrip("\n").split(" ")
    blob = bytearray(base64.b64decode(b64))
    blob[offset] ^= 1
    return f"— {name} {base64.b64encode(bytes(blob)).decode()}\n"


@pytest.mark.parametrize(("offset", "what"), [(4 + 7, "timestamp"), (4 + 8 + 5, "signature")])
def test_tampered_cosignature_refused(offset: int, what: str) -> None:
    line = _tamper_line(hand_line("witness.example/w1", 1), offset)
    with pytest.raises(VerificationError) as err:
        open_cosigned_checkpoint(NOTE + line, LOG.verifier(), [W1])
    assert err.value.rule == "cosignature.signature" and err.value.key_id == W1.key_id_hex
    assert "witness.example/w1" in err.value.detail, what


def test_cosignature_over_another_body_refused() -> None:
    other = BODY.replace(b"20852163", b"20852164")
    line = hand_line("witness.example/w1", 1, body=other)
    with pytest.raises(VerificationError, match=r"cosignature\.signature"):
        open_cosigned_checkpoint(NOTE + line, LOG.verifier(), [W1])


def test_tampered_key_id_is_an_unknown_key() -> None:
    line = _tamper_line(hand_line("witness.example/w1", 1), 0)
    opened = open_cosigned_checkpoint(NOTE + line, LOG.verifier(), [W1])
    assert opened.cosignatures == ()
    with pytest.raises(VerificationError, match=r"cosignature\.quorum"):
        require_quorum(NOTE + line, LOG.verifier(), [W1], 1)


def test_log_signature_still_required() -> None:
    body_only = BODY.decode() + "\n" + hand_line("witness.example/w1", 1)
    with pytest.raises(VerificationError, match=r"note\.unsigned"):
        open_cosigned_checkpoint(body_only, LOG.verifier(), [W1])


def test_quorum_ignores_duplicates_and_unknown_keys() -> None:
    w1 = hand_line("witness.example/w1", 1)
    w1_later = hand_line("witness.example/w1", 1, ts=TIME + 60)
    stranger = hand_line("witness.example/w9", 9)
    note = NOTE + w1 + w1 + w1_later + stranger
    opened = require_quorum(note, LOG.verifier(), [W1, W2, W1], 1)
    assert opened.count() == 1 and len(opened.cosignatures) == 1
    with pytest.raises(VerificationError, match="1 of the required 2"):
        require_quorum(note, LOG.verifier(), [W1, W2], 2)
    with pytest.raises(InputError):
        require_quorum(note, LOG.verifier(), [W1, W2], 3)


def test_ambiguous_witness_keys_refused() -> None:
    impostor = WitnessKey.__new__(WitnessKey)
    object.__setattr__(impostor, "name", W1.name)
    object.__setattr__(impostor, "key_id", W1.key_id)
    object.__setattr__(impostor, "public_key", W2.public_key)
    with pytest.raises(InputError, match="ambiguous"):
        open_cosigned_checkpoint(NOTE, LOG.verifier(), [W1, impostor])


@settings(max_examples=300, deadline=None)
@given(
    blob=st.binary(max_size=100),
    raw=st.binary(max_size=120),
    known=st.booleans(),
)
def test_random_cosignature_lines_raise_only_typed_errors(
    blob: bytes, raw: bytes, known: bool
) -> None:
    prefix = W1.key_id if known else b""
    line = f"— {W1.name} {base64.b64encode(prefix + blob).decode()}\n"
    for note in (NOTE + line, NOTE.encode() + raw + b"\n", NOTE.encode() + raw):
        with contextlib.suppress(VerificationError, InputError):
            open_cosigned_checkpoint(note, LOG.verifier(), [W1, W2])
