"""A deterministic sample log for a street office (街道): ``gongxin demo``.

Everything derives from the seed: keys (seeded Ed25519), statement ids, times, amounts and
resident pseudonyms, so two runs with the same seed and entry count produce byte-identical
logs. The scenario (funds, contracts, payments, activities, credit awards, redemptions, a key
revocation) is an endless stream; ``--entries N`` takes exactly its first N statements.

Residents appear only as pseudonyms: HMAC-SHA-256 of a made-up resident number under a
community secret, truncated to 32 hex digits (FORMAT.md §10) — nothing on the log identifies
a person.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.keyfile import write_private_key, write_verifier_key
from ledger.signing import sign_statement, uuid7
from verifier.entry import Submission
from verifier.keys import SignerKey
from verifier.kinds import PROCUREMENT_METHODS

DEMO_START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
DEMO_ORIGIN = "gongxin.example/jiedao-001"
COMMUNITIES = ("chunjiang", "qiuyue", "xiahe", "dongshan")
COMMUNITY_NAMES = {
    "chunjiang": "春江社区",
    "qiuyue": "秋月社区",
    "xiahe": "夏荷社区",
    "dongshan": "东山社区",
}
ACTIVITY_CATEGORIES = ("助老服务", "环境整治", "文明劝导", "儿童托管", "邻里调解", "应急演练")
REDEMPTION_ITEMS = ("理发服务", "家电维修", "助浴服务", "优先就诊预约", "社区食堂餐券", "图书借阅")
PROVIDERS = (
    ("91330106MA27XK1Q0", "杭州春晖社会工作服务中心"),
    ("52330106MJ8925712", "夕阳红居家养老服务社"),
    ("91330106MA2H3J8C9", "绿洲环境服务有限公司"),
    ("52330106MJ89310K3", "阳光少儿成长服务中心"),
    ("52330106MJ8934567", "和睦邻里调解服务社"),
    ("91330106MA2J0TQ85", "安心应急救援培训有限公司"),
)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character for the first 17 characters of a 统一社会信用代码."""
    weights = [pow(3, i, 31) for i in range(17)]
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, weights, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc(first17: str) -> str:
    """Complete a 17-character prefix with its check character."""
    return first17 + uscc_check_char(first17)


@dataclass
class DemoKeys:
    """Every key of the demo, derived from the seed (never use such keys for real)."""

    log: SignerKey
    authority: SignerKey
    finance: list[SignerKey]
    approver: SignerKey
    organisers: dict[str, SignerKey]
    service_desk: SignerKey
    auditor: SignerKey
    retired: SignerKey

    def all(self) -> list[SignerKey]:
        return [
            self.log,
            self.authority,
            *self.finance,
            self.approver,
            *self.organisers.values(),
            self.service_desk,
            self.auditor,
            self.retired,
        ]


def derive_keys(seed: int) -> DemoKeys:
    def k(name: str) -> SignerKey:
        return SignerKey.from_seed(
            name, hashlib.sha256(f"gongxin-demo/{seed}/{name}".encode()).digest()
        )

    return DemoKeys(
        log=k(DEMO_ORIGIN),
        authority=k("jiedao-001-authority"),
        finance=[k("jiedao-001-finance-1"), k("jiedao-001-finance-2")],
        approver=k("jiedao-001-approver"),
        organisers={c: k(f"{c}-organiser") for c in COMMUNITIES},
        service_desk=k("jiedao-001-service-desk"),
        auditor=k("jiedao-001-auditor"),
        retired=k("jiedao-001-finance-old"),
    )


