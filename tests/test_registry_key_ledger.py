"""The stricter key registry (FORMAT.md §7.2) on a real ledger (SQLite file): the ledger
refuses each of ``key.weak``, ``key.log_key``, ``key.reused`` and ``key.duplicate_public``
at ``key.grant`` and in the genesis, writing nothing; and the attack the rules close — one
private key under two key ids passing dual control alone — is refused by the ledger and, in
a forged export bundle, by ``gongxin-verify`` (exit 1, naming the entry and the rule)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.log import Ledger
from ledger.records import InvalidEntry
from ledger.signing.keys import SignerKey
from tests import logfactory as lf
from verifier.cli.main import EXIT_INVALID, EXIT_VALID, main
from verifier.cli.parallel import SignaturePool
from verifier.core.keys import VerifierKey, compute_key_id

from .domain_bodies import contract_body, fund_body, propose_body
from .ed25519_model import SMALL_ORDER
from .keyring import Keys, Signer, StepClock, genesis_body, key, make_keys
from .ledger_env import LedgerEnv


def named(name: str, public_key: bytes) -> str:
    return str(VerifierKey(name, compute_key_id(name, public_key), public_key))


def alias(k: SignerKey, name: str) -> str:
    """``k``'s public key under another name: a second key id for the same private key."""
    return named(name, k.verifier().public_key)


def grant(key_text: str, roles: list[str]) -> dict[str, object]:
    return {"key": key_text, "roles": roles, "title": "测试岗位"}


#: rule → the key a grant names to break it, on the standard ledger (``retired`` is revoked)
BAD_GRANTS: dict[str, Callable[[Keys], str]] = {
    "key.weak": lambda k: named("test-weak", SMALL_ORDER[0]),
    "key.log_key": lambda k: alias(k.log, "test-log-alias"),
    "key.reused": lambda k: alias(k["retired"], "test-retired-new-post"),
    "key.duplicate_public": lambda k: alias(k["finance"], "test-finance-alias"),
}


@pytest.mark.parametrize("rule", list(BAD_GRANTS))
def test_the_ledger_refuses_the_grant(env: LedgerEnv, rule: str) -> None:
    key_text = BAD_GRANTS[rule](env.keys)
    size, before = env.ledger.size, env.snapshot()
    sub = env.sign(env.keys.authority, "key.grant", grant(key_text, ["approver"]))
    with pytest.raises(InvalidEntry) as info:
        env.ledger.append(sub.canonical())
    assert info.value.rule == rule
    assert info.value.field == "batch[0].statement.body.key"
    assert info.value.key_id == key_text.split("+")[1]
    assert env.ledger.size == size and env.snapshot() == before


def _fresh_ledger(tmp_path: Path) -> tuple[Keys, Ledger]:
    keys = make_keys()
    ledger = Ledger.open(
        f"sqlite:///{tmp_path / 'g.db'}", log_key=keys.log, clock=StepClock(), pool=SignaturePool(1)
    )
    return keys, ledger


@pytest.mark.parametrize(
    ("rule", "extra"),
    [
        ("key.weak", lambda k: named("test-weak", SMALL_ORDER[4])),
        ("key.log_key", lambda k: alias(k.log, "test-log-alias")),
        ("key.duplicate_public", lambda k: alias(k.authority, "test-authority-again")),
    ],
)
def test_the_ledger_refuses_the_genesis(
    tmp_path: Path, rule: str, extra: Callable[[Keys], str]
) -> None:
    keys, ledger = _fresh_ledger(tmp_path)
    with ledger:
        body = genesis_body(keys)
        body["authorities"].append(extra(keys))
        sub = Signer(StepClock())(keys.authority, "log.genesis", body)
        with pytest.raises(InvalidEntry) as info:
            ledger.initialize(sub.canonical())
        assert info.value.rule == rule
        assert info.value.field is not None and info.value.field.endswith("authorities[2]")
        assert ledger.size == 0


# -- the attack: one private key, two key ids, dual control passed alone ----------------------


def _pending_payment(env: LedgerEnv) -> str:
    """A payment of 200 000 fen (at the dual-control threshold) proposed by finance."""
    k, day = env.keys, env.clock.now.date().isoformat()
    for kind, body in (
        ("fund.appropriate", fund_body(900, 1_000_000)),
        ("contract.award", contract_body("C-dual", "F-900", day)),
        ("payment.propose", propose_body("P-dual", "C-dual")),
    ):
        env.ledger.append(env.sign(k["finance"], kind, body).canonical())
    return "P-dual"


def test_one_private_key_cannot_pass_dual_control_alone(env: LedgerEnv) -> None:
    k = env.keys
    payment = _pending_payment(env)
    # The finance officer's own key, granted again as an approver under another name ...
    twin = key("finance", key_name="test-finance-approver")
    assert twin.verifier().public_key == k["finance"].verifier().public_key
    assert twin.key_id_hex != k["finance"].key_id_hex
    sub = env.sign(k.authority, "key.grant", grant(str(twin.verifier()), ["approver"]))
    with pytest.raises(InvalidEntry) as info:
        env.ledger.append(sub.canonical())
    assert info.value.rule == "key.duplicate_public"
    assert k["finance"].key_id_hex in info.value.detail
    # ... so the twin cannot approve the officer's own payment,
    approval = env.sign(twin, "payment.approve", {"payment_id": payment})
    with pytest.raises(InvalidEntry) as info:
        env.ledger.append(approval.canonical())
    assert info.value.rule == "key.unknown"
    # nor can the officer's own key id (no approver role; with one, payment.self_approval),
    # while another person can.
    with pytest.raises(InvalidEntry) as info:
        env.ledger.append(
            env.sign(k["finance"], "payment.approve", {"payment_id": payment}).canonical()
        )
    assert info.value.rule == "role.forbidden"
    env.ledger.append(
        env.sign(k["approver"], "payment.approve", {"payment_id": payment}).canonical()
    )


def _verify(capsys: pytest.CaptureFixture[str], bundle: Path, keys: Keys) -> tuple[int, str]:
    argv = [str(bundle), "--log-key", _vkey_file(bundle, keys.log), "--workers", "1"]
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out + err


def _vkey_file(directory: Path, k: SignerKey) -> str:
    path = directory.parent / f"{directory.name}.vkey"
    path.write_text(f"{k.verifier()}\n", encoding="utf-8")
    return str(path)


def test_a_forged_bundle_with_the_twin_grant_fails_verification(
    env: LedgerEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same attack written into a log by hand (as a dishonest operator could): the
    verifier stops at the grant, naming its index and ``key.duplicate_public``."""
    k = env.keys
    payment = _pending_payment(env)
    lines = list(env.ledger.iter_lines())
    good = lf.write_bundle(tmp_path / "good", lines, env.ledger.latest_checkpoint())
    assert _verify(capsys, good, k)[0] == EXIT_VALID

    twin = key("finance", key_name="test-finance-approver")
    grant_at = len(lines)
    lines.append(
        lf.forge_line(lines, k.authority, "key.grant", grant(str(twin.verifier()), ["approver"]))
    )
    lines.append(lf.forge_line(lines, twin, "payment.approve", {"payment_id": payment}))
    forged = lf.write_bundle(
        tmp_path / "forged", lines, lf.sign_checkpoint_over(lines, k.log, k.log.name)
    )
    status, text = _verify(capsys, forged, k)
    assert status == EXIT_INVALID, text
    verdict = re.search(r"INVALID at entry (\d+): \[([a-z_.]+)\]", text)
    assert verdict is not None, text
    assert (int(verdict[1]), verdict[2]) == (grant_at, "key.duplicate_public")
