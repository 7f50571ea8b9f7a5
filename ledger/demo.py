"""A deterministic sample log for a street office (街道): ``gongxin demo``.

The scenario: 街道 ``jiedao-001`` with four communities (社区居委会), seven service providers
(社会组织 and companies), budget lines (财政), a community fund (社区基金) and a charity fund
(捐赠); purchase-of-service contracts (政府购买服务) with milestone payments, dual control above
the policy's threshold, a rejected payment, a reversal, contract amendments; volunteer
activities in every community, credit awards, corrections, redemptions, family transfers and
monthly expiry runs; a second policy version; the accountant's key revoked when the
accountant changes post. Every entry is valid under the rulebook (FORMAT.md §10): the scenario keeps its own
small mirror of the rules' state (fund balances, milestone commitments, resident lots) and
only proposes what the rules accept.

Time. The simulated office opens on Monday 2025-01-06 (:data:`DEMO_START`); the statements
of a simulated day are appended as one batch (one checkpoint; batches of at most 1,000),
logged at 09:00 Beijing time, so "today" of the rules is the simulated day. The first
:data:`SCALE_FROM_DAY` days (18 months, ~25 entries a day) are the same for every
``--entries``: a log of at most :data:`DEFAULT_ENTRIES` entries is a prefix of the default
demo (and a prefix of a valid log is valid). Longer logs continue at a larger *scale* (more
volunteer activities a day, a larger resident pool), chosen by :func:`scale_for` so that any
log ends about 100 simulated days after the switch: 10^6 entries end in October 2026, log
times stay in the past.

Determinism: keys, ids, times, amounts and pseudonyms all derive from the seed, so the same
seed and entry count give a byte-identical log (Ed25519 signatures are deterministic).

Residents appear only as pseudonyms (FORMAT.md §10.5): ``resident_ref`` of a made-up
register number under a per-community secret derived from the seed.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ledger.keyfile import write_private_key, write_verifier_key
from ledger.signing import sign_statement
from verifier.entry import Submission
from verifier.keys import SignerKey
from verifier.kinds import USCC_ALPHABET, uscc_check_char
from verifier.pseudonym import resident_ref

if TYPE_CHECKING:
    from ledger.log import Ledger

DEMO_START = datetime(2025, 1, 6, 1, 0, tzinfo=UTC)  # Monday, 09:00 Beijing time
DEMO_ORIGIN = "gongxin.example/jiedao-001"
#: The default ``--entries``: about 17 simulated months (to 2026-06), the whole scenario.
DEFAULT_ENTRIES = 13_000
#: From this simulated day (2026-07-06) on, the office works at :attr:`Scenario.scale`.
SCALE_FROM_DAY = 546
#: Every this many entries beyond the default add one unit of scale (see :func:`scale_for`).
ENTRIES_PER_SCALE = 2_500

COMMUNITIES = ("chunjiang", "qiuyue", "xiahe", "dongshan")
COMMUNITY_NAMES = {
    "chunjiang": "春江社区",
    "qiuyue": "秋月社区",
    "xiahe": "夏荷社区",
    "dongshan": "东山社区",
}
#: Residents per community in the volunteer pool at scale 1 (more at larger scales).
POOL_PER_SCALE = 80
#: Administrative division of the registration authority in the USCCs (杭州市西湖区).
DIVISION = "330106"
#: Crockford base-32, as in the off-log resident register's register numbers.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_FROM_BASE32 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", CROCKFORD)

THRESHOLD_FEN = 5_000_000  # 50,000 yuan: dual control from here (FORMAT.md §10.3)
YUAN = 100

POLICY_V1: dict[str, Any] = {
    "version": 1,
    "currency": "CNY",
    "dual_control_threshold_fen": THRESHOLD_FEN,
    "credit_rates": [
        {"category": "助老服务", "points_per_hour": 10},
        {"category": "环境整治", "points_per_hour": 8},
        {"category": "文明劝导", "points_per_hour": 6},
        {"category": "儿童托管", "points_per_hour": 10},
        {"category": "邻里调解", "points_per_hour": 12},
        {"category": "应急演练", "points_per_hour": 8},
        {"category": "文体活动", "points_per_hour": 5},
    ],
    "daily_cap_points": 60,
    "activity_cap_points": 40,
    "balance_cap_points": 3000,
    "expiry_months": 12,
    "catalogue": [
        {"item": "理发服务", "points": 50},
        {"item": "社区食堂餐券", "points": 30},
        {"item": "家电小修", "points": 80},
        {"item": "助浴服务", "points": 100},
        {"item": "磨刀修伞", "points": 20},
        {"item": "洗衣液(2kg)", "points": 40},
    ],
    "transfer_relations": ["子女", "父母", "配偶"],
}
#: From 2025-07-01: 助老服务 raised, 垃圾分类督导 added, a higher balance cap, a health check
#: in the catalogue, transfers to grandparents and grandchildren too.
POLICY_V2: dict[str, Any] = {
    **POLICY_V1,
    "version": 2,
    "credit_rates": [
        {"category": "助老服务", "points_per_hour": 12},
        *POLICY_V1["credit_rates"][1:],
        {"category": "垃圾分类督导", "points_per_hour": 8},
    ],
    "balance_cap_points": 5000,
    "catalogue": [*POLICY_V1["catalogue"], {"item": "老年人健康体检套餐", "points": 300}],
    "transfer_relations": ["子女", "孙子女", "父母", "祖父母", "配偶"],
}
POLICY_V2_DAY = 176  # 2025-07-01
REVOKE_DAY = 120  # 2025-05-06: the accountant changes post

ACTIVITY_TITLES = {
    "助老服务": ("独居老人上门探访", "助老餐食配送", "陪同老人就医", "老年人智能手机教学"),
    "环境整治": ("楼道杂物清理", "背街小巷卫生大扫除", "绿化带补植养护", "共享单车规范停放"),
    "文明劝导": ("路口文明交通劝导", "电动车进楼劝导", "文明养犬宣传"),
    "儿童托管": ("四点半课堂作业辅导", "亲子阅读会", "周末手工课堂"),
    "邻里调解": ("邻里纠纷调解", "物业矛盾协商议事会"),
    "应急演练": ("消防疏散演练", "防汛物资清点", "急救知识与AED培训"),
    "文体活动": ("广场舞队公益演出", "社区运动会志愿服务", "重阳节文艺汇演"),
    "垃圾分类督导": ("垃圾分类定时定点督导", "厨余垃圾破袋指导"),
}
CATEGORY_WEIGHTS = {
    "助老服务": 5,
    "环境整治": 4,
    "文明劝导": 2,
    "儿童托管": 2,
    "邻里调解": 1,
    "应急演练": 1,
    "文体活动": 2,
    "垃圾分类督导": 3,
}
MINUTES = (60, 90, 120, 120, 150, 180, 240)

#: (party id, type, name, USCC prefix: registration authority and category code)
PROVIDERS = (
    ("chunhui-sw", "social_organisation", "杭州市西湖区春晖社会工作服务中心", "52"),
    ("xiyanghong", "social_organisation", "西湖区夕阳红居家养老服务中心", "52"),
    ("lvzhou-env", "company", "杭州绿洲环境服务有限公司", "91"),
    ("yangguang-kids", "social_organisation", "西湖区阳光少儿成长服务中心", "52"),
    ("hemu-mediation", "social_organisation", "西湖区和睦邻里调解服务社", "52"),
    ("anxin-safety", "company", "杭州安心应急救援培训有限公司", "91"),
    ("mingde-property", "company", "杭州明德物业管理有限公司", "91"),
)


def uscc(prefix2: str, seed_text: str) -> str:
    """A well-formed 统一社会信用代码: registration authority and category ``prefix2``, the
    district, a 9-character subject code derived from ``seed_text``, the GB 32100-2015 check
    character."""
    h = hashlib.sha256(seed_text.encode()).digest()
    subject = "MA" + "".join(USCC_ALPHABET[b % len(USCC_ALPHABET)] for b in h[:7])
    first17 = prefix2 + DIVISION + subject
    return first17 + uscc_check_char(first17)


def digest(text: str) -> str:
    """A SHA-256 standing in for an off-log document (evidence, invoice, receipt)."""
    return hashlib.sha256(text.encode()).hexdigest()


def uuid7(at: datetime, rand: int) -> str:
    """:func:`ledger.signing.uuid7` (the same bits), faster: the demo makes millions."""
    ms = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    r = rand & ((1 << 74) - 1)
    value = (ms << 80) | (0x7 << 76) | ((r >> 62) << 64) | (0b10 << 62) | (r & ((1 << 62) - 1))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def scale_for(entries: int) -> int:
    """The scale of the office from :data:`SCALE_FROM_DAY` on, for a log of ``entries``:
    1 up to the default size, then one more for every :data:`ENTRIES_PER_SCALE` entries, so
    that any log ends about 100 simulated days after 2026-07-06 (≈ 25 entries a day per
    unit of scale)."""
    return 1 + max(0, entries - DEFAULT_ENTRIES) // ENTRIES_PER_SCALE


# --------------------------------------------------------------------------------- keys


@dataclass
class DemoKeys:
    """Every key of the demo, derived from the seed (never use such keys for real).

    ``finance`` is [accountant (revoked on :data:`REVOKE_DAY`), cashier, successor]."""

    log: SignerKey
    authority: SignerKey
    finance: list[SignerKey]
    approver: SignerKey
    organisers: dict[str, SignerKey]
    service_desk: SignerKey
    auditor: SignerKey

    @property
    def retired(self) -> SignerKey:
        """The key the scenario revokes (the first accountant's)."""
        return self.finance[0]

    def all(self) -> list[SignerKey]:
        return [
            self.log,
            self.authority,
            *self.finance,
            self.approver,
            *self.organisers.values(),
            self.service_desk,
            self.auditor,
        ]


def derive_keys(seed: int) -> DemoKeys:
    def k(name: str) -> SignerKey:
        return SignerKey.from_seed(
            name, hashlib.sha256(f"gongxin-demo/{seed}/{name}".encode()).digest()
        )

    return DemoKeys(
        log=k(DEMO_ORIGIN),
        authority=k("jiedao-001-authority"),
        finance=[k(f"jiedao-001-finance-{n}") for n in (1, 2, 3)],
        approver=k("jiedao-001-approver"),
        organisers={c: k(f"{c}-organiser") for c in COMMUNITIES},
        service_desk=k("jiedao-001-service-desk"),
        auditor=k("jiedao-001-auditor"),
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


# ------------------------------------------------------------------- scenario's own state


class Planned(NamedTuple):
    """A statement the scenario will sign: it lands at log index ``log_index``."""

    kind: str
    body: dict[str, Any]
    key: SignerKey
    statement_id: str
    signed_at: datetime
    log_index: int


@dataclass
class _Fund:
    fund_id: str
    source: str
    appropriated: int
    contracted: int = 0

    @property
    def unallocated(self) -> int:
        return self.appropriated - self.contracted


@dataclass
class _Milestone:
    milestone_id: str
    amount: int
    due: date
    deliverable: str
    committed: int = 0
    pending: bool = False

    def body(self) -> dict[str, Any]:
        return {
            "milestone_id": self.milestone_id,
            "amount_fen": self.amount,
            "due": self.due.isoformat(),
            "deliverable": self.deliverable,
        }


@dataclass
class _Contract:
    contract_id: str
    fund: _Fund
    milestones: list[_Milestone]
    evidence: list[str]

    @property
    def total(self) -> int:
        return sum(m.amount for m in self.milestones)


@dataclass
class _Payment:
    payment_id: str
    contract: _Contract
    milestone: _Milestone
    amount: int
    day: int


@dataclass
class _Activity:
    activity_id: str
    community: str
    category: str
    date: date
    #: (award index, resident, minutes, points)
    awards: list[tuple[int, str, int, int]] = field(default_factory=list)


@dataclass
class _ContractPlan:
    """A contract to award: who, from which fund line, what, and its milestone schedule."""

    provider: str
    fund_key: str
    title: str
    method: str
    total_yuan: int
    milestones: list[tuple[int, date, str]]  # (percent, due, deliverable)


#: Budget lines of a fiscal year: key → (source, programme, amount in yuan).
FUND_LINES = {
    "YL": ("财政", "政府购买居家养老服务", 2_400_000),
    "HJ": ("财政", "社区环境综合整治", 1_200_000),
    "ZL": ("财政", "平安社区与基层治理服务", 900_000),
    "SQJJ": ("社区基金", "社区基金:楼道微更新与微心愿", 200_000),
    "JZ": ("捐赠", "困难群众帮扶(慈善捐赠)", 60_000),
}


#: The contracts renewed every year: (provider, fund line, title, method, yuan, milestones
#: as (percent, due "MM-DD", deliverable)).
ANNUAL_CONTRACTS: tuple[tuple[str, str, str, str, int, tuple[tuple[int, str, str], ...]], ...] = (
    ("chunhui-sw", "YL", "社区居家养老上门服务项目", "公开招标", 960_000, (
        (25, "03-31", "第一季度居家养老服务报告及验收"),
        (25, "06-30", "第二季度居家养老服务报告及验收"),
        (25, "09-30", "第三季度居家养老服务报告及验收"),
        (25, "12-31", "第四季度居家养老服务报告及年度评估"))),
    ("xiyanghong", "YL", "老年助餐点运营服务", "竞争性磋商", 480_000, (
        (40, "04-30", "上半年助餐服务台账及满意度调查"),
        (30, "08-31", "三季度助餐服务台账"),
        (30, "12-31", "全年助餐服务总结及第三方评估"))),
    ("lvzhou-env", "HJ", "背街小巷环境整治服务", "公开招标", 620_000, (
        (25, "03-31", "第一季度环境整治验收"),
        (25, "06-30", "第二季度环境整治验收"),
        (25, "09-30", "第三季度环境整治验收"),
        (25, "12-31", "第四季度环境整治验收及年度评估"))),
    ("lvzhou-env", "HJ", "垃圾分类定时定点督导服务", "框架协议", 240_000, (
        (50, "06-30", "上半年督导记录及分类准确率报告"),
        (50, "12-31", "下半年督导记录及年度评估"))),
    ("hemu-mediation", "ZL", "社区矛盾纠纷调解服务", "竞争性谈判", 180_000, (
        (50, "06-30", "上半年调解案例台账"),
        (50, "12-31", "全年调解工作总结"))),
    ("anxin-safety", "ZL", "社区应急演练与培训", "询价", 96_000, (
        (40, "05-31", "春季消防疏散演练及培训记录"),
        (30, "09-30", "汛期防汛演练记录"),
        (30, "11-30", "冬季消防演练及年度总结"))),
    ("yangguang-kids", "ZL", "“四点半课堂”儿童托管服务", "竞争性磋商", 200_000, (
        (30, "04-30", "春季学期服务记录"),
        (30, "08-31", "暑期托管服务记录"),
        (40, "12-31", "秋季学期服务记录及家长满意度调查"))),
    ("mingde-property", "SQJJ", "老旧小区楼道微更新(社区基金资助)", "邀请招标", 150_000, (
        (30, "03-31", "施工方案及居民议事会决议"),
        (50, "06-30", "施工完成及居民验收"),
        (20, "12-31", "质保期满验收"))),
    ("chunhui-sw", "JZ", "困难家庭帮扶个案服务", "单一来源", 40_000, (
        (50, "06-30", "上半年个案服务记录"),
        (50, "12-31", "全年个案服务总结"))),
)  # fmt: skip


def annual_contracts(year: int) -> list[_ContractPlan]:
    """The contracts of :data:`ANNUAL_CONTRACTS` for ``year``."""
    return [
        _ContractPlan(
            provider,
            line,
            f"{year}年度{title}",
            method,
            yuan,
            [(pct, date.fromisoformat(f"{year}-{due}"), what) for pct, due, what in steps],
        )
        for provider, line, title, method, yuan, steps in ANNUAL_CONTRACTS
    ]


#: One-off projects, awarded every four weeks from whichever line has room.
PROJECTS = (
    ("anxin-safety", "ZL", "社区老年人防跌倒安全改造", "询价"),
    ("yangguang-kids", "ZL", "暑期青少年安全教育系列活动", "竞争性磋商"),
    ("chunhui-sw", "YL", "高龄独居老人智能监护设备安装与巡访", "竞争性磋商"),
    ("lvzhou-env", "HJ", "口袋公园绿化提升", "询价"),
    ("mingde-property", "SQJJ", "加装楼道扶手与照明(社区基金资助)", "询价"),
    ("hemu-mediation", "ZL", "“邻里议事厅”协商议事能力培训", "单一来源"),
    ("xiyanghong", "YL", "老年食堂适老化改造", "竞争性谈判"),
)
REJECT_REASONS = (
    "发票金额与验收报告不符,请重新开具后提交",
    "验收材料缺少服务对象签字,退回补充",
    "发票抬头与合同甲方不一致",
)
REVERSE_REASONS = (
    "收款账户信息有误,银行退票,款项已退回",
    "重复支付,已由服务机构退回",
)
CORRECT_REASONS = {
    "less": "核对签到表:实际服务时长少于登记时长",
    "more": "补录延时服务时长(有签到表为证)",
    "cancel": "该居民当日未实际到场,撤销误登记录",
}


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _month_number(d: date) -> int:
    return d.year * 12 + d.month - 1


# ------------------------------------------------------------------------------ scenario


@dataclass
class Scenario:
    """The endless, deterministic stream of demo statements.

    :meth:`statements` yields signed submissions; :meth:`skip` advances without signing
    (the benchmarks fast-forward this way). ``scale`` is the office's size from day
    ``scale_from_day`` on (1 before): activities per community per day and the resident
    pool grow with it. :meth:`rescale` changes both mid-stream (benchmarks)."""

    seed: int
    keys: DemoKeys
    clock: DemoClock
    scale: int = 1
    scale_from_day: int = SCALE_FROM_DAY
    #: Number of statements planned so far: the log index of the next one.
    count: int = field(init=False, default=0)
    day: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.secret = {
            c: hashlib.sha256(f"gongxin-demo/{self.seed}/secret/{c}".encode()).digest()
            for c in COMMUNITIES
        }
        self.policy: dict[str, Any] = POLICY_V1
        self.rates: dict[str, int] = {}
        self._set_policy(POLICY_V1)
        self.accountant = self.keys.finance[0]
        # money
        self.funds: dict[tuple[int, str], _Fund] = {}
        self.contracts: list[_Contract] = []  # open contracts, in award order
        self.contract_queue: list[_ContractPlan] = []
        self.pending: list[_Payment] = []
        self.reversals: dict[int, list[_Payment]] = {}
        self.n_contracts: dict[int, int] = {}
        self.n_payments = 0
        self.n_amendments = 0
        self.n_donations = 0
        self.rejected = 0
        self.reversed = 0
        self.quarter_done: tuple[int, int] = (2025, 1)
        # credits
        self.refs: dict[str, list[str]] = {c: [] for c in COMMUNITIES}
        self.lots: dict[str, list[list[Any]]] = {}
        self.balance: dict[str, int] = {}
        self.earners: dict[str, list[str]] = {c: [] for c in COMMUNITIES}
        self.used: dict[tuple[str, date], set[str]] = {}
        self.award_queue: dict[int, list[_Activity]] = {}
        self.correct_queue: dict[int, list[tuple[_Activity, int]]] = {}
        self.n_activities: dict[tuple[str, date], int] = {}
        self.expired_through = ""
        self._plan = self._script()

    # -- the stream ------------------------------------------------------------------------

    def statements(self) -> Iterator[Submission]:
        """Yield the scenario, one signed submission at a time. Advances the clock."""
        for p in self._plan:
            yield sign_statement(
                p.kind, p.body, p.key, statement_id=p.statement_id, time=p.signed_at
            )

    def planned(self) -> Iterator[Planned]:
        """Yield the scenario unsigned (same stream as :meth:`statements`)."""
        yield from self._plan

    def skip(self, n: int) -> None:
        """Advance ``n`` statements without signing them. O(n)."""
        for _ in range(n):
            next(self._plan)

    def rescale(self, scale: int) -> None:
        """Work at ``scale`` from the next simulated day on."""
        self.scale, self.scale_from_day = scale, self.day + 1

    def _p(self, kind: str, body: dict[str, Any], key: SignerKey) -> Planned:
        bits = self.rng.getrandbits(128)
        signed_at = self.clock.now - timedelta(seconds=self.rng.randint(1, 600))
        index = self.count
        self.count += 1
        return Planned(kind, body, key, uuid7(signed_at, bits), signed_at, index)

    def _script(self) -> Iterator[Planned]:
        while True:
            self.clock.now = DEMO_START + timedelta(days=self.day)
            today = DEMO_START.date() + timedelta(days=self.day)
            if self.day == 0:
                yield from self._opening()
            yield from self._office(today)
            yield from self._credits(today)
            self.day += 1

    def _set_policy(self, policy: dict[str, Any]) -> None:
        self.policy = policy
        self.rates = {r["category"]: r["points_per_hour"] for r in policy["credit_rates"]}

    def _scale(self) -> int:
        return self.scale if self.day >= self.scale_from_day else 1

    # -- day 0 -----------------------------------------------------------------------------

    def _opening(self) -> Iterator[Planned]:
        keys = self.keys
        auth = keys.authority
        yield self._p(
            "log.genesis",
            {
                "authorities": [str(auth.verifier())],
                "log_key": str(keys.log.verifier()),
                "origin": DEMO_ORIGIN,
            },
            auth,
        )
        grants = [
            (keys.finance[0], ["finance_officer"], "街道财务科 会计"),
            (keys.finance[1], ["finance_officer"], "街道财务科 出纳"),
            (keys.approver, ["approver"], "街道分管领导 资金审批"),
            *(
                (keys.organisers[c], ["organiser"], f"{COMMUNITY_NAMES[c]}居委会 志愿服务站")
                for c in COMMUNITIES
            ),
            (keys.service_desk, ["service_desk"], "街道便民服务中心 积分兑换窗口"),
            (keys.auditor, ["auditor"], "第三方评估机构 审计组"),
        ]
        for key, roles, title in grants:
            body = {"key": str(key.verifier()), "roles": roles, "title": title}
            yield self._p("key.grant", body, auth)
        yield self._p("policy.set", POLICY_V1, auth)
        for c in COMMUNITIES:
            body = {
                "party_id": c,
                "type": "community",
                "name": f"{COMMUNITY_NAMES[c]}居民委员会",
                "uscc": uscc("55", f"{self.seed}/{c}"),
            }
            yield self._p("party.register", body, auth)
        for party_id, typ, name, prefix in PROVIDERS:
            body = {
                "party_id": party_id,
                "type": typ,
                "name": name,
                "uscc": uscc(prefix, f"{self.seed}/{party_id}"),
            }
            yield self._p("party.register", body, self.accountant)

    # -- money: appropriations, contracts, payments ------------------------------------------

    def _office(self, today: date) -> Iterator[Planned]:
        if self.day == REVOKE_DAY:
            successor = self.keys.finance[2]
            yield self._p(
                "key.grant",
                {
                    "key": str(successor.verifier()),
                    "roles": ["finance_officer"],
                    "title": "街道财务科 会计(接任)",
                },
                self.keys.authority,
            )
            p = self._p(
                "key.revoke",
                {
                    "key_id": self.accountant.key_id.hex(),
                    "reason": "原会计岗位调整至街道党政办,密钥停用;由接任会计使用新密钥",
                },
                self.keys.authority,
            )
            self.accountant = successor
            yield p
        if self.day == POLICY_V2_DAY:
            self._set_policy(POLICY_V2)
            yield self._p("policy.set", POLICY_V2, self.keys.authority)
        if today.day == 1 and self.expired_through < _month(today):
            through_n = _month_number(today) - self.policy["expiry_months"]
            if through_n >= _month_number(DEMO_START.date()):
                through = f"{through_n // 12:04d}-{through_n % 12 + 1:02d}"
                p = self._p("credit.expire", {"through_month": through}, self.keys.service_desk)
                self._expire(through)
                yield p
        if today.weekday() >= 5:
            return
        yield from self._budget(today)
        yield from self._approvals()
        for pay in self.reversals.pop(self.day, []):
            yield from self._reverse(pay)
        if self.contract_queue:
            yield from self._award(self.contract_queue.pop(0), today)
        if today.weekday() == 0:
            yield from self._propose_due(today)
            week = self.day // 7
            if week % 4 == 3:
                self._plan_project(today)
            if week % 16 == 14:
                yield from self._amend(today)

    def _budget(self, today: date) -> Iterator[Planned]:
        """Appropriations: the fiscal year's lines in January (the opening's second day for
        2025), a supplementary line each later quarter; donations each quarter."""
        year, q = today.year, (today.month - 1) // 3 + 1
        first = self.day == 1
        if not first and (year, q) <= self.quarter_done:
            return
        self.quarter_done = (year, q)
        if first or q == 1:
            for key, (source, programme, yuan) in FUND_LINES.items():
                yield from self._appropriate(year, key, source, f"{year}年{programme}", yuan)
            self.contract_queue.extend(annual_contracts(year))
        else:
            yuan = self.rng.randrange(300_000, 800_001, 10_000)
            yield from self._appropriate(
                year, f"Q{q}-ZJ", "财政", f"{year}年第{q}季度社区服务追加经费", yuan
            )
        donors = ("mingde-property", "lvzhou-env", f"CSZH-{year}-{q:02d}")
        for fund_key, donor in (("SQJJ", donors[(year + q) % 2]), ("JZ", donors[2])):
            fund = self.funds[(year, fund_key)]
            self.n_donations += 1
            amount = self.rng.randrange(10_000, 100_001, 1_000) * YUAN
            body = {
                "donation_id": f"JK-{year}-{self.n_donations:04d}",
                "fund_id": fund.fund_id,
                "donor": donor,
                "amount_fen": amount,
                "receipt_sha256": digest(f"{self.seed}/receipt/{self.n_donations}"),
            }
            fund.appropriated += amount
            yield self._p("fund.donate", body, self.accountant)

    def _appropriate(
        self, year: int, key: str, source: str, programme: str, yuan: int
    ) -> Iterator[Planned]:
        fund = _Fund(f"F-{year}-{key}", source, yuan * YUAN)
        self.funds[(year, key)] = fund
        body = {
            "fund_id": fund.fund_id,
            "fiscal_year": year,
            "programme": programme,
            "source": source,
            "amount_fen": fund.appropriated,
        }
        yield self._p("fund.appropriate", body, self.accountant)

    def _fund_for(self, year: int, key: str, total: int) -> _Fund | None:
        """The line ``key`` of ``year``, else a supplementary line of the year with room."""
        candidates = [self.funds.get((year, key))]
        candidates += [self.funds.get((year, f"Q{q}-ZJ")) for q in (4, 3, 2)]
        for fund in candidates:
            if fund is not None and fund.unallocated >= total:
                return fund
        return None

    def _plan_project(self, today: date) -> None:
        provider, key, title, method = PROJECTS[self.rng.randrange(len(PROJECTS))]
        n = self.rng.randint(2, 4)
        spacing = self.rng.choice((21, 30, 45))
        shares = [100 // n] * n
        shares[-1] += 100 - sum(shares)
        deliverables = ("实施方案及开工确认", "中期进度报告", "完工验收", "结项评估")
        steps = [deliverables[0], *deliverables[4 - n + 1 :]] if n < 4 else list(deliverables)
        self.contract_queue.append(
            _ContractPlan(
                provider,
                key,
                f"{today.year}年{title}",
                method,
                self.rng.randrange(40_000, 300_001, 5_000),
                [
                    (shares[k], today + timedelta(days=spacing * (k + 1)), steps[k])
                    for k in range(n)
                ],
            )
        )

    def _award(self, plan: _ContractPlan, today: date) -> Iterator[Planned]:
        total = plan.total_yuan * YUAN
        fund = self._fund_for(today.year, plan.fund_key, total)
        if fund is None:
            return
        year = today.year
        self.n_contracts[year] = n = self.n_contracts.get(year, 0) + 1
        contract_id = f"HT-{year}-{n:03d}"
        milestones = []
        left = total
        for k, (share, due, deliverable) in enumerate(plan.milestones):
            amount = left if k == len(plan.milestones) - 1 else total * share // 100
            left -= amount
            milestones.append(_Milestone(f"M{k + 1}", amount, due, deliverable))
        docs = ("招标文件", "中标通知书", "合同文本")[: self.rng.randint(1, 3)]
        evidence = [digest(f"{self.seed}/{contract_id}/{doc}") for doc in docs]
        contract = _Contract(contract_id, fund, milestones, evidence)
        body = {
            "contract_id": contract_id,
            "fund_id": fund.fund_id,
            "provider": plan.provider,
            "title": plan.title,
            "method": plan.method,
            "total_fen": total,
            "milestones": [m.body() for m in milestones],
            "evidence": evidence,
        }
        fund.contracted += total
        self.contracts.append(contract)
        yield self._p("contract.award", body, self.accountant)

    def _amend(self, today: date) -> Iterator[Planned]:
        """Add a milestone to the oldest open contract whose fund has room (补充协议)."""
        extra = self.rng.randrange(20_000, 80_001, 5_000) * YUAN
        for contract in self.contracts:
            if contract.fund.unallocated >= extra and len(contract.milestones) < 50:
                break
        else:
            return
        self.n_amendments += 1
        amendment_id = f"BC-{today.year}-{self.n_amendments:03d}"
        ms = _Milestone(
            f"M{len(contract.milestones) + 1}",
            extra,
            today + timedelta(days=60),
            "补充服务内容完成及验收",
        )
        contract.milestones.append(ms)
        evidence = [*contract.evidence, digest(f"{self.seed}/{amendment_id}/补充协议")][-32:]
        contract.evidence = evidence
        body = {
            "amendment_id": amendment_id,
            "contract_id": contract.contract_id,
            "total_fen": contract.total,
            "milestones": [m.body() for m in contract.milestones],
            "evidence": evidence,
            "reason": "根据居民需求增加服务内容,经街道党工委会议研究同意,签订补充协议",
        }
        contract.fund.contracted += extra
        yield self._p("contract.amend", body, self.accountant)

    def _propose_due(self, today: date) -> Iterator[Planned]:
        """Every Monday: one payment for each milestone that is due and not yet committed."""
        for contract in list(self.contracts):
            open_ms = 0
            for ms in contract.milestones:
                if ms.committed < ms.amount:
                    open_ms += 1
                if ms.due >= today or ms.committed >= ms.amount or ms.pending:
                    continue
                yield from self._propose(contract, ms, ms.amount - ms.committed)
            if not open_ms and not any(ms.pending for ms in contract.milestones):
                self.contracts.remove(contract)

    def _propose(self, contract: _Contract, ms: _Milestone, amount: int) -> Iterator[Planned]:
        self.n_payments += 1
        year = (DEMO_START.date() + timedelta(days=self.day)).year
        payment_id = f"ZF-{year}-{self.n_payments:05d}"
        invoice_no = f"{year % 100:02d}332000{self.n_payments:012d}"
        body = {
            "payment_id": payment_id,
            "contract_id": contract.contract_id,
            "milestone_id": ms.milestone_id,
            "amount_fen": amount,
            "invoice_no": invoice_no,
            "invoice_sha256": digest(f"{self.seed}/invoice/{invoice_no}"),
        }
        p = self._p("payment.propose", body, self.accountant)
        ms.committed += amount
        pay = _Payment(payment_id, contract, ms, amount, self.day)
        if amount >= self.policy["dual_control_threshold_fen"]:
            ms.pending = True
            self.pending.append(pay)
        else:
            self._counted(pay)
        yield p

    def _counted(self, pay: _Payment) -> None:
        """A payment just counted: reverse the first one after two months, then a few."""
        if (self.reversed == 0 and self.day >= 60) or (self.reversed and self.rng.random() < 0.02):
            self.reversed += 1
            day = self.day + 2
            while (DEMO_START.date() + timedelta(days=day)).weekday() >= 5:
                day += 1
            self.reversals.setdefault(day, []).append(pay)

    def _approvals(self) -> Iterator[Planned]:
        """The approver decides on yesterday's proposals (a different key: dual control)."""
        keep = []
        for pay in self.pending:
            if pay.day >= self.day:
                keep.append(pay)
                continue
            pay.milestone.pending = False
            if (self.rejected == 0 and pay.day >= 28) or (
                self.rejected and self.rng.random() < 0.05
            ):
                self.rejected += 1
                reason = REJECT_REASONS[self.rng.randrange(len(REJECT_REASONS))]
                body = {"payment_id": pay.payment_id, "reason": reason}
                pay.milestone.committed -= pay.amount
                yield self._p("payment.reject", body, self.keys.approver)
            else:
                p = self._p("payment.approve", {"payment_id": pay.payment_id}, self.keys.approver)
                self._counted(pay)
                yield p
        self.pending = keep

    def _reverse(self, pay: _Payment) -> Iterator[Planned]:
        reason = REVERSE_REASONS[self.rng.randrange(len(REVERSE_REASONS))]
        body = {"payment_id": pay.payment_id, "reason": reason}
        pay.milestone.committed -= pay.amount
        if pay.contract not in self.contracts:
            self.contracts.append(pay.contract)
        yield self._p("payment.reverse", body, self.keys.finance[1])

    # -- volunteer service and credits -------------------------------------------------------

    def _residents(self, community: str, pool: int) -> list[str]:
        """The pseudonyms of the community's residents 0 … ``pool``−1 (FORMAT.md §10.5): each
        has a made-up register number ("R" + 20 Crockford digits), keyed with the
        community's secret."""
        refs = self.refs[community]
        secret = self.secret[community]
        while len(refs) < pool:
            h = hashlib.sha256(
                f"gongxin-demo/{self.seed}/register/{community}/{len(refs)}".encode()
            )
            register_no = "R" + base64.b32encode(h.digest()[:13]).decode()[:20].translate(
                _FROM_BASE32
            )
            refs.append(resident_ref(secret, register_no))
        return refs

    def _earn(self, ref: str, month: str, community: str, points: int) -> None:
        lots = self.lots.setdefault(ref, [])
        for lot in lots:
            if lot[0] == month and lot[1] == community:
                lot[2] += points
                break
        else:
            lots.append([month, community, points])
            lots.sort()
        self.balance[ref] = self.balance.get(ref, 0) + points

    def _spend(self, ref: str, points: int) -> list[tuple[str, str, int]]:
        """Take ``points`` FIFO from ``ref``'s lots, as the rules do."""
        lots = self.lots[ref]
        taken = []
        need = points
        while need:
            lot = lots[0]
            t = min(lot[2], need)
            taken.append((lot[0], lot[1], t))
            lot[2] -= t
            need -= t
            if not lot[2]:
                lots.pop(0)
        self.balance[ref] -= points
        return taken

    def _lot(self, ref: str, month: str, community: str) -> int:
        return next((p for m, c, p in self.lots.get(ref, ()) if (m, c) == (month, community)), 0)

    def _expire(self, through: str) -> None:
        self.expired_through = through
        for ref, lots in self.lots.items():
            if lots and lots[0][0] <= through:
                gone = sum(lot[2] for lot in lots if lot[0] <= through)
                lots[:] = [lot for lot in lots if lot[0] > through]
                self.balance[ref] -= gone

    def _credits(self, today: date) -> Iterator[Planned]:
        scale = self._scale()
        for act in self.award_queue.pop(self.day, []):
            yield from self._award_activity(act, scale)
        for act, k in self.correct_queue.pop(self.day, []):
            yield from self._correct(act, k)
        weekend = today.weekday() >= 5
        for c in COMMUNITIES:
            for _ in range(scale):
                if self.rng.random() < (0.7 if weekend else 0.5):
                    yield from self._register_activity(c, today)
        for c in COMMUNITIES:
            for _ in range(scale):
                for _ in range(self.rng.randint(0, 2)):
                    yield from self._redeem(c)
                if self.rng.random() < 0.04:
                    yield from self._transfer(c, scale)
        stale = today - timedelta(days=14)
        for key in [k for k in self.used if k[1] < stale]:
            del self.used[key]
        for key in [k for k in self.n_activities if k[1] < stale]:
            del self.n_activities[key]

    def _register_activity(self, community: str, today: date) -> Iterator[Planned]:
        rng = self.rng
        rates = [r["category"] for r in self.policy["credit_rates"]]
        category = rng.choices(rates, [CATEGORY_WEIGHTS[c] for c in rates])[0]
        when = today + timedelta(days=rng.choice((0, 0, 0, 1, 2, 3, 5, 7)))
        n = self.n_activities[(community, when)] = self.n_activities.get((community, when), 0) + 1
        activity_id = f"HD-{community}-{when:%Y%m%d}-{n:02d}"
        titles = ACTIVITY_TITLES[category]
        body = {
            "activity_id": activity_id,
            "community": community,
            "category": category,
            "date": when.isoformat(),
            "title": f"{COMMUNITY_NAMES[community]}{titles[rng.randrange(len(titles))]}",
        }
        p = self._p("activity.register", body, self.keys.organisers[community])
        lag = rng.choice((0, 0, 0, 1, 1, 2))
        award_day = self.day + (when - today).days + lag
        self.award_queue.setdefault(award_day, []).append(
            _Activity(activity_id, community, category, when)
        )
        yield p

    def _minutes(self, category: str) -> int:
        """Service minutes, no more than the activity cap allows (the organiser caps them)."""
        most: int = self.policy["activity_cap_points"] * 60 // self.rates[category]
        return min(self.rng.choice(MINUTES), most // 30 * 30)

    def _award_activity(self, act: _Activity, scale: int) -> Iterator[Planned]:
        rng = self.rng
        c = act.community
        used = self.used.setdefault((c, act.date), set())
        pool = POOL_PER_SCALE * scale
        residents = self._residents(c, pool)
        cap = self.policy["balance_cap_points"]
        rate = self.rates[act.category]
        month = _month(act.date)
        organiser = self.keys.organisers[c]
        for _ in range(rng.randint(5, 16)):
            for _ in range(8):
                ref = residents[int(pool * rng.random() ** 1.7)]
                if ref not in used:
                    break
            else:
                continue
            minutes = self._minutes(act.category)
            points = minutes * rate // 60
            if self.balance.get(ref, 0) + points > cap:
                continue
            used.add(ref)
            body = {"resident_ref": ref, "activity_id": act.activity_id, "minutes": minutes}
            p = self._p("credit.award", body, organiser)
            if ref not in self.balance:
                self.earners[c].append(ref)
            self._earn(ref, month, c, points)
            act.awards.append((p.log_index, ref, minutes, points))
            yield p
        if act.awards and rng.random() < 0.05:
            k = rng.randrange(len(act.awards))
            self.correct_queue.setdefault(self.day + rng.randint(1, 5), []).append((act, k))

    def _correct(self, act: _Activity, k: int) -> Iterator[Planned]:
        index, ref, minutes, points = act.awards[k]
        how = self.rng.choice(("less", "less", "more", "cancel"))
        if how == "less":
            new_minutes = max(0, minutes - 30)
        elif how == "more":
            new_minutes = minutes + 30
            if new_minutes * self.rates[act.category] // 60 > self.policy["activity_cap_points"]:
                new_minutes, how = max(0, minutes - 30), "less"
        else:
            new_minutes = 0
        new_points = new_minutes * self.rates[act.category] // 60
        if new_points > self.policy["activity_cap_points"] or new_minutes == minutes:
            return
        delta = new_points - points
        month = _month(act.date)
        if delta < 0 and self._lot(ref, month, act.community) < -delta:
            return  # already spent: a correction would fail credit.insufficient
        if delta > 0 and self.balance[ref] + delta > self.policy["balance_cap_points"]:
            return
        body = {
            "award_index": index,
            "resident_ref": ref,
            "activity_id": act.activity_id,
            "minutes": new_minutes,
            "reason": CORRECT_REASONS["cancel" if new_minutes == 0 else how],
        }
        p = self._p("credit.correct", body, self.keys.organisers[act.community])
        act.awards[k] = (index, ref, new_minutes, new_points)
        if delta > 0:
            self._earn(ref, month, act.community, delta)
        elif delta < 0:
            lots = self.lots[ref]
            for lot in lots:
                if lot[0] == month and lot[1] == act.community:
                    lot[2] += delta
            lots[:] = [lot for lot in lots if lot[2]]
            self.balance[ref] += delta
        yield p

    def _pick_earner(self, community: str, at_least: int) -> str | None:
        earners = self.earners[community]
        if not earners:
            return None
        # the richest of a few: residents near the cap are the keenest to spend
        ref = max(
            (earners[self.rng.randrange(len(earners))] for _ in range(3)),
            key=self.balance.__getitem__,
        )
        return ref if self.balance[ref] >= at_least else None

    def _redeem(self, community: str) -> Iterator[Planned]:
        catalogue = self.policy["catalogue"]
        ref = self._pick_earner(community, min(i["points"] for i in catalogue))
        if ref is None:
            return
        affordable = [i for i in catalogue if i["points"] <= self.balance[ref]]
        item = affordable[self.rng.randrange(len(affordable))]
        body = {"resident_ref": ref, "item": item["item"], "points": item["points"]}
        p = self._p("credit.redeem", body, self.keys.service_desk)
        self._spend(ref, item["points"])
        yield p

    def _transfer(self, community: str, scale: int) -> Iterator[Planned]:
        """A resident gives points to a family member (the relation is checked off-log)."""
        rng = self.rng
        points = rng.choice((20, 30, 50, 100))
        src = self._pick_earner(community, points)
        if src is None:
            return
        pool = POOL_PER_SCALE * scale
        dst = self._residents(community, pool)[rng.randrange(pool)]
        if dst == src or self.balance.get(dst, 0) + points > self.policy["balance_cap_points"]:
            return
        relations = self.policy["transfer_relations"]
        body = {
            "from_ref": src,
            "to_ref": dst,
            "points": points,
            "relation": relations[rng.randrange(len(relations))],
        }
        p = self._p("credit.transfer", body, self.keys.service_desk)
        if dst not in self.balance:
            self.earners[community].append(dst)
        for month, c, taken in self._spend(src, points):
            self._earn(dst, month, c, taken)
        yield p


def append_scenario(
    ledger: Ledger, scenario: Scenario, entries: int, batch_size: int = 1000
) -> None:
    """Append ``scenario``'s statements to the empty ``ledger`` until it holds ``entries``.

    The ledger's clock must be ``scenario.clock``. Statements of one simulated day are
    appended together (one transaction and checkpoint per day, or per ``batch_size``), logged
    at that day's time. Cost: O(entries) signatures and verifications."""
    clock = scenario.clock
    stream = scenario.statements()
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
        clock.now = day
        ledger.append_batch(batch)


def build_demo(
    url: str, entries: int, seed: int, keys_dir: Path | None, batch_size: int = 1000
) -> tuple[int, str]:
    """Build the demo log of exactly ``entries`` entries in the (empty) database at ``url``,
    the office working at :func:`scale_for` ``(entries)``. Returns (size, latest checkpoint).
    ``keys_dir``, when given, receives every demo key. Cost: O(entries) signatures and
    verifications (about 2,000 entries/s on 2 cores, signing included)."""
    from ledger.log import Ledger  # local: keep the scenario importable without a database

    if entries < 1:
        raise ValueError("entries must be at least 1")
    keys = derive_keys(seed)
    if keys_dir is not None:
        write_keys(keys, keys_dir)
    clock = DemoClock(DEMO_START)
    scenario = Scenario(seed, keys, clock, scale=scale_for(entries))
    with Ledger.open(url, log_key=keys.log, clock=clock) as ledger:
        if ledger.size:
            raise ValueError("the database already holds a log")
        append_scenario(ledger, scenario, entries, batch_size)
        return ledger.size, ledger.latest_checkpoint()