def write_keys(keys: DemoKeys, directory: Path) -> None:
    """Write every demo key as NAME.key (0600) and NAME.vkey into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for key in keys.all():
        stem = key.name.replace("/", "_")
        write_private_key(directory / f"{stem}.key", key)
        write_verifier_key(directory / f"{stem}.vkey", key.verifier())


class DemoClock:
    """The demo's simulated clock: the ledger reads it once per batch."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Scenario:
    """The endless, deterministic stream of demo statements (signed submissions)."""

    seed: int
    keys: DemoKeys
    clock: DemoClock
    #: Activities per community per day. A larger demo is a busier district, so that even
    #: 10^6 entries span months, not decades (log times stay in the past).
    scale: int = 1
    rng: random.Random = field(init=False)
    community_secret: dict[str, bytes] = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.community_secret = {
            c: hashlib.sha256(f"gongxin-demo/{self.seed}/secret/{c}".encode()).digest()
            for c in COMMUNITIES
        }

    # -- helpers -----------------------------------------------------------------------

    def _sign(self, kind: str, body: dict[str, Any], key: SignerKey) -> Submission:
        bits = self.rng.getrandbits(128)
        signed_at = self.clock.now - timedelta(seconds=self.rng.randint(1, 600))
        sid = uuid7(signed_at, bits)
        return sign_statement(kind, body, key, statement_id=sid, time=signed_at)

    def resident_ref(self, community: str, number: int) -> str:
        """Pseudonym of resident ``number``: HMAC under the community secret (FORMAT.md §10)."""
        msg = f"resident/{community}/{number:06d}".encode()
        return hmac.new(self.community_secret[community], msg, hashlib.sha256).hexdigest()[:32]

    # -- the stream --------------------------------------------------------------------

    def statements(self) -> Iterator[Submission]:
        """Yield the scenario, one signed submission at a time. Advances the clock."""
        keys = self.keys
        yield self._sign(
            "log.genesis",
            {
                "authorities": [str(keys.authority.verifier())],
                "log_key": str(keys.log.verifier()),
                "origin": DEMO_ORIGIN,
            },
            keys.authority,
        )
        grants = [
            (keys.finance[0], ["finance_officer"], "街道财务科 会计"),
            (keys.finance[1], ["finance_officer"], "街道财务科 出纳"),
            (keys.retired, ["finance_officer"], "街道财务科 原会计(已调岗)"),
            (keys.approver, ["approver"], "街道分管领导 审批"),
            *(
                (keys.organisers[c], ["organiser"], f"{COMMUNITY_NAMES[c]} 志愿服务站")
                for c in COMMUNITIES
            ),
            (keys.service_desk, ["service_desk"], "街道便民服务中心"),
            (keys.auditor, ["auditor"], "第三方评估机构"),
        ]
        for key, roles, title in grants:
            yield self._sign(
                "key.grant",
                {"key": str(key.verifier()), "roles": roles, "title": title},
                keys.authority,
            )
        yield self._sign(
            "fund.appropriate",
            {
                "fund_id": "F-2026-BASE",
                "fiscal_year": 2026,
                "programme": "基层治理试点(调岗前录入)",
                "source": "财政",
                "amount_fen": 50_000_000,
            },
            keys.retired,
        )
        yield self._sign(
            "key.revoke",
            {"key_id": keys.retired.key_id.hex(), "reason": "岗位调整,密钥停用"},
            keys.authority,
        )
        day = 0
        while True:
            yield from self._day(day)
            day += 1

    def _day(self, day: int) -> Iterator[Submission]:
        """One simulated working day of the street office."""
        rng, keys = self.rng, self.keys
        self.clock.now = DEMO_START + timedelta(days=day, hours=1)
        year = self.clock.now.year
        if day % 90 == 0:
            for n, (source, programme) in enumerate(
                (("财政", "政府购买养老服务"), ("社区基金", "社区微更新"), ("捐赠", "困难群众帮扶"))
            ):
                yield self._sign(
                    "fund.appropriate",
                    {
                        "fund_id": f"F-{year}-{day // 90:02d}-{n}",
                        "fiscal_year": year,
                        "programme": programme,
                        "source": source,
                        "amount_fen": rng.randint(20, 200) * 1_000_000,
                    },
                    keys.finance[0],
                )
        if day % 7 == 0:
            uscc_code, provider = PROVIDERS[(day // 7) % len(PROVIDERS)]
            contract_id = f"C-{year}-{day:04d}"
            yield self._sign(
                "contract.award",
                {
                    "contract_id": contract_id,
                    "fund_id": f"F-{year}-{day // 90:02d}-0",
                    "provider_uscc": uscc(uscc_code[:17]),
                    "title": f"{provider} 服务项目",
                    "method": PROCUREMENT_METHODS[day % len(PROCUREMENT_METHODS)],
                    "total_fen": rng.randint(5, 50) * 100_000,
                },
                keys.finance[0],
            )
            payment_id = f"P-{year}-{day:04d}-1"
            yield self._sign(
                "payment.propose",
                {
                    "payment_id": payment_id,
                    "contract_id": contract_id,
                    "amount_fen": rng.randint(1, 5) * 100_000,
                    "invoice_no": f"INV{day:06d}",
                },
                keys.finance[1],
            )
            yield self._sign("payment.approve", {"payment_id": payment_id}, keys.approver)
        for community in COMMUNITIES:
            for n in range(self.scale):
                yield from self._activity(day, community, n)

    def _activity(self, day: int, community: str, n: int) -> Iterator[Submission]:
        """One volunteer activity: registration, credit awards, a few redemptions."""
        rng, keys = self.rng, self.keys
        organiser = keys.organisers[community]
        activity_id = f"A-{community}-{day:05d}" + (f"-{n}" if n else "")
        yield self._sign(
            "activity.register",
            {
                "activity_id": activity_id,
                "community": community,
                "category": ACTIVITY_CATEGORIES[rng.randrange(len(ACTIVITY_CATEGORIES))],
                "date": self.clock.now.date().isoformat(),
            },
            organiser,
        )
        for _ in range(rng.randint(5, 30)):
            resident = self.resident_ref(community, rng.randrange(60 * self.scale))
            yield self._sign(
                "credit.award",
                {
                    "resident_ref": resident,
                    "activity_id": activity_id,
                    "minutes": rng.choice((30, 60, 90, 120, 180)),
                },
                organiser,
            )
        for _ in range(rng.randint(0, 3)):
            yield self._sign(
                "credit.redeem",
                {
                    "resident_ref": self.resident_ref(community, rng.randrange(60 * self.scale)),
                    "item": REDEMPTION_ITEMS[rng.randrange(len(REDEMPTION_ITEMS))],
                    "points": rng.choice((10, 20, 50)),
                },
                keys.service_desk,
            )


def build_demo(
    url: str, entries: int, seed: int, keys_dir: Path | None, batch_size: int = 1000
) -> tuple[int, str]:
    """Build the demo log of exactly ``entries`` entries in the (empty) database at ``url``.

    Statements of one simulated day are appended together (one transaction and checkpoint
    per day, or per ``batch_size``). Returns (size, latest checkpoint). ``keys_dir``, when
    given, receives every demo key. Cost: O(entries) signatures and verifications.
    """
    from ledger.log import Ledger  # local: keep the scenario importable without a database

    if entries < 1:
        raise ValueError("entries must be at least 1")
    keys = derive_keys(seed)
    if keys_dir is not None:
        write_keys(keys, keys_dir)
    clock = DemoClock(DEMO_START)
    # About 80 entries per simulated day at scale 1: keep even 10^6 entries under ~300 days.
    scenario = Scenario(seed, keys, clock, scale=1 + entries // 24_000)
    stream = scenario.statements()
    with Ledger.open(url, log_key=keys.log, clock=clock) as ledger:
        if ledger.size:
            raise ValueError("the database already holds a log")
        ledger.initialize(next(stream).canonical())
        batch: list[bytes] = []
        day = clock.now
        for sub in stream:
            if ledger.size + len(batch) >= entries:
                break
            if batch and (clock.now != day or len(batch) >= batch_size):
                flush_time = clock.now
                clock.now = day
                ledger.append_batch(batch)
                clock.now = flush_time
                batch = []
            day = clock.now
            batch.append(sub.canonical())
        if batch:
            ledger.append_batch(batch)
        return ledger.size, ledger.latest_checkpoint()
