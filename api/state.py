"""The server's open resources, built at start-up and closed at shutdown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from api.metrics import Metrics
from api.problems import Problem
from api.ratelimit import ClientLimiter, LookupLimiter, client_address
from api.sequencer import Sequencer
from api.settings import Settings
from ledger.cosigning import newest_witnessed
from ledger.log import Ledger
from ledger.residents import ResidentRegister
from ledger.signing.keyfile import read_private_key
from verifier.core.errors import InputError
from verifier.witness.policy import WitnessPolicy, load_policy


@dataclass
class ServerState:
    settings: Settings
    ledger: Ledger
    sequencer: Sequencer | None
    register: ResidentRegister
    limiter: LookupLimiter
    metrics: Metrics
    #: ``--exports-per-minute``: full export downloads per client address (0: no limit).
    export_limiter: ClientLimiter
    #: ``--witness-policy``: whose cosignatures to collect and the quorum (``None``: none).
    witness_policy: WitnessPolicy | None = None

    @classmethod
    def open(cls, settings: Settings) -> ServerState:
        """Open the ledger (replaying it into the rulebook; O(n)), the resident register,
        and start the writer. Raises :class:`InputError` for a missing database or key."""
        log_key = None
        policy = None
        if settings.witness_policy is not None:
            policy = load_policy(Path(settings.witness_policy))
        if settings.log_key_file is not None:
            log_key = read_private_key(settings.log_key_file, settings.key_passphrase)
        ledger = Ledger.open(
            settings.database_url,
            create=False,
            log_key=log_key,
        )
        if ledger.size == 0:
            ledger.close()
            raise InputError(
                "the database holds no log; run `gongxin init` (or `gongxin demo`) first",
                field="database",
            )
        register = ResidentRegister.open(settings.database_url)
        metrics = Metrics()
        sequencer = (
            Sequencer(ledger, metrics, settings.snapshot_every) if log_key is not None else None
        )
        return cls(
            settings,
            ledger,
            sequencer,
            register,
            LookupLimiter(settings.lookups_per_minute),
            metrics,
            ClientLimiter(settings.exports_per_minute),
            policy,
        )

    def client(self, request: Request) -> str:
        """The key a request is throttled under (:func:`api.ratelimit.client_address`): the
        TCP peer, or behind a ``--trusted-proxy`` the right-most untrusted X-Forwarded-For
        address. O(hops × proxies)."""
        peer = request.client.host if request.client else "?"
        trusted = self.settings.trusted_networks
        if not trusted:
            return client_address(peer, (), ())
        return client_address(peer, request.headers.getlist("x-forwarded-for"), trusted)

    def close(self) -> None:
        if self.sequencer is not None:
            self.sequencer.close()
        self.register.close()
        self.ledger.close()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold while reading in-memory state (the rulebook): appends in this process
        wait meanwhile. First applies what other server processes committed (one indexed
        query), so every worker answers from the whole log."""
        with self.sequencer.lock if self.sequencer is not None else nullcontext():
            self.ledger.refresh()
            yield

    def sync(self) -> tuple[int, str]:
        """(size, checkpoint) of the whole log as committed by any server process."""
        with self.reading():
            return self.ledger.published()

    def witnessed(self) -> tuple[int, str] | None:
        """(size, cosigned note) of the newest checkpoint the policy's quorum cosigned, or
        ``None`` (no policy, or none witnessed yet). Cost: a few indexed reads."""
        if self.witness_policy is None:
            return None
        return newest_witnessed(self.ledger, self.witness_policy)

    @property
    def log_vkey(self) -> str:
        assert self.ledger.log_vkey is not None
        return str(self.ledger.log_vkey)


def server(request: Request) -> ServerState:
    """The state of the app serving ``request`` (a FastAPI dependency)."""
    state: ServerState | None = getattr(request.app.state, "server", None)
    if state is None:
        raise Problem(503, "log.empty", "服务尚未就绪 the server is not ready")
    return state
