"""``gongxin monitor``: follow a log through its tiles, check it and keep a copy
(docs/WITNESSING.md). Imports only the verifier: a monitor trusts nothing the log runs."""
