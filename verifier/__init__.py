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
- :mod:`verifier.keys`        Ed25519 keys: key names, key ids, key strings (FORMAT.md §1)
- :mod:`verifier.note`        C2SP signed notes (FORMAT.md §6)
- :mod:`verifier.checkpoint`  C2SP tlog-checkpoint (FORMAT.md §6)
- :mod:`verifier.entry`       statements and log entries (FORMAT.md §3, §4)
- :mod:`verifier.registry`    the key registry and role rules (FORMAT.md §7)
- :mod:`verifier.kinds`       entry kinds: roles and body shapes (FORMAT.md §7, §10)
- :mod:`verifier.rules`       the funds-and-credits rulebook: policy, parties, funds, contracts,
  payments, activities, credits (FORMAT.md §10)
- :mod:`verifier.pseudonym`   resident pseudonyms (FORMAT.md §10.5)
- :mod:`verifier.state`       the replayed state and ``check_and_apply``, THE validity rule (FORMAT.md §8)
- :mod:`verifier.audit`       streaming verification of an export bundle (FORMAT.md §9)
- :mod:`verifier.inclusion`   light mode: one entry against a checkpoint (FORMAT.md §9)
- :mod:`verifier.report`      the reports ``--json`` writes
- :mod:`verifier.cli`         ``gongxin-verify`` (exit codes 0 valid, 1 invalid, 2 usage, 3 bug)

Internal: ``verifier.parallel`` (signature checks on every core), ``verifier._chunks``
(chunked reading and dispatch), ``verifier.journal`` (undo log for rejected batches).
"""
