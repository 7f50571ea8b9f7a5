"""The off-ledger resident register (居民登记册) and erasure under PIPL Art. 47 (docs/RESIDENTS.md).

On the log a resident is only a ``resident_ref`` (:func:`verifier.rules.pseudonym.resident_ref`):
HMAC-SHA-256 of a random register number under the community's secret, truncated to 16
bytes. Who that is — name, resident ID number, phone — lives here, off the log, in two
tables in the same database as the ledger:

- ``community_secrets``  one 32-byte secret per community, created on first enrolment
                         (``secrets.token_bytes(32)``), plus one reserved row
                         (:data:`PEPPER_ROW`, not a valid community name) holding the
                         register's lookup-code pepper;
- ``resident_register``  one row per resident: register number, community, resident_ref,
                         name, ID number, phone, hash of the lookup code, enrolment time.

These tables are deliberately *not* append-only: they live in their own :data:`metadata`,
so ``ledger.store.migrate.create_schema`` never creates them and its triggers never apply to them.

Lookup codes (13 Crockford base-32 characters, 65 random bits, shown once at enrolment as
``XXXX-XXXX-XXXXX``) are stored only as ``scrypt(code, salt=pepper, n=2**14, r=8, p=1)``.
The salt is one random pepper per register rather than one per row, so that a code can be
found by an indexed equality lookup (a per-row salt would need one scrypt per resident per
lookup); scrypt's cost (~16 MiB, tens of milliseconds) makes trying codes against a stolen
database slow. 65 bits make guessing over the network hopeless without any global throttle:
a million guesses a second for a year finds one of 10^6 residents' codes with probability
≈ 10^6 × 3.2·10^13 / 2^65 ≈ 0.09 % (docs/RESIDENTS.md), and the server allows far fewer.

Codes of the first release had 8 digits (40 bits), which 400 addresses could guess in weeks;
they are *retired*: :meth:`ResidentRegister.find_by_lookup_code` raises
:class:`RetiredLookupCode` for any 8-digit code without deriving or looking anything up
(so a guesser learns nothing), and :meth:`ResidentRegister.new_code` gives an enrolled
resident a fresh 13-digit one (``gongxin residents new-code R…``).

Erasure (:meth:`ResidentRegister.erase`) deletes the row; :mod:`ledger.resident_erasure`
scrubs its copies (SQLite ``secure_delete`` and a truncated WAL; ``VACUUM FULL`` on PostgreSQL,
best effort) and says what stays the operator's responsibility.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    event,
    inspect,
    select,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from ledger import resident_erasure as erasure
from ledger.resident_erasure import ErasureIncomplete
from ledger.resident_fields import (
    CROCKFORD,
    LOOKUP_CODE_LEN,
    PEPPER_ROW,
    RETIRED_CODE_LEN,
    RetiredLookupCode,
    check_community,
    check_id_number,
    check_name,
    check_phone,
    check_register_no,
    format_lookup_code,
    new_lookup_code,
    new_register_no,
    normalize_lookup_code,
)
from ledger.store import engine as storage
from ledger.store.schema import community_secrets, resident_register
from ledger.store.schema import register_metadata as metadata
from verifier.core.errors import InputError
from verifier.rules.pseudonym import resident_ref

__all__ = [
    "CROCKFORD",
    "LOOKUP_CODE_LEN",
    "PEPPER_ROW",
    "RETIRED_CODE_LEN",
    "Enrolment",
    "ErasureIncomplete",
    "ResidentRegister",
    "RetiredLookupCode",
    "UnknownResident",
    "check_community",
    "check_id_number",
    "check_name",
    "check_phone",
    "check_register_no",
    "format_lookup_code",
    "new_lookup_code",
    "new_register_no",
    "normalize_lookup_code",
]

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class UnknownResident(InputError):
    """No resident with this register number (never enrolled, or already erased)."""


@dataclass(frozen=True)
class Enrolment:
    """The result of :meth:`ResidentRegister.enrol`. ``lookup_code`` exists only here: the
    register keeps just its hash, so show it to the resident once."""

    register_no: str
    community: str
    resident_ref: str
    lookup_code: str = field(repr=False)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the register ----------------------------------------------------------------------------


class ResidentRegister:
    """The resident register on one database (the ledger's URL). Use :meth:`open`; close it
    (or use it as a context manager) when done."""

    def __init__(self, engine: Engine, pepper: bytes) -> None:
        self.engine = engine
        self._pepper = pepper

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> ResidentRegister:
        """Open the register in the database at ``url``.

        ``create`` (default): a missing SQLite file, the two tables and the pepper are
        created; without it a missing file or register is an :class:`InputError`. Every
        SQLite connection gets ``PRAGMA secure_delete=ON``. Unusable URLs and unreachable
        databases are :class:`InputError`. Cost: a few statements.
        """
        engine = storage.open_engine(url, must_exist=not create)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", erasure.secure_delete_on)
        try:
            if create:
                metadata.create_all(engine)
            elif not inspect(engine).has_table(resident_register.name):
                raise InputError(
                    "no resident register in this database; enrol someone first or check --db",
                    field="database",
                )
            with _writing(engine) as conn:
                pepper = _secret(conn, PEPPER_ROW, create=True)
        except OperationalError as exc:
            engine.dispose()
            raise InputError(
                f"cannot open the database: {exc.orig}; check --db / GONGXIN_DATABASE_URL",
                field="database",
            ) from None
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, pepper)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> ResidentRegister:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _hash_code(self, code: str) -> bytes:
        return hashlib.scrypt(code.encode("ascii"), salt=self._pepper, **_SCRYPT)

    def enrol(
        self,
        community: str,
        name: str,
        id_number: str | None,
        phone: str | None,
        *,
        register_no: str | None = None,
        lookup_code: str | None = None,
    ) -> Enrolment:
        """Enrol a resident of ``community``; return the new register number, resident_ref
        and one-time lookup code.

        ``register_no`` and ``lookup_code`` are drawn at random unless given (moving an
        existing register over, or the demo); a given code that is already taken is an
        :class:`InputError`.

        Validates every field first (:class:`InputError` naming it); an ID number already
        in the register is refused. Creates the community's secret on its first enrolment.
        Cost: one scrypt (~16 MiB, tens of ms) and one short write transaction.
        """
        community = check_community(community)
        name = check_name(name)
        id_no = None if id_number is None else check_id_number(id_number)
        tel = None if phone is None else check_phone(phone)
        register_no = new_register_no() if register_no is None else check_register_no(register_no)
        given = None if lookup_code is None else _given_code(lookup_code)
        for _ in range(8):  # a lookup-code clash (65 bits) is all but impossible; draw again
            code = new_lookup_code() if given is None else given
            code_hash = self._hash_code(code)
            try:
                with _writing(self.engine) as conn:
                    if id_no is not None and _taken(conn, resident_register.c.id_number, id_no):
                        raise InputError("this ID number is already enrolled", field="id_number")
                    if _taken(conn, resident_register.c.lookup_hash, code_hash):
                        if given is not None:
                            raise InputError("lookup code already in use", field="lookup_code")
                        continue
                    ref = resident_ref(_secret(conn, community, create=True), register_no)
                    conn.execute(
                        resident_register.insert().values(
                            register_no=register_no,
                            community=community,
                            resident_ref=ref,
                            name=name,
                            id_number=id_no,
                            phone=tel,
                            lookup_hash=code_hash,
                            enrolled_at=_now(),
                        )
                    )
            except IntegrityError:
                raise InputError(
                    "a concurrent enrolment conflicted (same ID number?); try again",
                    field="id_number",
                ) from None
            return Enrolment(register_no, community, ref, code)
        raise InputError("could not draw a free lookup code; try again", field="lookup_code")

    def new_code(self, register_no: str, *, lookup_code: str | None = None) -> str:
        """Give the enrolled resident ``register_no`` a new lookup code (random unless
        given) and return it; their old code stops working at once. For lost codes and for
        residents holding a retired 8-digit code. :class:`UnknownResident` if not enrolled;
        :class:`InputError` if a given code is malformed or taken. Cost: one scrypt and one
        short write transaction."""
        no = check_register_no(register_no)
        given = None if lookup_code is None else _given_code(lookup_code)
        for _ in range(8):
            code = new_lookup_code() if given is None else given
            code_hash = self._hash_code(code)
            with _writing(self.engine) as conn:
                if _taken(conn, resident_register.c.lookup_hash, code_hash):
                    if given is not None:
                        raise InputError("lookup code already in use", field="lookup_code")
                    continue
                done = conn.execute(
                    resident_register.update()
                    .where(resident_register.c.register_no == no)
                    .values(lookup_hash=code_hash)
                ).rowcount
            if not done:
                raise UnknownResident("no such resident in the register", field="register_no")
            return code
        raise InputError("could not draw a free lookup code; try again", field="lookup_code")

    def adopt_secret(self, community: str, secret: bytes) -> None:
        """Use ``secret`` (32 bytes) as ``community``'s secret: for moving a register over,
        or the demo. :class:`InputError` if the community already has another secret."""
        community = check_community(community)
        if len(secret) != 32:
            raise InputError("a community secret is 32 bytes", field="secret")
        with _writing(self.engine) as conn:
            table = community_secrets
            found = conn.execute(
                select(table.c.secret).where(table.c.community == community)
            ).scalar_one_or_none()
            if found is None:
                conn.execute(
                    table.insert().values(community=community, secret=secret, created_at=_now())
                )
            elif bytes(found) != secret:
                raise InputError("this community already has another secret", field="community")

    def ref_of(self, register_no: str) -> str:
        """The resident_ref of ``register_no``; :class:`UnknownResident` if not in the
        register (never enrolled or erased). Cost: one indexed read."""
        no = check_register_no(register_no)
        with self.engine.connect() as conn:
            ref = conn.execute(
                select(resident_register.c.resident_ref).where(
                    resident_register.c.register_no == no
                )
            ).scalar_one_or_none()
        if ref is None:
            raise UnknownResident("no such resident in the register", field="register_no")
        return str(ref)

    def find_by_lookup_code(self, code: str) -> str | None:
        """The resident_ref whose lookup code is ``code``, or ``None`` (also for anything
        that is not 13 Crockford digits; case, spaces, hyphens and O/I/L are forgiven).
        :class:`RetiredLookupCode` for an 8-digit code (see :func:`normalize_lookup_code`).
        Cost: one scrypt (~16 MiB for tens of ms) and one indexed read; none for malformed
        or retired codes. Callers facing the public must cap concurrent calls."""
        value = normalize_lookup_code(code)
        if value is None:
            return None
        code_hash = self._hash_code(value)
        with self.engine.connect() as conn:
            ref = conn.execute(
                select(resident_register.c.resident_ref).where(
                    resident_register.c.lookup_hash == code_hash
                )
            ).scalar_one_or_none()
        return None if ref is None else str(ref)

    def erase(self, register_no: str) -> str:
        """Erase a resident (PIPL Art. 47): delete their row and scrub its copies; return the
        resident_ref that nothing links to a person any more. The log is untouched and
        still verifies.

        :class:`UnknownResident` if the register number is not in the register. On SQLite,
        afterwards no byte of the row remains in the database file or its WAL (see
        :mod:`ledger.resident_erasure`); :class:`ErasureIncomplete` if the WAL could not be
        truncated because another connection kept it busy (the row is already gone; call
        :meth:`purge`). On PostgreSQL: best effort (``VACUUM FULL`` of the table; server
        WAL, archives and replicas are not scrubbed). Backups are the operator's
        responsibility. Cost: one delete, then a full WAL checkpoint (SQLite) or a rewrite
        of the register table (PostgreSQL).
        """
        no = check_register_no(register_no)
        with _writing(self.engine) as conn:
            erasure.require_zeroing(conn)
            ref = conn.execute(
                select(resident_register.c.resident_ref).where(
                    resident_register.c.register_no == no
                )
            ).scalar_one_or_none()
            if ref is None:
                raise UnknownResident("no such resident in the register", field="register_no")
            conn.execute(resident_register.delete().where(resident_register.c.register_no == no))
        self.purge()
        return str(ref)

    def purge(self) -> None:
        """Remove old copies of deleted rows: on SQLite a ``wal_checkpoint(TRUNCATE)``
        (:class:`ErasureIncomplete` if another connection keeps the WAL busy after the
        30-second busy timeout); on PostgreSQL ``VACUUM FULL resident_register``.
        Cost: writes every page still in the WAL / rewrites the register table."""
        erasure.purge(self.engine)


def _given_code(text: str) -> str:
    """A lookup code given to :meth:`ResidentRegister.enrol` / ``new_code``, canonical;
    :class:`InputError` (field ``lookup_code``) unless it is 13 Crockford digits."""
    try:
        value = normalize_lookup_code(text)
    except RetiredLookupCode:
        value = None
    if value is None:
        raise InputError(f"must be {LOOKUP_CODE_LEN} Crockford digits", field="lookup_code")
    return value


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{storage.WRITE_OPTION: True})
        with conn.begin():
            yield conn


def _taken(conn: Connection, column: Column[Any], value: object) -> bool:
    """Whether some register row holds ``value`` in the (indexed) ``column``."""
    found = conn.execute(select(resident_register.c.register_no).where(column == value)).first()
    return found is not None


def _secret(conn: Connection, name: str, *, create: bool) -> bytes:
    """The 32-byte secret stored under ``name``, created (random) if missing and ``create``."""
    table = community_secrets
    found = conn.execute(
        select(table.c.secret).where(table.c.community == name)
    ).scalar_one_or_none()
    if found is not None:
        return bytes(found)
    if not create:
        raise InputError("no secret for this community", field="community")
    secret = secrets.token_bytes(32)
    conn.execute(table.insert().values(community=name, secret=secret, created_at=_now()))
    return secret
