"""A hypothesis state machine over a real ledger, checked against an independent model.

Each step submits a random operation — valid or not: appropriations, donations, contract
awards and amendments (sometimes over budget), payments (sometimes over the milestone, at
the dual-control threshold, approved by their proposer, reversed twice), activities, credit
awards (sometimes over a cap, duplicate, by the wrong organiser, late), corrections,
redemptions (beyond the balance, at the wrong price), transfers, expiry runs, policy changes
and clock jumps of days to months — to a :class:`ledger.log.Ledger` on SQLite.

:class:`Model` is a plain re-implementation of FORMAT.md §10 (dicts and arithmetic, nothing
imported from :mod:`verifier.rules`). The machine asserts that

- the ledger accepts exactly when the model says so, and rejects with the rule and field
  the model expects;
- a rejected append leaves the database byte-for-byte and the in-memory state unchanged;
- after every step the §10.3/§10.4 invariants hold and the ledger's books equal the model's;
- at the end (and now and then in between) the exported log verifies, and the verifier's
  own replay (a fresh ``LogState``) ends with exactly the ledger's books, and the model's.

These checks are the harness, :class:`tests.rulebook_machine.ModelCheckedMachine`; this module
holds the rules that draw the operations.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from ledger.records import InvalidEntry

from .rulebook_builder import replay_lines
from .rulebook_ledger import LedgerDriver
from .rulebook_machine import ModelCheckedMachine
from .rulebook_model import (
    ACTIVITIES,
    AMENDMENTS,
    CATEGORIES,
    CONTRACTS,
    DONATIONS,
    FUNDS,
    INVOICES,
    ITEMS,
    MILESTONES,
    PAYMENTS,
    RELATIONS,
    RESIDENTS,
    VARIANTS,
)
from .rulebook_ops import (
    activity_op,
    add_months,
    amend_op,
    approve_op,
    award_op,
    contract_op,
    correct_op,
    donate_op,
    expire_op,
    fund_op,
    policy_op,
    propose_op,
    redeem_op,
    reject_op,
    reverse_op,
    transfer_op,
)

# -- the machine -----------------------------------------------------------------------------


def pick(data: st.DataObject, label: str, special: list[int], other: st.SearchStrategy[int]) -> int:
    """One of the ``special`` (boundary) values, each as likely as a value of ``other``."""
    k = data.draw(st.integers(0, len(special)), f"{label} kind")
    return special[k] if k < len(special) else data.draw(other, label)


def _amounts(data: st.DataObject, total: int, n: int) -> list[int]:
    """``n`` positive amounts summing to ``total`` (≥ n)."""
    out, left = [], total
    for k in range(n - 1):
        a = data.draw(st.integers(1, left - (n - 1 - k)))
        out.append(a)
        left -= a
    return [*out, left]


class RulebookMachine(ModelCheckedMachine):
    """The operations a step may draw (the checks: :class:`ModelCheckedMachine`)."""

    # -- money ----------------------------------------------------------------------------

    @rule(
        data=st.data(),
        source=st.sampled_from(["财政", "社区基金", "捐赠"]),
        amount=st.integers(1, 2_000_000),
    )
    def money_in(self, data: st.DataObject, source: str, amount: int) -> None:
        """An appropriation, or a donation into a fund."""
        if data.draw(st.booleans(), "donate?"):
            did = self.fresh(data, self.m.donations, DONATIONS, "donation")
            fid = self.choose(data, list(self.m.funds), [*FUNDS, "F9"], "fund")
            self.submit(donate_op(did, fid, amount // 4 + 1))
        else:
            fid = self.fresh(data, self.m.funds, FUNDS, "fund")
            self.submit(fund_op(fid, amount, source))

    @rule(data=st.data())
    def award_contract(self, data: st.DataObject) -> None:
        cid = self.fresh(data, self.m.contracts, CONTRACTS, "contract")
        fid = self.choose(data, list(self.m.funds), [*FUNDS, "F9"], "fund")
        provider = data.draw(st.sampled_from(["P1", "P2", "P1", "P2", "Q1", "X9"]), "provider")
        mids = data.draw(st.lists(st.sampled_from(MILESTONES), min_size=1, max_size=3, unique=True))
        mode = data.draw(st.sampled_from(["fits", "fits", "exact", "over", "bad sum"]), "mode")
        room = self.m.unallocated(fid) if fid in self.m.funds else 0
        if mode in ("exact", "over") and room >= len(mids):
            amounts = _amounts(data, room + (mode == "over"), len(mids))
        elif mode == "fits" and room >= 2 * len(mids):
            amounts = _amounts(data, data.draw(st.integers(len(mids), room // 2)), len(mids))
        else:
            amounts = [data.draw(st.integers(1, 400_000)) for _ in mids]
        total = sum(amounts) + (data.draw(st.sampled_from([-1, 1])) if mode == "bad sum" else 0)
        ms = list(zip(mids, amounts, strict=True))
        self.submit(contract_op(cid, fid, provider, ms, max(total, 1)))

    @rule(data=st.data())
    def amend(self, data: st.DataObject) -> None:
        aid = self.fresh(data, self.m.amendments, AMENDMENTS, "amendment")
        cid = self.choose(data, list(self.m.contracts), [*CONTRACTS, "C9"], "contract")
        old = self.m.contracts.get(cid, {"ms": {}})["ms"]
        keep = [mid for mid in sorted(old) if data.draw(st.integers(0, 9), f"keep {mid}") < 8]
        add = data.draw(st.lists(st.sampled_from(MILESTONES), max_size=2, unique=True), "add")
        mids = list(dict.fromkeys([*keep, *add])) or ["m1"]
        amounts = []
        for mid in mids:
            committed = old[mid][1] if mid in old else 0
            if committed:
                extra = data.draw(st.sampled_from([0, -1, 1, 50_000, 200_000]), f"{mid} amount")
                amounts.append(max(committed + extra, 1))
            else:
                amounts.append(data.draw(st.integers(1, 400_000), f"{mid} amount"))
        total = sum(amounts) + data.draw(st.sampled_from([0, 0, 0, 0, 1]), "bad sum")
        self.submit(amend_op(aid, cid, list(zip(mids, amounts, strict=True)), total))

    @rule(data=st.data())
    def propose(self, data: st.DataObject) -> None:
        pid = self.fresh(data, self.m.payments, PAYMENTS, "payment")
        cid = self.choose(data, list(self.m.contracts), [*CONTRACTS, "C9"], "contract")
        ms = list(self.m.contracts[cid]["ms"]) if cid in self.m.contracts else []
        mid = self.choose(data, ms, MILESTONES, "milestone")
        invoice = data.draw(st.sampled_from(INVOICES), "invoice")
        signer = data.draw(st.sampled_from(["finance", "dual"]), "signer")
        threshold = self.m.policy["dual_control_threshold_fen"]
        remaining = self.m.remaining(cid, mid) or 100_000
        amount = pick(
            data,
            "amount",
            [remaining, remaining + 1, threshold - 1, threshold, remaining // 2],
            st.integers(1, 300_000),
        )
        self.submit(propose_op(pid, cid, mid, max(amount, 1), invoice, signer=signer))

    def _payment(self, data: st.DataObject, state: str) -> str:
        """Mostly a payment in ``state``, else any known one, else any id."""
        ps = self.m.payments
        if data.draw(st.booleans(), "in state?"):
            return self.choose(
                data, [p for p in ps if ps[p]["state"] == state], PAYMENTS, "payment"
            )
        return self.choose(data, list(ps), PAYMENTS, "payment")

    @rule(data=st.data())
    def settle_payment(self, data: st.DataObject) -> None:
        """Approve or reject a payment (mostly a pending one), or reverse one (mostly a
        counted one; a reversed one now and then)."""
        action = data.draw(st.sampled_from(["approve", "approve", "reject", "reverse"]), "do")
        if action == "reverse":
            signer = data.draw(st.sampled_from(["finance", "dual"]), "signer")
            self.submit(reverse_op(self._payment(data, "counted"), signer=signer))
            return
        signer = data.draw(st.sampled_from(["approver", "approver", "dual"]), "signer")
        make = approve_op if action == "approve" else reject_op
        self.submit(make(self._payment(data, "pending"), signer=signer))

    # -- credits ---------------------------------------------------------------------------

    @rule(
        data=st.data(),
        community=st.sampled_from(["Q1", "Q2", "Q1", "Q2", "P1", "X9"]),
        category=st.sampled_from(CATEGORIES),
        offset=st.sampled_from([-61, -60, -59, -30, -1, 0, 0, 0, 0, 1]),
        signer=st.sampled_from(["organiser", "organiser", "organiser2"]),
    )
    def register_activity(
        self, data: st.DataObject, community: str, category: str, offset: int, signer: str
    ) -> None:
        aid = self.fresh(data, self.m.activities, ACTIVITIES, "activity")
        day = date.fromisoformat(self.d.today) + timedelta(days=offset)
        self.submit(activity_op(aid, community, category, day, signer=signer))

    def _organiser(self, data: st.DataObject, aid: str) -> str:
        own = str(self.m.activities.get(aid, {}).get("organiser", "organiser"))
        other = "organiser2" if own == "organiser" else "organiser"
        return data.draw(st.sampled_from([own, own, own, own, other]), "signer")

    @rule(data=st.data())
    def award_credits(self, data: st.DataObject) -> None:
        ref = data.draw(st.sampled_from(RESIDENTS), "resident")
        aid = self.choose(data, list(self.m.activities), [*ACTIVITIES, "A9"], "activity")
        minutes = pick(
            data,
            "minutes",
            [2, 5, 6, 30, 60, 60, 90, 120, 180, 185, 186, 240],
            st.integers(1, 1440),
        )
        index = self.submit(award_op(ref, aid, minutes, signer=self._organiser(data, aid)))
        if index is not None:
            self.awards.append((index, ref, aid))

    @rule(data=st.data())
    def correct(self, data: st.DataObject) -> None:
        if self.awards:
            index, ref, aid = data.draw(st.sampled_from(self.awards), "award")
        else:
            index, ref, aid = 1, RESIDENTS[0], ACTIVITIES[0]
        how = data.draw(st.sampled_from(["right", "right", "right", "index", "resident"]), "how")
        if how == "index":
            index += 1
        elif how == "resident":
            ref = data.draw(st.sampled_from(RESIDENTS), "resident")
        minutes = pick(data, "minutes", [0, 6, 30, 60, 120, 180, 186], st.integers(0, 300))
        self.submit(correct_op(index, ref, aid, minutes, signer=self._organiser(data, aid)))

    @rule(
        data=st.data(),
        item=st.sampled_from(ITEMS),
        extra=st.sampled_from([0, 0, 0, 0, 1]),
    )
    def redeem(self, data: st.DataObject, item: str, extra: int) -> None:
        ref = self._resident(data, "resident")
        price = self.m.price(item) or 5
        self.submit(redeem_op(ref, item, price + extra))

    def _resident(self, data: st.DataObject, label: str) -> str:
        """Mostly a resident with points."""
        return self.choose(data, [r for r in RESIDENTS if self.m.balance(r)], RESIDENTS, label)

    @rule(data=st.data())
    def transfer(self, data: st.DataObject) -> None:
        src = self._resident(data, "from")
        dst = data.draw(st.sampled_from(RESIDENTS), "to")
        bal = self.m.balance(src)
        points = pick(data, "points", [bal, bal + 1, max(bal // 2, 1)], st.integers(1, 60))
        relation = data.draw(st.sampled_from(RELATIONS), "relation")
        self.submit(transfer_op(src, dst, max(points, 1), relation))

    @rule(back=st.integers(0, 5))
    def expire(self, back: int) -> None:
        self.submit(expire_op(add_months(self.d.month, -back)))

    # -- policy and time -------------------------------------------------------------------

    @rule(data=st.data())
    def time_passes(self, data: st.DataObject) -> None:
        """Mostly the clock moves on (days to months); now and then a new policy."""
        if data.draw(st.integers(0, 3), "policy?") == 0:
            variant = data.draw(st.sampled_from(sorted(VARIANTS)), "variant")
            bump = data.draw(st.sampled_from([1, 1, 1, 2, 0]), "bump")
            self.submit(policy_op(self.m.version + bump, **VARIANTS[variant]))
        else:
            days = data.draw(st.sampled_from([1, 3, 10, 30, 45, 59, 61, 62, 100]), "days")
            self.d.advance(days=days)


RulebookMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestRulebookMachine = RulebookMachine.TestCase


def test_a_rejected_append_after_a_quiet_week_keeps_the_replay_window(tmp_path: Path) -> None:
    """Regression: a rejected append rolls back the replay-window heap too (it used to pop
    ids without journalling, so after a quiet week the ledger kept ids forever and its
    replay window differed from the verifier's)."""
    d = LedgerDriver.standard(tmp_path)
    try:
        d.submit(fund_op("F1", 100))
        d.advance(days=10)
        with pytest.raises(InvalidEntry):
            d.submit(fund_op("F1", 100))
        d.submit(fund_op("F2", 100))
        replayed = replay_lines(d.lines())
        assert d.ledger.state.recent_ids == replayed.recent_ids
    finally:
        d.close()
