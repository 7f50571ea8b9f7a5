"""What a server is configured with (``gongxin serve`` options, environment variables)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from api.jsonbody import DEFAULT_MAX_BODY


@dataclass(frozen=True)
class Settings:
    """``database_url``: the ledger's database (it must hold an initialised log).
    ``log_key_file``: the log's private checkpoint key; ``None`` serves read-only (writes get
    503). ``key_passphrase``: for an encrypted key file. ``max_body``: the largest request
    body in bytes. ``lookups_per_minute`` / ``lookups_global_per_minute``: the residents'
    look-up throttle (docs/API.md §5). ``trust_forwarded_for``: take the client address for
    throttling from ``X-Forwarded-For`` (only behind a reverse proxy that sets it)."""

    database_url: str
    log_key_file: Path | None
    key_passphrase: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    lookups_per_minute: int = 10
    lookups_global_per_minute: int = 600
    trust_forwarded_for: bool = False

    def to_json(self) -> str:
        """For handing the settings to worker processes (``gongxin serve --workers``)."""
        out = asdict(self)
        out["log_key_file"] = None if self.log_key_file is None else str(self.log_key_file)
        out.pop("key_passphrase")  # never in the environment of other processes' children
        return json.dumps(out)

    @classmethod
    def from_json(cls, text: str, key_passphrase: str | None = None) -> Settings:
        data = json.loads(text)
        key = data.pop("log_key_file")
        return cls(
            log_key_file=None if key is None else Path(key), key_passphrase=key_passphrase, **data
        )
