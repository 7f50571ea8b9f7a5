"""Gongxin verifier: the standalone audit tool and the pure rules it shares with the ledger.

Everything in this package is pure Python over ``pynacl`` and ``orjson`` only. It never
imports ``ledger``, ``api``, SQLAlchemy, FastAPI or uvicorn (``tests/test_standalone_verifier.py``
proves it in a fresh virtual environment), so that a third-party evaluator can run it with
nothing but the published public keys. The ledger imports these modules to decide validity
when it accepts entries: validity is defined once, here.

Public surface:

- :mod:`verifier.errors`      typed errors (``InputError``, ``VerificationError``)
- :mod:`verifier.canonical`   RFC 8785 canonical JSON (FORMAT.md §2)
- :mod:`verifier.merkle`      RFC 9162 tree hashing and proofs (FORMAT.md §5)
- :mod:`verifier.note`        C2SP signed notes and Ed25519 keys (FORMAT.md §1, §6)
- :mod:`verifier.checkpoint`  C2SP tlog-checkpoint (FORMAT.md §6)
- :mod:`verifier.entry`       statements and log entries (FORMAT.md §3, §4)
- :mod:`verifier.registry`    the key registry and role rules (FORMAT.md §7)
- :mod:`verifier.audit`       streaming verification of an export bundle (FORMAT.md §8, §9)
"""
