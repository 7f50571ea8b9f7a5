"""The verifier's trusted core: format and math an auditor reads to trust a verdict
(FORMAT.md §1–§6, §9). Pure (stdlib, pynacl, orjson), no I/O; signing and proof building are
the log's (``ledger.signing``, ``ledger.proofs``). Reading order: docs/ARCHITECTURE.md §2."""
