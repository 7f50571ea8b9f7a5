"""Tests of ledger.signing.keyfile: private key files (mode 0600, optional passphrase) and vkey files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ledger.signing.keyfile import (
    ENCRYPTED_HEADER,
    read_private_key,
    read_verifier_key_arg,
    write_private_key,
    write_verifier_key,
)
from ledger.signing.keys import SignerKey
from verifier.core.errors import InputError

PASSPHRASE = "correct horse battery staple"


@pytest.fixture()
def key() -> SignerKey:
    return SignerKey.from_seed("gongxin.example/log", bytes(range(100, 132)))


def _secret(key: SignerKey) -> str:
    """The base64 secret part of the private key string."""
    return key.private_key_string().split("+", 4)[4]


def _assert_no_secret(key: SignerKey, exc: BaseException) -> None:
    message = str(exc)
    secret = _secret(key)
    for fragment in (secret, secret[:10], secret[-10:], key.private_key_string()):
        assert fragment not in message
    assert PASSPHRASE not in message


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_plain_round_trip(tmp_path: Path, key: SignerKey) -> None:
    path = tmp_path / "log.key"
    write_private_key(path, key)
    assert _mode(path) == 0o600
    assert path.read_text(encoding="utf-8") == key.private_key_string() + "\n"
    again = read_private_key(path)
    assert again == key
    assert again.verifier() == key.verifier()


def test_mode_is_0600_despite_permissive_umask(tmp_path: Path, key: SignerKey) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "log.key"
        write_private_key(path, key)
    finally:
        os.umask(old)
    assert _mode(path) == 0o600


def test_encrypted_round_trip(tmp_path: Path, key: SignerKey) -> None:
    path = tmp_path / "log.key.enc"
    write_private_key(path, key, passphrase=PASSPHRASE)
    assert _mode(path) == 0o600
    content = path.read_text(encoding="utf-8")
    lines = content.splitlines()
    assert lines[0] == ENCRYPTED_HEADER
    assert lines[1].startswith("argon2id ")
    assert len(lines) == 3
    assert _secret(key) not in content
    assert read_private_key(path, passphrase=PASSPHRASE) == key


def test_encrypted_without_passphrase(tmp_path: Path, key: SignerKey) -> None:
    path = tmp_path / "log.key.enc"
    write_private_key(path, key, passphrase=PASSPHRASE)
    with pytest.raises(InputError) as exc:
        read_private_key(path)
    assert "passphrase-encrypted" in str(exc.value)
    assert "GONGXIN_KEY_PASSPHRASE" in str(exc.value)


def test_wrong_passphrase(tmp_path: Path, key: SignerKey) -> None:
    path = tmp_path / "log.key.enc"
    write_private_key(path, key, passphrase=PASSPHRASE)
    with pytest.raises(InputError) as exc:
        read_private_key(path, passphrase=PASSPHRASE + "!")
    assert "wrong passphrase" in str(exc.value)
    _assert_no_secret(key, exc.value)


def test_tampered_ciphertext(tmp_path: Path, key: SignerKey) -> None:
    path = tmp_path / "log.key.enc"
    write_private_key(path, key, passphrase=PASSPHRASE)
    lines = path.read_text(encoding="utf-8").splitlines()
    flipped = lines[2][:40] + ("A" if lines[2][40] != "A" else "B") + lines[2][41:]
    path.write_text("\n".join([*lines[:2], flipped]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_private_key(path, passphrase=PASSPHRASE)
    _assert_no_secret(key, exc.value)


def test_absurd_kdf_limits_refused(tmp_path: Path, key: SignerKey) -> None:
    path = tmp_path / "log.key.enc"
    write_private_key(path, key, passphrase=PASSPHRASE)
    lines = path.read_text(encoding="utf-8").splitlines()
    salt = lines[1].split(" ")[3]
    path.write_text(
        "\n".join([lines[0], f"argon2id 2 {2**50} {salt}", lines[2]]) + "\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as exc:
        read_private_key(path, passphrase=PASSPHRASE)
    assert "out of range" in str(exc.value)


def test_empty_passphrase_refused(tmp_path: Path, key: SignerKey) -> None:
    with pytest.raises(InputError):
        write_private_key(tmp_path / "k", key, passphrase="")
    assert not (tmp_path / "k").exists()


def test_refuse_overwrite(tmp_path: Path, key: SignerKey) -> None:
    path = tmp_path / "log.key"
    path.write_text("precious\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        write_private_key(path, key)
    assert "overwrite" in str(exc.value)
    _assert_no_secret(key, exc.value)
    assert path.read_text(encoding="utf-8") == "precious\n"


def test_missing_directory(tmp_path: Path, key: SignerKey) -> None:
    with pytest.raises(InputError) as exc:
        write_private_key(tmp_path / "nope" / "log.key", key)
    _assert_no_secret(key, exc.value)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_refuse_group_readable(tmp_path: Path, key: SignerKey) -> None:
    path = tmp_path / "log.key"
    write_private_key(path, key)
    os.chmod(path, 0o640)
    with pytest.raises(InputError) as exc:
        read_private_key(path)
    assert f"chmod 600 {path}" in str(exc.value)
    _assert_no_secret(key, exc.value)
    os.chmod(path, 0o604)
    with pytest.raises(InputError):
        read_private_key(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_private_key(tmp_path / "absent.key")
    assert exc.value.field == str(tmp_path / "absent.key")


def test_malformed_plain_file_no_echo(tmp_path: Path, key: SignerKey) -> None:
    path = tmp_path / "log.key"
    corrupted = key.private_key_string().replace("gongxin.example/log", "other", 1)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, (corrupted + "\n").encode())
    os.close(fd)
    with pytest.raises(InputError) as exc:
        read_private_key(path)
    _assert_no_secret(key, exc.value)
    assert exc.value.field == str(path)


def test_plain_file_ignores_passphrase(tmp_path: Path, key: SignerKey) -> None:
    path = tmp_path / "log.key"
    write_private_key(path, key)
    assert read_private_key(path, passphrase=PASSPHRASE) == key


def test_verifier_key_file(tmp_path: Path, key: SignerKey) -> None:
    path = tmp_path / "log.vkey"
    vkey = key.verifier()
    write_verifier_key(path, vkey)
    assert _mode(path) == 0o644
    assert path.read_text(encoding="utf-8") == str(vkey) + "\n"
    assert read_verifier_key_arg(str(path)) == vkey
    assert read_verifier_key_arg(str(vkey)) == vkey
    other = SignerKey.generate("other").verifier()
    write_verifier_key(path, other)  # public files may be replaced
    assert read_verifier_key_arg(str(path)) == other
    assert [p.name for p in tmp_path.iterdir()] == ["log.vkey"]  # no temp files left


def test_repr_has_no_secret(key: SignerKey) -> None:
    assert _secret(key) not in repr(key)
    assert _secret(key) not in str(key)
    assert key.private_key_string() not in f"{key!r} {key}"
