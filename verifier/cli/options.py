"""Command-line options of ``gongxin-verify`` (argparse parsers for the bundle command and
light mode); :mod:`verifier.cli.main` runs them. Usage errors are one line and exit 2."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from verifier.cli.witnesses import add_witness_options
from verifier.reports.ocds import PLACEHOLDER_PREFIX

#: Exit status of a usage or input error (nothing was judged).
EXIT_USAGE = 2

_EPILOG = """\
轻量模式 light mode (one entry, no full replay):
  gongxin-verify inclusion ENTRY_LINE_FILE PROOF_FILE CHECKPOINT --log-key VKEY_OR_FILE
  (a directory literally named "inclusion" can be given as ./inclusion)

离线证明 offline proof (C2SP tlog-proof, FORMAT.md §15):
  gongxin-verify proof FILE.tlog-proof --log-key VKEY_OR_FILE [witness options]

见证副署 witnesses (FORMAT.md §15; bundle, inclusion and proof):
  --witness-key WKEY … [--quorum N]  or  --witness-policy FILE
  the checkpoint must carry a quorum of cosignatures, else exit 1 [cosignature.quorum]

分叉证据 fork evidence (FORMAT.md §16; exit 0 fork proven, 1 not proven, 2 unreadable):
  gongxin-verify fork EVIDENCE_FILE --log-key VKEY_OR_FILE   (a directory "fork": ./fork)

退出码 exit status:
  0  验证通过 valid
  1  验证失败 invalid — one line on stderr: the entry index, [rule] and what differed
  2  用法或输入错误 usage or input error — nothing was judged
  3  内部错误 internal error — please report it

The log key must come from a trusted source (e.g. the published key), never from the
bundle's own log.vkey. 日志公钥须从可信渠道获得，不要使用导出目录中的 log.vkey。
"""


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"✗ 用法错误 usage error: {message}; run `{self.prog} --help` for usage\n")
        raise SystemExit(EXIT_USAGE)


def workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def bundle_parser() -> Parser:
    p = Parser(
        prog="gongxin-verify",
        description=(
            "独立验证公信账本导出包：重放每一条目的签名、密钥授权、角色与规则，并核对已签名检查点。\n"
            "Verify a Gongxin export bundle offline: replay every entry's signatures, key "
            "grants, roles and rules, and check them against the signed checkpoint."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "directory",
        metavar="DIR",
        help="导出目录或 zip export directory (entries.jsonl, checkpoint) as written by "
        "`gongxin export`, or the zip that GET /v1/log/export downloads",
    )
    p.add_argument(
        "--log-key",
        required=True,
        metavar="VKEY_OR_FILE",
        help="日志公钥（字符串或文件）the log's verifier key, as a string or a file holding it",
    )
    p.add_argument(
        "--authority-key",
        action="append",
        default=[],
        metavar="VKEY_OR_FILE",
        help=(
            "权威公钥，可重复；须与创世条目完全一致 an authority verifier key (repeatable); "
            "the genesis authority set must be exactly these"
        ),
    )
    p.add_argument(
        "--previous-checkpoint",
        metavar="FILE",
        help=(
            "先前见过的检查点；导出须与之一致 a checkpoint seen earlier: the export must extend "
            "it (detects rewritten or rolled-back logs)"
        ),
    )
    p.add_argument(
        "--json",
        metavar="REPORT",
        help="写出 JSON 报告（- 为标准输出）write a JSON report to REPORT ('-' for stdout), also on failure",
    )
    p.add_argument(
        "--report",
        metavar="OUT",
        help=(
            "验证通过后写出可追溯报告（JSON 与 Markdown）：OUT 以 .json 结尾时写 OUT 与同名 .md，"
            "否则视为目录，写入 report.json 与 report.md；另写同名 .html 图表报告（离线可读、可打印）；"
            "验证失败时不写 "
            "after a successful verification, write the traceability report (per fund, "
            "contract, provider and community, every figure with its entry indices): OUT and "
            "OUT with suffix .md if OUT ends in .json, else OUT/report.json and OUT/report.md; "
            "beside them the self-contained HTML report with charts (.html); "
            "nothing is written when verification fails"
        ),
    )
    p.add_argument(
        "--state",
        metavar="FILE",
        help=(
            "增量验证：读取上次验证通过后保存的状态，只重放其后的新条目，并核对旧检查点与新检查点一致；"
            "验证通过后更新该文件（不存在则完整验证后创建）。--report 与 --ocds 需要全部条目：此时完整验证，"
            "仍更新状态 incremental verification: resume from the state a previous successful "
            "run saved in FILE, replay only the entries after it and check that its checkpoint "
            "is consistent with the new one; FILE is (re)written after success only (created "
            "after a full verification if missing). A state of another log, a damaged one or a "
            "bundle older than the state is refused (exit 2). --report and --ocds need every "
            "entry: with them, every entry is replayed and FILE still updated"
        ),
    )
    p.add_argument(
        "--flags",
        metavar="FILE",
        help=(
            "红旗指标阈值（TOML，缺省用内置 flags.toml）red-flag thresholds for the report, a "
            "TOML file overriding the shipped defaults (verifier/reports/flags.toml)"
        ),
    )
    p.add_argument(
        "--ocds",
        metavar="OUT.json",
        help=(
            "验证通过后写出 OCDS 1.1.5 发布包（每份合同一个汇编发布）after a successful "
            "verification, write the contracts as an OCDS 1.1.5 release package"
        ),
    )
    p.add_argument(
        "--ocid-prefix",
        default=PLACEHOLDER_PREFIX,
        metavar="PREFIX",
        help=f"OCID 前缀 the registered OCID prefix (default: the placeholder {PLACEHOLDER_PREFIX})",
    )
    p.add_argument(
        "--workers",
        type=workers,
        metavar="N",
        help="并行进程数（默认每核一个）worker processes (default: one per CPU; 1 = no pool)",
    )
    add_witness_options(p)
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="不显示进度与成功信息 no progress and no output on success (failures still print)",
    )
    return p


def inclusion_parser() -> Parser:
    p = Parser(
        prog="gongxin-verify inclusion",
        description=(
            "轻量模式：验证单个条目包含在已签名检查点所覆盖的日志中（不重放规则）。\n"
            "Light mode: check that one entry line is included in the log a signed checkpoint "
            "covers (RFC 9162 inclusion proof; keys and rules are not replayed)."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "entry_line", metavar="ENTRY_LINE_FILE", help="条目行文件 a file holding the entry's line"
    )
    p.add_argument(
        "proof",
        metavar="PROOF_FILE",
        help='包含证明 JSON proof file {"leaf_index", "tree_size", "inclusion_path": [base64…]}',
    )
    p.add_argument(
        "checkpoint", metavar="CHECKPOINT", help="已签名检查点文件 the signed checkpoint file"
    )
    add_light_options(p)
    return p


def add_light_options(p: argparse.ArgumentParser) -> None:
    """The options every light check shares (``inclusion``, ``proof``): the log key, the
    witness options, ``--json`` and ``--quiet``."""
    p.add_argument(
        "--log-key",
        required=True,
        metavar="VKEY_OR_FILE",
        help="日志公钥（字符串或文件）the log's verifier key, as a string or a file holding it",
    )
    add_witness_options(p)
    p.add_argument(
        "--json", metavar="REPORT", help="写出 JSON 报告 write a JSON report ('-' for stdout)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="成功时不输出 no output on success")
