"""The off-ledger resident register (ledger/residents.py) and erasure (docs/RESIDENTS.md).

The erasure tests read the raw bytes of the SQLite database file, its -wal (and -shm) file
and a fresh export bundle, and look for every piece of the erased resident's personal data.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import residents
from ledger.cli.main import app
from ledger.export import export_bundle
from ledger.residents import (
    ResidentRegister,
    RetiredLookupCode,
    UnknownResident,
    format_lookup_code,
)
from verifier.cli.bundle import verify_bundle
from verifier.core.errors import InputError
from verifier.rules.pseudonym import resident_ref

from .domain_bodies import STD_ACTIVITY, credit_award_body
from .ledger_env import LedgerEnv, standard_ledger

NAME = "测试擦除张三丰"
PHONE = "13987654321"


def with_check(first17: str) -> str:
    """Complete 17 digits with their GB 11643-1999 check character."""
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    return first17 + "0123456789X"[(12 - total % 11) % 11]


ID_NUMBER = with_check("33010619870512771")
assert with_check("11010519491231002") == "11010519491231002X"  # the standard's example


@pytest.fixture
def fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap scrypt parameters, for tests that enrol hundreds of residents."""
    monkeypatch.setattr(residents, "_SCRYPT", {"n": 2**4, "r": 8, "p": 1, "dklen": 32})


@pytest.fixture
def ledger_env(tmp_path: Path) -> Iterator[LedgerEnv]:
    """The standard ledger (genesis, grants, policy, parties, funds, an open activity)."""
    e = standard_ledger(tmp_path)
    yield e
    e.ledger.close()


@pytest.fixture
def register(tmp_path: Path) -> Iterator[ResidentRegister]:
    with ResidentRegister.open(f"sqlite:///{tmp_path / 'register.db'}") as reg:
        yield reg


# -- the pseudonym ------------------------------------------------------------------------------


def test_resident_ref_is_deterministic_hex_and_keyed() -> None:
    a, b = bytes(range(32)), bytes(range(1, 33))
    ref = resident_ref(a, "R0123456789ABCDEFGHJK")
    assert ref == resident_ref(a, "R0123456789ABCDEFGHJK")
    assert re.fullmatch(r"[0-9a-f]{32}", ref)
    assert resident_ref(b, "R0123456789ABCDEFGHJK") != ref
    assert resident_ref(a, "R0123456789ABCDEFGHJM") != ref
    # HMAC-SHA-256 truncated to 16 bytes (FORMAT.md §10)
    import hashlib
    import hmac

    assert ref == hmac.new(a, b"R0123456789ABCDEFGHJK", hashlib.sha256).hexdigest()[:32]
    with pytest.raises(InputError) as err:
        resident_ref(b"short", "R1")
    assert err.value.field == "secret"


