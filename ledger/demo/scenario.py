"""The scenario: the endless, deterministic stream of demo statements, day by day — the
opening (genesis, grants, policy, parties), the office's dated events (a key revoked, a
second policy, monthly expiry runs), then each day's money and volunteer credits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from ledger.demo.books import _month, _month_number
from ledger.demo.cast import (
    COMMUNITIES,
    COMMUNITY_NAMES,
    DEMO_ORIGIN,
    DEMO_START,
    POLICY_V1,
    POLICY_V2,
    POLICY_V2_DAY,
    PROVIDERS,
    REVOKE_DAY,
    uscc,
)
from ledger.demo.credits import _Credits
from ledger.demo.funds import _Funds
from ledger.demo.planner import Planned
from ledger.signing.statements import sign_statement
from verifier.core.entry import Submission


@dataclass
class Scenario(_Funds, _Credits):
    """The endless, deterministic stream of demo statements.

    :meth:`statements` yields signed submissions; :meth:`skip` advances without signing
    (the benchmarks fast-forward this way). ``scale`` is the office's size from day
    ``scale_from_day`` on (1 before): activities per community per day and the resident
    pool grow with it. :meth:`rescale` changes both mid-stream (benchmarks)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._plan = self._script()

    # -- the stream ------------------------------------------------------------------------

    def statements(self) -> Iterator[Submission]:
        """Yield the scenario, one signed submission at a time. Advances the clock."""
        for p in self._plan:
            yield sign_statement(
                p.kind,
                p.body,
                p.key,
                origin=DEMO_ORIGIN,  # the demo log is format 2 (its genesis says so)
                statement_id=p.statement_id,
                time=p.signed_at,
            )

    def skip(self, n: int) -> None:
        """Advance ``n`` statements without signing them. O(n)."""
        for _ in range(n):
            next(self._plan)

    def rescale(self, scale: int) -> None:
        """Work at ``scale`` from the next simulated day on."""
        self.scale, self.scale_from_day = scale, self.day + 1

    def _script(self) -> Iterator[Planned]:
        while True:
            self.clock.now = DEMO_START + timedelta(days=self.day)
            today = DEMO_START.date() + timedelta(days=self.day)
            if self.day == 0:
                yield from self._opening()
            yield from self._events(today)
            yield from self._office(today)
            yield from self._credits(today)
            self.day += 1

    # -- day 0 -----------------------------------------------------------------------------

    def _opening(self) -> Iterator[Planned]:
        keys = self.keys
        auth = keys.authority
        yield self._p(
            "log.genesis",
            {
                "authorities": [str(auth.verifier())],
                "format": 2,
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

    # -- dated events ------------------------------------------------------------------------

    def _events(self, today: date) -> Iterator[Planned]:
        """The accountant's key revoked, the second policy, the monthly expiry run."""
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
