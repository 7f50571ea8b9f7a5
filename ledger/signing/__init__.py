"""Private keys and signing: key files, statements, notes and checkpoints (the log's and the
officers' half; the verifier only ever holds public keys)."""
