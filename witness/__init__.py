"""A C2SP tlog-witness (FORMAT.md §14, docs/WITNESSING.md): checks a log's checkpoints for
consistency, remembers the latest per origin and cosigns it (C2SP tlog-cosignature).
Imports only ``verifier``, the stdlib and the server stack (never ``ledger`` or ``api``)."""
