"""Organisers' and the service desk's commands (docs/OFFICERS.md): ``gongxin activity
register``, ``gongxin credit award|redeem``. Signed locally and submitted like the officers'
commands (:mod:`ledger.cli.officer`, whose :func:`~ledger.cli.officer.submit_body` they use).
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli.officer import IdOption, submit_body
from ledger.cli.submit import (
    DEFAULT_SERVER,
    JsonOption,
    KeyFileOption,
    PinnedLogKeyOption,
    ServerOption,
)

activity_app = typer.Typer(help="志愿活动 — register a volunteer activity.", no_args_is_help=True)
credit_app = typer.Typer(help="志愿积分 — award or redeem volunteer credits.", no_args_is_help=True)


# -- volunteer service -----------------------------------------------------------------------

ResidentOption = Annotated[
    str,
    typer.Option(
        "--resident-ref",
        help="居民化名（32 位十六进制，见 gongxin residents ref）resident_ref pseudonym",
    ),
]


@activity_app.command("register")
def activity_register(
    activity_id: Annotated[str, typer.Option("--activity-id", help="活动编号 activity id")],
    community: Annotated[str, typer.Option("--community", help="社区主体编号 community party id")],
    category: Annotated[str, typer.Option("--category", help="服务类别 category, e.g. 助老服务")],
    date: Annotated[str, typer.Option("--date", help="服务日期 date of the service, YYYY-MM-DD")],
    title: Annotated[str, typer.Option("--title", help="活动名称 title")],
    key: KeyFileOption,
    server: ServerOption = DEFAULT_SERVER,
    log_key: PinnedLogKeyOption = None,
    as_json: JsonOption = False,
    statement_id: IdOption = None,
) -> None:
    """登记志愿活动 — register a volunteer activity (activity.register, organiser)."""
    body = {
        "activity_id": activity_id,
        "community": community,
        "category": category,
        "date": date,
        "title": title,
    }
    submit_body("activity.register", body, key, server, log_key, as_json, statement_id)


@credit_app.command("award")
def credit_award(
    resident_ref: ResidentOption,
    activity_id: Annotated[str, typer.Option("--activity-id", help="活动编号 activity id")],
    minutes: Annotated[int, typer.Option("--minutes", help="服务时长（分钟）service minutes")],
    key: KeyFileOption,
    server: ServerOption = DEFAULT_SERVER,
    log_key: PinnedLogKeyOption = None,
    as_json: JsonOption = False,
    statement_id: IdOption = None,
) -> None:
    """记录志愿积分 — record a resident's service (credit.award, the activity's organiser)."""
    body = {"resident_ref": resident_ref, "activity_id": activity_id, "minutes": minutes}
    submit_body("credit.award", body, key, server, log_key, as_json, statement_id)


@credit_app.command("redeem")
def credit_redeem(
    resident_ref: ResidentOption,
    item: Annotated[str, typer.Option("--item", help="兑换项目（目录中的名称）catalogue item")],
    points: Annotated[int, typer.Option("--points", help="积分（等于目录价格）points, its price")],
    key: KeyFileOption,
    server: ServerOption = DEFAULT_SERVER,
    log_key: PinnedLogKeyOption = None,
    as_json: JsonOption = False,
    statement_id: IdOption = None,
) -> None:
    """积分兑换 — redeem credits for a catalogue item (credit.redeem, service desk)."""
    body = {"resident_ref": resident_ref, "item": item, "points": points}
    submit_body("credit.redeem", body, key, server, log_key, as_json, statement_id)
