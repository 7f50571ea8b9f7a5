"""The fixed cast of the demo: the street office's communities and providers (with their
统一社会信用代码), its calendar and policies, activity categories, budget lines, contracts and
projects, the reasons its officials give, and its keys (derived from the seed)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.signing.keyfile import write_private_key, write_verifier_key
from ledger.signing.keys import SignerKey
from verifier.rules.kinds import USCC_ALPHABET, uscc_check_char

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


#: One-off projects, awarded every four weeks from whichever line has room.
PROJECTS = (
    ("anxin-safety", "ZL", "社区老年人防跌倒安全改造", "询价"),
    ("yangguang-kids", "ZL", "暑期青少年安全教育系列活动", "竞争性磋商"),
    ("chunhui-sw", "YL", "高龄独居老人智能监护设备安装与巡访", "竞争性磋商"),
    ("lvzhou-env", "HJ", "口袋公园绿化提升", "询价"),
    ("mingde-property", "SQJJ", "加装楼道扶手与照明(社区基金资助)", "询价"),
    ("hemu-mediation", "ZL", "“邻里议事厅”协商议事能力培训", "竞争性磋商"),
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
