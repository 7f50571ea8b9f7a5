"""Pydantic models and JSON Schemas of Gongxin's wire formats (FORMAT.md §3–§4, §7.3, §10).

The models mirror :mod:`verifier.core.entry`, :mod:`verifier.rules.registry` and
:mod:`verifier.rules.kinds`;
``tests/test_schemas.py`` checks that they accept exactly the same bodies. The verifier
itself never imports this package (it depends only on pynacl and orjson).

``python -m schemas.generate`` writes ``schemas/json/<name>.schema.json`` from these models.
"""

from __future__ import annotations

from pydantic import BaseModel

from schemas import bodies, credit_bodies, key_bodies, money_bodies
from schemas.envelope import Entry, Signature, Statement, Submission

#: One body model per entry kind, keyed by kind name (the keys of ``verifier.rules.kinds.KINDS``).
BODY_MODELS: dict[str, type[BaseModel]] = {
    "log.genesis": key_bodies.LogGenesis,
    "key.grant": key_bodies.KeyGrant,
    "key.revoke": key_bodies.KeyRevoke,
    "policy.set": bodies.PolicySet,
    "party.register": bodies.PartyRegister,
    "fund.appropriate": money_bodies.FundAppropriate,
    "fund.donate": money_bodies.FundDonate,
    "contract.award": money_bodies.ContractAward,
    "contract.amend": money_bodies.ContractAmend,
    "payment.propose": money_bodies.PaymentPropose,
    "payment.approve": money_bodies.PaymentApprove,
    "payment.reject": money_bodies.PaymentReject,
    "payment.reverse": money_bodies.PaymentReverse,
    "activity.register": credit_bodies.ActivityRegister,
    "credit.award": credit_bodies.CreditAward,
    "credit.correct": credit_bodies.CreditCorrect,
    "credit.redeem": credit_bodies.CreditRedeem,
    "credit.transfer": credit_bodies.CreditTransfer,
    "credit.expire": credit_bodies.CreditExpire,
}

#: The envelope models, keyed by schema name.
ENVELOPE_MODELS: dict[str, type[BaseModel]] = {
    "statement": Statement,
    "submission": Submission,
    "entry": Entry,
}

__all__ = [
    "BODY_MODELS",
    "ENVELOPE_MODELS",
    "Entry",
    "Signature",
    "Statement",
    "Submission",
]
