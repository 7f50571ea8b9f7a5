"""The business rulebook: one pure function per domain kind (FORMAT.md §10).

:class:`DomainRules` is the :class:`verifier.rules.log_state.Rulebook` of a Gongxin log. The
ledger runs it (through :meth:`verifier.rules.log_state.LogState.check_and_apply`) before it accepts an entry,
and ``gongxin-verify`` runs it when replaying a log, so a log written around the rules — by a
modified server, with valid signatures — fails verification at the first offending index,
naming the rule.

Order of checks for a domain entry (after FORMAT.md §8 steps 1–5: form, position, kind and
body shape, replay window, keys, roles and signatures):

1. a policy is in force (``policy.missing``), except for ``policy.set`` and
   ``party.register``;
2. the kind's rules, in the order FORMAT.md §10 lists them; the first failure is reported;
3. the effects, applied through the undo journal when one is given.

``observer``, when set, receives every :class:`~verifier.rules.postings.Posting` of every
accepted entry, in index order (reports and traces use it). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable

from verifier.core.entry import Entry
from verifier.rules._fail import rule_error
from verifier.rules.credits import CreditBook
from verifier.rules.funds import FundBook
from verifier.rules.journal import Journal, assign
from verifier.rules.kinds import DOMAIN_KINDS
from verifier.rules.policy import Policy
from verifier.rules.postings import Posting

Observer = Callable[[Posting], None]


class DomainRules:
    """Replayed domain state (policy, parties, funds, contracts, payments, credits) and
    the rules that extend it. Cost per entry: see :mod:`verifier.rules.funds` and
    :mod:`verifier.rules.credits` (O(1) for almost every kind)."""

    __slots__ = ("_handlers", "credits", "funds", "observer", "policy")

    def __init__(self, observer: Observer | None = None) -> None:
        self.policy: Policy | None = None
        self.funds = FundBook()
        self.credits = CreditBook()
        self.observer = observer
        f, c = self.funds, self.credits
        self._handlers: dict[str, Callable[[Entry, Policy, Journal | None], list[Posting]]] = {
            "fund.appropriate": lambda e, p, j: f.appropriate(e, j),
            "fund.donate": lambda e, p, j: f.donate(e, j),
            "contract.award": lambda e, p, j: f.award(e, j),
            "contract.amend": lambda e, p, j: f.amend(e, j),
            "payment.propose": f.propose,
            "payment.approve": lambda e, p, j: f.approve(e, j),
            "payment.reject": lambda e, p, j: f.reject(e, j),
            "payment.reverse": lambda e, p, j: f.reverse(e, j),
            "activity.register": self._register_activity,
            "credit.award": c.award,
            "credit.correct": c.correct,
            "credit.redeem": c.redeem,
            "credit.transfer": c.transfer,
            "credit.expire": c.expire,
        }
        missing = DOMAIN_KINDS - set(self._handlers) - {"policy.set", "party.register"}
        assert not missing, f"kinds without rules: {missing}"

    def apply(self, entry: Entry, journal: Journal | None) -> None:
        """Check ``entry`` (a domain kind, steps 1–5 passed) against the rules and apply it.

        Raises :class:`~verifier.core.errors.VerificationError` naming the rule; on error nothing
        has changed."""
        kind = entry.statement.kind
        if kind == "policy.set":
            self._set_policy(entry, journal)
            return
        if kind == "party.register":
            postings = self.funds.register_party(entry, journal)
        else:
            policy = self.policy
            if policy is None:
                raise rule_error(
                    "policy.missing",
                    f"{kind} needs a policy in force; log a policy.set first; 尚未发布政策",
                    entry,
                )
            postings = self._handlers[kind](entry, policy, journal)
        if self.observer is not None:
            for posting in postings:
                self.observer(posting)

    def _set_policy(self, entry: Entry, journal: Journal | None) -> None:
        body = entry.statement.body
        want = 1 if self.policy is None else self.policy.version + 1
        if body["version"] != want:
            raise rule_error(
                "policy.version",
                f"policy version is {body['version']}, expected {want}; 政策版本须逐次加一",
                entry,
                "version",
            )
        assign(journal, self, "policy", Policy.from_body(body, entry.index))

    def _register_activity(
        self, entry: Entry, policy: Policy, journal: Journal | None
    ) -> list[Posting]:
        self.funds.party(entry.statement.body["community"], entry, "community", community=True)
        return self.credits.register(entry, policy, journal)
