"""The verifier's trusted core: what an auditor reads to trust a verdict (FORMAT.md §1–§6, §9).

- :mod:`verifier.core.errors`         typed failures (``InputError``, ``VerificationError``)
- :mod:`verifier.core.canonical`      RFC 8785 canonical JSON (§2)
- :mod:`verifier.core.keys`           Ed25519 public keys, key names and key ids (§1)
- :mod:`verifier.core.entry`          statements, submissions and log entries (§3, §4)
- :mod:`verifier.core.merkle`         RFC 9162 hashing and proof verification (§5)
- :mod:`verifier.core.compact_range`  building a tree one leaf at a time (§5)
- :mod:`verifier.core.note`           C2SP signed notes, opened (§6)
- :mod:`verifier.core.checkpoint`     C2SP tlog-checkpoint, opened (§6)
- :mod:`verifier.core.bundle`         the export bundle's file names (§9)

Pure: the standard library, ``pynacl`` and ``orjson``; no I/O. Signing and proof building are
not here (they are the log's: ``ledger.signing``, ``ledger.proofs``).
"""