def test_enrolled_ref_is_hmac_of_register_no_under_community_secret(
    register: ResidentRegister, tmp_path: Path
) -> None:
    e = register.enrol("chunjiang", NAME, ID_NUMBER, PHONE)
    f = register.enrol("qiuyue", NAME, None, None)
    with sqlite3.connect(tmp_path / "register.db") as conn:
        secrets = dict(conn.execute("SELECT community, secret FROM community_secrets"))
    assert len(secrets["chunjiang"]) == 32 and secrets["chunjiang"] != secrets["qiuyue"]
    assert e.resident_ref == resident_ref(secrets["chunjiang"], e.register_no)
    assert f.resident_ref == resident_ref(secrets["qiuyue"], f.register_no)
    assert register.ref_of(e.register_no) == e.resident_ref
    assert register.ref_of(e.register_no.lower()) == e.resident_ref
    assert re.fullmatch(r"R[0-9A-HJKMNP-TV-Z]{20}", e.register_no)
    assert e.lookup_code not in repr(e)


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("id_number", {"id_number": ID_NUMBER[:17] + ("0" if ID_NUMBER[17] != "0" else "1")}),
        ("id_number", {"id_number": ID_NUMBER[:17]}),
        ("id_number", {"id_number": with_check("33010619871332771")}),  # month 13
        ("id_number", {"id_number": with_check("33010629870512771")}),  # year 2987
        ("id_number", {"id_number": "3301061987051277A1"}),
        ("phone", {"phone": "23987654321"}),
        ("phone", {"phone": "1398765432"}),
        ("phone", {"phone": "139876543210"}),
        ("phone", {"phone": "1398765432x"}),
        ("name", {"name": ""}),
        ("name", {"name": "   "}),
        ("name", {"name": "张" * 51}),
        ("name", {"name": "张三\n李四"}),
        ("community", {"community": "春江社区"}),
        ("community", {"community": ""}),
    ],
)
def test_bad_input_is_rejected_naming_the_field(
    register: ResidentRegister, field: str, kwargs: dict[str, str]
) -> None:
    args: dict[str, str | None] = {
        "community": "chunjiang",
        "name": NAME,
        "id_number": ID_NUMBER,
        "phone": PHONE,
    }
    args.update(kwargs)
    with pytest.raises(InputError) as err:
        register.enrol(**args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_input_is_normalised_and_duplicates_refused(register: ResidentRegister) -> None:
    x_id = with_check("11010519491231002")
    register.enrol("chunjiang", f"  {NAME} ", x_id.lower(), "139-8765-4321")
    with pytest.raises(InputError) as err:
        register.enrol("xiahe", "别人", x_id, None)
    assert err.value.field == "id_number"
    for bad in ("", "X123", "R" + "U" * 20, "R" + "0" * 21):
        with pytest.raises(InputError) as err:
            register.ref_of(bad)
        assert err.value.field == "register_no"


# -- lookup codes -------------------------------------------------------------------------------


def test_retired_8_digit_codes_are_refused_and_new_code_replaces_them(
    register: ResidentRegister, tmp_path: Path
) -> None:
    """An 8-digit code of the first release (40 bits) no longer finds anyone, even its own
    resident's: RetiredLookupCode says why. `new-code` gives a 13-digit one; the old
    13-digit code then stops working."""
    old = "ABCD1234"
    e = register.enrol("chunjiang", NAME, None, None, lookup_code="abcd-efgh-jkmnp")
    with register.engine.begin() as conn:  # a register row from the first release
        conn.exec_driver_sql(
            "UPDATE resident_register SET lookup_hash = ? WHERE register_no = ?",
            (register._hash_code(old), e.register_no),
        )
    for typed in (old, "abcd-1234", " ab cd 12 34 "):
        with pytest.raises(RetiredLookupCode, match="13"):
            register.find_by_lookup_code(typed)
    with pytest.raises(InputError, match="13 Crockford"):
        register.enrol("chunjiang", "王五", None, None, lookup_code=old)
    fresh = register.new_code(e.register_no)
    assert len(fresh) == 13 and register.find_by_lookup_code(fresh) == e.resident_ref
    again = register.new_code(e.register_no, lookup_code="0000-1111-22222")
    assert again == "0000111122222" and register.find_by_lookup_code(fresh) is None
    with pytest.raises(InputError, match="already in use"):
        register.new_code(e.register_no, lookup_code=again)
    with pytest.raises(UnknownResident):
        register.new_code("R" + "0" * 20)


def test_lookup_code_finds_the_ref_and_a_wrong_code_does_not(register: ResidentRegister) -> None:
    e = register.enrol("chunjiang", NAME, ID_NUMBER, PHONE)
    other = register.enrol("chunjiang", "李四", None, None)
    code = e.lookup_code
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{13}", code)
    assert register.find_by_lookup_code(code) == e.resident_ref
    assert register.find_by_lookup_code(f" {code[:4].lower()}-{code[4:]} ") == e.resident_ref
    grouped = format_lookup_code(code)
    assert re.fullmatch(r"\w{4}-\w{4}-\w{5}", grouped)
    assert register.find_by_lookup_code(grouped.lower()) == e.resident_ref
    assert register.find_by_lookup_code(other.lookup_code) == other.resident_ref
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert register.find_by_lookup_code(wrong) is None
    for junk in ("", code[:12], code + "0", "U" * 13, "x" * 10_000):
        assert register.find_by_lookup_code(junk) is None
    # only a hash of the code is stored
    with register.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT * FROM resident_register").fetchall()
    assert code not in repr(stored)


# -- tables --------------------------------------------------------------------------------------


def test_register_tables_are_not_append_only_and_ledger_tables_still_are(
    ledger_env: LedgerEnv,
) -> None:
    with ResidentRegister.open(ledger_env.url) as reg:
        e = reg.enrol("chunjiang", NAME, None, None)
        reg.erase(e.register_no)
    with sqlite3.connect(ledger_env.path) as conn:
        triggers = conn.execute(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall()
    on = {t for (t,) in triggers}
    assert {"entries", "meta", "merkle_nodes", "checkpoints"} <= on
    assert not on & {"resident_register", "community_secrets"}


# -- erasure -------------------------------------------------------------------------------------


def _personal(enrolment: residents.Enrolment) -> dict[str, bytes]:
    return {
        "name": NAME.encode("utf-8"),
        "id_number": ID_NUMBER.encode(),
        "phone": PHONE.encode(),
        "register_no": enrolment.register_no.encode(),
    }


def _db_bytes(path: Path) -> dict[str, bytes]:
    files = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(f"{path}{suffix}")
        if p.exists():
            files[p.name] = p.read_bytes()
    return files


def _found(needles: dict[str, bytes], haystacks: dict[str, bytes]) -> list[str]:
    return [
        f"{what} in {where}"
        for what, n in needles.items()
        for where, h in haystacks.items()
        if n in h
    ]


def _enrol_crowd(reg: ResidentRegister, n: int) -> list[residents.Enrolment]:
    """``n`` residents with names of varied length, so the register's pages split."""
    return [
        reg.enrol(
            ("chunjiang", "qiuyue")[k % 2],
            f"居民{k:04d}" + "甲" * (k % 37),
            with_check(f"4401061990{1 + k % 12:02d}{1 + k % 28:02d}{k:03d}"),
            f"13{k:09d}",
        )
        for k in range(n)
    ]


def test_before_erasure_the_personal_data_is_in_the_database_file(ledger_env: LedgerEnv) -> None:
    with ResidentRegister.open(ledger_env.url) as reg:
        e = reg.enrol("chunjiang", NAME, ID_NUMBER, PHONE)
    needles = _personal(e)
    assert set(_found(needles, _db_bytes(ledger_env.path))) >= {
        f"name in {ledger_env.path.name}-wal"
    }
    with sqlite3.connect(ledger_env.path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    hits = _found(needles, {"db": ledger_env.path.read_bytes()})
    assert hits == [f"{k} in db" for k in needles], hits


def test_erase_leaves_no_byte_in_database_wal_or_export_and_log_verifies(
    ledger_env: LedgerEnv, tmp_path: Path, fast_scrypt: None
) -> None:
    with ResidentRegister.open(ledger_env.url) as reg:
        crowd_before = _enrol_crowd(reg, 120)
        e = reg.enrol("chunjiang", NAME, ID_NUMBER, PHONE)
        # the resident does volunteer service: their pseudonym goes on the log
        award = credit_award_body(e.resident_ref, STD_ACTIVITY)
        k = ledger_env.keys
        ledger_env.ledger.append(ledger_env.sign(k["organiser"], "credit.award", award).canonical())
        crowd_after = [
            reg.enrol("qiuyue", f"后来者{k}" * (1 + k % 5), None, None) for k in range(150)
        ]
        # checkpoint now so that the crowd's page splits reach the database file too
        reg.purge()
        # erase, then let other residents keep writing (pages get reused)
        assert reg.erase(e.register_no) == e.resident_ref
        with pytest.raises(UnknownResident):
            reg.ref_of(e.register_no)
        with pytest.raises(UnknownResident):
            reg.erase(e.register_no)
        assert reg.find_by_lookup_code(e.lookup_code) is None
        for other in crowd_before[::17] + crowd_after[::23]:
            assert reg.ref_of(other.register_no) == other.resident_ref

    bundle = tmp_path / "bundle"
    export_bundle(ledger_env.ledger, bundle)
    report = verify_bundle(bundle, ledger_env.keys.log.verifier(), workers=1)
    exported = {p.name: p.read_bytes() for p in bundle.iterdir()}
    assert report.tree_size == ledger_env.ledger.size
    files = _db_bytes(ledger_env.path) | exported
    assert len(files[ledger_env.path.name]) > 50_000
    assert _found(_personal(e), files) == []
    # the log still holds the (now unlinkable) pseudonym, and it verified above
    assert e.resident_ref.encode() in exported["entries.jsonl"]
    # and the crowd is still in the file (the scan does look at the right bytes)
    assert crowd_before[0].register_no.encode() in files[ledger_env.path.name]


def test_erase_unknown_resident_is_a_typed_error(register: ResidentRegister) -> None:
    with pytest.raises(UnknownResident) as err:
        register.erase("R" + "0" * 20)
    assert err.value.field == "register_no"
    with pytest.raises(InputError):
        register.erase("not-a-number")


# -- command line ------------------------------------------------------------------------------


def test_cli_enrol_ref_erase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GONGXIN_DATABASE_URL", raising=False)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    def run(*args: str, code: int = 0, stdin: str | None = None) -> str:
        result = runner.invoke(app, ["residents", *args, "--db", db], input=stdin)
        assert result.exit_code == code, result.output
        return result.output

    out = run("enrol", "--community", "chunjiang", "--name", NAME, "--id-number", ID_NUMBER,
              "--phone", PHONE)  # fmt: skip
    register_no = re.search(r"register number: (R\w{20})", out)
    ref = re.search(r"resident_ref: ([0-9a-f]{32})", out)
    code = re.search(r"lookup code: (\w{4}-\w{4}-\w{5})\n", out)
    assert register_no and ref and code
    assert "只显示这一次" in out
    assert run("ref", register_no[1]).strip() == ref[1]
    with ResidentRegister.open(db) as reg:
        assert reg.find_by_lookup_code(code[1]) == ref[1]
    new = re.search(r"lookup code: (\w{4}-\w{4}-\w{5})\n", run("new-code", register_no[1]))
    assert new and new[1] != code[1]
    with ResidentRegister.open(db) as reg:
        assert reg.find_by_lookup_code(new[1]) == ref[1]
        assert reg.find_by_lookup_code(code[1]) is None
    assert "输入错误" in run("new-code", "R" + "0" * 20, code=2)

    assert "input error" in run("enrol", "--community", "chunjiang", "--name", NAME,
                                "--id-number", ID_NUMBER[:17] + "Y", code=2)  # fmt: skip
    assert "phone" in run("enrol", "--community", "c", "--name", "x", "--phone", "2", code=2)
    assert "输入错误" in run("ref", "R" + "0" * 20, code=2)
    assert "输入错误" in run("ref", "nonsense", code=2)

    # declining the confirmation erases nothing
    assert "not erased" in run("erase", register_no[1], code=1, stdin="n\n")
    assert run("ref", register_no[1]).strip() == ref[1]
    out = run("erase", register_no[1], stdin="y\n")
    assert "已擦除" in out and ref[1] in out
    run("ref", register_no[1], code=2)
    run("erase", register_no[1], "--yes", code=2)
    out2 = run("enrol", "--community", "qiuyue", "--name", "王五")
    other = re.search(r"register number: (R\w{20})", out2)
    assert other
    assert "已擦除" in run("erase", other[1], "--yes")
    assert "purged" in run("purge")
    assert NAME.encode() not in (tmp_path / "cli.db").read_bytes()


def test_cli_needs_an_existing_database_except_to_enrol(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'missing.db'}"
    result = CliRunner().invoke(app, ["residents", "ref", "R" + "0" * 20, "--db", db])
    assert result.exit_code == 2
    assert not (tmp_path / "missing.db").exists()
