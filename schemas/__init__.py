"""Pydantic models and JSON Schemas of Gongxin's wire formats (FORMAT.md §3–§4, §7.3, §10).

The models mirror :mod:`verifier.core.entry`, :mod:`verifier.rules.registry` and
:mod:`verifier.rules.kinds`;
``tests/test_schemas.py`` checks that they accept exactly the same bodies. The verifier
itself never imports this package (it depends only on pynacl and orjson).

``python -m schemas.generate`` writes ``schemas/json/<name>.schema.json`` from these models.
"""

from __future__ import annotations

from pydantic import BaseModel

from schemas import bodies, key_bodies
from schemas.envelope import Entry, Signature, Statement, Submission

#: One body model per entry kind, keyed by kind name (the keys of ``verifier.rules.kinds.KINDS``).
BODY_MODELS: dict[str, type[BaseModel]] = {
    "log.genesis": key_bodies.LogGenesis,
    "key.grant": key_bodies.KeyGrant,
    "key.revoke": key_bodies.KeyRevoke,
    "policy.set": bodies.PolicySet,
    "party.register": bodies.PartyRegister,
    "fund.appropriate": bodies.FundAppropriate,
    "fund.donate": bodies.FundDonate,
    "contract.award": bodies.ContractAward,
    "contract.amend": bodies.ContractAmend,
    "payment.propose": bodies.PaymentPropose,
    "payment.approve": bodies.PaymentApprove,
    "payment.reject": bodies.PaymentReject,
    "payment.reverse": bodies.PaymentReverse,
    "activity.register": bodies.ActivityRegister,
    "credit.award": bodies.CreditAward,
    "credit.correct": bodies.CreditCorrect,
    "credit.redeem": bodies.CreditRedeem,
    "credit.transfer": bodies.CreditTransfer,
    "credit.expire": bodies.CreditExpire,
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
