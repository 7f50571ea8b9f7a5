"""The witness's add-checkpoint decision in process (``witness.protocol``, ``witness.store``):
limits, hostile bodies and the store's no-roll-back compare-and-set. The HTTP server itself is
tests/test_witness_server.py."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.signing.keys import SignerKey
from ledger.signing.notes import sign_checkpoint
from tests import merkle_reference
from verifier.core.checkpoint import Checkpoint
from verifier.core.errors import InputError
from verifier.witness.cosignature import open_cosigned_checkpoint
from witness.keys import WitnessSigner, read_private_key, write_private_key
from witness.protocol import MAX_PROOF_LINES, Witness, parse_request
from witness.store import WitnessStore

ORIGIN = "example.com/log"
LOG = SignerKey.from_seed(ORIGIN, bytes([7]) * 32)
LEAVES = [b"leaf %d" % i for i in range(40)]


def note_at(size: int) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, merkle_reference.mth(LEAVES[:size])), LOG)


def body(old: int, proof: list[bytes], note: str) -> bytes:
    lines = [f"old {old}"] + [base64.b64encode(h).decode() for h in proof]
    return ("\n".join(lines) + "\n\n" + note).encode()


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    store = WitnessStore(tmp_path / "w.db")
    store.add_log(ORIGIN, str(LOG.verifier()))
    return Witness(store, WitnessSigner(("witness.example/w1"), bytes([1]) * 32))


def test_happy_path_and_cosignature(witness: Witness) -> None:
    reply = witness.add_checkpoint(body(0, [], note_at(5)))
    assert reply.status == 200
    opened = open_cosigned_checkpoint(
        note_at(5) + reply.body.decode(), LOG.verifier(), [witness.signer.public]
    )
    assert opened.count() == 1
    proof = merkle_reference.proof(5, LEAVES[:33])
    assert witness.add_checkpoint(body(5, proof, note_at(33))).status == 200
    assert witness.store.latest(ORIGIN) is not None


def test_proof_line_limit() -> None:
    h = base64.b64encode(bytes(32)).decode()
    ok = ("old 1\n" + (h + "\n") * MAX_PROOF_LINES + "\nx\n").encode()
    assert len(parse_request(ok).proof) == MAX_PROOF_LINES
    with pytest.raises(InputError, match="more than 63"):
        parse_request(("old 1\n" + (h + "\n") * (MAX_PROOF_LINES + 1) + "\nx\n").encode())
    with pytest.raises(InputError, match="empty line"):
        parse_request(b"old 1\n")


def test_store_never_rolls_back(tmp_path: Path) -> None:
    store = WitnessStore(tmp_path / "s.db")
    store.add_log(ORIGIN, str(LOG.verifier()))
    assert store.advance(ORIGIN, 0, 10, "ten") is None
    assert store.advance(ORIGIN, 0, 12, "twelve") == 10  # stale compare: refused
    with pytest.raises(InputError):
        store.advance(ORIGIN, 10, 3, "three")
    reopened = WitnessStore(tmp_path / "s.db")
    stored = reopened.latest(ORIGIN)
    assert stored is not None and stored.size == 10 and stored.note == "ten"


def test_key_file_mode_and_round_trip(tmp_path: Path) -> None:
    signer = WitnessSigner.generate("witness.example/w2")
    path = tmp_path / "w.key"
    write_private_key(path, signer)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_private_key(path).public == signer.public
    assert "PRIVATE" not in repr(signer)
    with pytest.raises(InputError, match="exists"):
        write_private_key(path, signer)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prefix=st.sampled_from([b"", b"old 0\n", b"old 5\n", b"old 0\n\n"]),
    junk=st.binary(max_size=300),
    tail=st.sampled_from([b"", note_at(5).encode(), note_at(5).encode()[:-3]]),
)
def test_hostile_bodies_get_a_status(
    witness: Witness, prefix: bytes, junk: bytes, tail: bytes
) -> None:
    reply = witness.add_checkpoint(prefix + junk + tail)
    assert reply.status in {200, 400, 403, 404, 409, 422}
    if reply.status == 200:  # only a genuine checkpoint is ever cosigned
        assert tail == note_at(5).encode()


def test_concurrent_submissions_of_one_old_size_cosign_once(witness: Witness) -> None:
    """Eight threads race with ``old 0``: exactly one is cosigned, the others get 409."""
    from concurrent.futures import ThreadPoolExecutor

    notes = [note_at(size) for size in range(3, 11)]
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda n: witness.add_checkpoint(body(0, [], n)), notes))
    statuses = sorted(r.status for r in replies)
    assert statuses == [200] + [409] * 7
    winner = notes[[r.status for r in replies].index(200)]
    stored = witness.store.latest(ORIGIN)
    assert stored is not None and stored.note == winner
    assert {r.body for r in replies if r.status == 409} == {f"{stored.size}\n".encode()}
