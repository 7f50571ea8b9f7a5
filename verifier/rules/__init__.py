"""The funds-and-credits rulebook (FORMAT.md §10): pure functions over replayed state.

- :mod:`verifier.rules.rulebook` — :class:`DomainRules`, the dispatcher the ledger and the
  verifier both run;
- :mod:`verifier.rules.policy` — the policy in force;
- :mod:`verifier.rules.funds` — parties, funds, contracts, payments;
- :mod:`verifier.rules.credits` — activities and resident credits;
- :mod:`verifier.rules.postings` — what each accepted entry did, for reports and traces.
"""

from verifier.rules.postings import Posting
from verifier.rules.rulebook import DomainRules

__all__ = ["DomainRules", "Posting"]
