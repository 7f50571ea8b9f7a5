"""What a server is configured with (``gongxin serve`` options, environment variables)."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from api.jsonbody import DEFAULT_MAX_BODY
from api.ratelimit import Network, parse_networks


@functools.cache
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(cidrs)


@dataclass(frozen=True)
class Settings:
    """``database_url``: the ledger's database (it must hold an initialised log).
    ``log_key_file``: the log's private checkpoint key; ``None`` serves read-only (writes get
    503). ``key_passphrase``: for an encrypted key file. ``max_body``: the largest request
    body in bytes. ``lookups_per_minute``: the residents' look-up throttle per client address
    (docs/API.md §5; there is no global one). ``trusted_proxies``: CIDRs of reverse proxies
    whose ``X-Forwarded-For`` is believed, walked from the right (``--trusted-proxy``).
    ``export_streams``: concurrent ``GET /v1/log/export`` downloads per server process
    (``--export-streams``; the excess gets 503 with ``Retry-After``). ``metrics``: serve
    ``/metrics`` (``--metrics``; otherwise it is 404). ``snapshot_every``: store a rule-state
    snapshot after this many entries and at shutdown (``--snapshot-every``; 0: never).
    ``witness_policy``: the witness policy file (``--witness-policy``; docs/API.md
    "Witnessing"), or ``None``: no cosignatures are collected or served.
    ``export_cache_seconds``: how long one built export zip is served to every download
    (``--export-cache-seconds``; 0: build one per download; :mod:`api.export_cache`).
    ``refusal_delay``: seconds a refusal waits while the process is busy
    (``--refusal-delay``; 0: never; :mod:`api.brake`). ``exports_per_minute``: full export
    downloads per client address and server process (``--exports-per-minute``, burst of the
    same; the excess gets 429 with ``Retry-After``; 0: no limit)."""

    database_url: str
    log_key_file: Path | None
    key_passphrase: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    lookups_per_minute: int = 10
    trusted_proxies: tuple[str, ...] = ()
    export_streams: int = 2
    metrics: bool = False
    snapshot_every: int = 100_000  # = ledger.snapshots.DEFAULT_EVERY
    witness_policy: str | None = None
    export_cache_seconds: float = 60.0
    refusal_delay: float = 0.25  # = api.brake.DEFAULT_DELAY
    exports_per_minute: int = 6

    @property
    def trusted_networks(self) -> tuple[Network, ...]:
        """:attr:`trusted_proxies` parsed (cached; validated by ``gongxin serve``)."""
        return _networks(self.trusted_proxies)

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
        data["trusted_proxies"] = tuple(data.get("trusted_proxies", ()))
        return cls(
            log_key_file=None if key is None else Path(key), key_passphrase=key_passphrase, **data
        )
