"""``gongxin-verify``: the standalone, offline verifier of a Gongxin log (FORMAT.md §9).

Usage::

    gongxin-verify DIR --log-key VKEY_OR_FILE [--authority-key VKEY_OR_FILE ...]
                   [--previous-checkpoint FILE] [--json REPORT] [--report OUT]
                   [--workers N] [--quiet]
    gongxin-verify inclusion ENTRY_LINE_FILE PROOF_FILE CHECKPOINT --log-key VKEY_OR_FILE
                   [--json REPORT] [--quiet]

Exit status: 0 valid, 1 invalid (one line on stderr naming the entry, the rule and what
differed), 2 usage or input error (nothing was judged), 3 internal error (a bug: please
report it). Standard library plus :mod:`verifier` only, so that it runs with nothing but
``pynacl`` and ``orjson`` installed.

``--report OUT`` writes, after a successful verification only, the traceability report
(FORMAT.md §10.6; :mod:`verifier.reports.traceability`): ``OUT`` and ``OUT`` with suffix ``.md`` when
``OUT`` ends in ``.json``, otherwise ``OUT/report.json`` and ``OUT/report.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import orjson

from verifier.audit.lines import MAX_LINE_BYTES
from verifier.cli.bundle import MAX_CHECKPOINT_BYTES, verify_bundle
from verifier.cli.files import load_verifier_key, read_limited
from verifier.cli.inclusion import verify_inclusion_file
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey
from verifier.reports.markdown import render_markdown
from verifier.reports.traceability import ReportBuilder

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3

_MAX_PROOF_BYTES = 1 << 20

_EPILOG = """\
轻量模式 light mode (one entry, no full replay):
  gongxin-verify inclusion ENTRY_LINE_FILE PROOF_FILE CHECKPOINT --log-key VKEY_OR_FILE
  (a directory literally named "inclusion" can be given as ./inclusion)

退出码 exit status:
  0  验证通过 valid
  1  验证失败 invalid — one line on stderr: the entry index, [rule] and what differed
  2  用法或输入错误 usage or input error — nothing was judged
  3  内部错误 internal error — please report it

The log key must come from a trusted source (e.g. the published key), never from the
bundle's own log.vkey. 日志公钥须从可信渠道获得，不要使用导出目录中的 log.vkey。
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"✗ 用法错误 usage error: {message}; run `{self.prog} --help` for usage\n")
        raise SystemExit(EXIT_USAGE)


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _bundle_parser() -> _Parser:
    p = _Parser(
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
            "否则视为目录，写入 report.json 与 report.md；验证失败时不写 "
            "after a successful verification, write the traceability report (per fund, "
            "contract, provider and community, every figure with its entry indices): OUT and "
            "OUT with suffix .md if OUT ends in .json, else OUT/report.json and OUT/report.md; "
            "nothing is written when verification fails"
        ),
    )
    p.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="并行进程数（默认每核一个）worker processes (default: one per CPU; 1 = no pool)",
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="不显示进度与成功信息 no progress and no output on success (failures still print)",
    )
    return p


def _inclusion_parser() -> _Parser:
    p = _Parser(
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
    p.add_argument(
        "--log-key",
        required=True,
        metavar="VKEY_OR_FILE",
        help="日志公钥（字符串或文件）the log's verifier key, as a string or a file holding it",
    )
    p.add_argument(
        "--json", metavar="REPORT", help="写出 JSON 报告 write a JSON report ('-' for stdout)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="成功时不输出 no output on success")
    return p


# ------------------------------------------------------------------------------- helpers


def _load_key(value: str, option: str) -> VerifierKey:
    try:
        return load_verifier_key(value)
    except InputError as exc:
        raise InputError(f"{exc}; give the key string or a file holding it", field=option) from None


def _read_file(path: str, limit: int, what: str) -> bytes:
    """At most ``limit`` bytes of a regular file (never a FIFO or device: no hang)."""
    return read_limited(Path(path), limit, what, field=what, hint="")


def _write_json(target: str | None, report: dict[str, Any]) -> None:
    if target is None:
        return
    text = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    if target == "-":
        sys.stdout.write(text)
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the JSON report: {exc.strerror}", field="--json") from None


def _report_paths(out: str) -> tuple[Path, Path]:
    """Where ``--report OUT`` writes: (JSON, Markdown). Checked before verifying, so that a
    long verification does not end in an unwritable path."""
    p = Path(out)
    if p.suffix.lower() == ".json":
        if p.is_dir():
            raise InputError(f"{out} is a directory, not a .json file", field="--report")
        if not p.parent.is_dir():
            raise InputError(f"directory {p.parent} does not exist", field="--report")
        return p, p.with_suffix(".md")
    if p.exists() and not p.is_dir():
        raise InputError(
            f"{out} exists and is not a directory (name a directory, or a file ending in .json)",
            field="--report",
        )
    return p / "report.json", p / "report.md"


def _report_json(report: dict[str, Any]) -> bytes:
    """Valid JSON with one line per top-level member and per fund, contract, provider or
    community: readable, diffable, and compact even with long index lists."""
    parts = []
    for key, value in report.items():
        name = orjson.dumps(key).decode()
        if isinstance(value, list) and value:
            items = ",\n  ".join(orjson.dumps(v).decode() for v in value)
            parts.append(f" {name}: [\n  {items}\n ]")
        else:
            parts.append(f" {name}: {orjson.dumps(value).decode()}")
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")


def _write_report(paths: tuple[Path, Path], report: dict[str, Any]) -> None:
    """Write the JSON and Markdown reports, each under a temporary name renamed into place."""
    json_path, md_path = paths
    try:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        for path, data in (
            (json_path, _report_json(report)),
            (md_path, render_markdown(report).encode("utf-8")),
        ):
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
    except OSError as exc:
        raise InputError(
            f"cannot write the report: {exc.strerror} ({exc.filename})", field="--report"
        ) from None


class _Progress:
    """``bytes read / file size`` on one self-overwriting stderr line, ≤ 5 updates/s."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2 and done < total:
            return
        self.last = now
        pct = 100.0 * done / total if total else 100.0
        self.stream.write(
            f"\r验证中 verifying… {pct:5.1f}%  {done / 1e6:,.1f} / {total / 1e6:,.1f} MB"
        )
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


#: The one line ``gongxin-verify`` adds on stderr for a valid format-1 bundle.
FORMAT_1_WARNING = (
    "警告 warning: format 1 log: its statements are not bound to this log (FORMAT.md §3.2)"
)


def _fail_line(exc: VerificationError) -> str:
    where = " at " if exc.index is not None else ": "
    return f"✗ 验证失败 INVALID{where}{exc.one_line()}"


def _run(
    json_target: str | None,
    quiet: bool,
    work: Callable[[], tuple[dict[str, Any], str]],
    progress: _Progress | None = None,
) -> int:
    """Run ``work`` (returning the JSON report and the success line) and map the outcome to
    an exit status, printing exactly one line."""
    try:
        try:
            report, line = work()
        finally:
            if progress is not None:
                progress.clear()
    except VerificationError as exc:
        try:
            _write_json(json_target, {"valid": False, "error": exc.as_dict()})
        except InputError as werr:
            print(f"✗ 输入错误 input error: {werr}", file=sys.stderr)
        print(_fail_line(exc), file=sys.stderr)
        return EXIT_INVALID
    except InputError as exc:
        with contextlib.suppress(InputError):
            _write_json(
                json_target,
                {"valid": None, "input_error": {"detail": exc.message, "field": exc.field}},
            )
        print(f"✗ 输入错误 input error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        _write_json(json_target, report)
    except InputError as exc:
        print(f"✗ 输入错误 input error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not quiet:
        # With ``--json -`` stdout carries the report; the verdict line goes to stderr.
        print(line, file=sys.stderr if json_target == "-" else sys.stdout)
    return EXIT_VALID


# ------------------------------------------------------------------------------- commands


def _verify_command(argv: Sequence[str]) -> int:
    args = _bundle_parser().parse_args(argv)
    progress = _Progress(sys.stderr) if not args.quiet and sys.stderr.isatty() else None

    def work() -> tuple[dict[str, Any], str]:
        log_key = _load_key(args.log_key, "--log-key")
        authorities = [_load_key(v, "--authority-key") for v in args.authority_key]
        previous = None
        if args.previous_checkpoint is not None:
            previous = _read_file(
                args.previous_checkpoint, MAX_CHECKPOINT_BYTES, "--previous-checkpoint"
            )
        paths = _report_paths(args.report) if args.report is not None else None
        builder = ReportBuilder() if paths is not None else None
        report = verify_bundle(
            Path(args.directory),
            log_key,
            authorities,
            previous_checkpoint=previous,
            workers=args.workers,
            progress=progress,
            builder=builder,
        )
        line = (
            f"✓ 验证通过 valid: {report.tree_size} entries, origin {report.origin}, "
            f"root {report.root}"
        )
        if report.format == 1 and not args.quiet:
            if progress is not None:
                progress.clear()
            print(FORMAT_1_WARNING, file=sys.stderr)
        if builder is not None and paths is not None:
            # Only what the log determines: the report is the same on every run.
            summary = report.to_json()
            for volatile in ("elapsed_seconds", "workers"):
                summary.pop(volatile, None)
            _write_report(paths, builder.build(summary))
            line += f"\n报告 report: {paths[0]}, {paths[1]}"
        return report.to_json(), line

    return _run(args.json, args.quiet, work, progress)


def _inclusion_command(argv: Sequence[str]) -> int:
    args = _inclusion_parser().parse_args(argv)

    def work() -> tuple[dict[str, Any], str]:
        log_key = _load_key(args.log_key, "--log-key")
        line = _read_file(args.entry_line, MAX_LINE_BYTES + 1, "ENTRY_LINE_FILE")
        proof_bytes = _read_file(args.proof, _MAX_PROOF_BYTES, "PROOF_FILE")
        note = _read_file(args.checkpoint, MAX_CHECKPOINT_BYTES, "CHECKPOINT")
        try:
            proof = orjson.loads(proof_bytes)  # depth-limited in C: never a RecursionError
        except orjson.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc}", field="PROOF_FILE") from None
        if type(proof) is not dict:
            raise InputError("the proof must be a JSON object", field="PROOF_FILE")
        report = verify_inclusion_file(line, proof, note, log_key)
        text = (
            f"✓ 验证通过 included: entry {report.leaf_index} is in the log of "
            f"{report.tree_size} entries, origin {report.origin}, root {report.root}"
        )
        return report.to_json(), text

    return _run(args.json, args.quiet, work)


def _setup_streams() -> None:
    """Never crash on a terminal that cannot print 验证/✓: escape what it cannot show."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (see the module docstring)."""
    _setup_streams()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "inclusion":
            return _inclusion_command(args[1:])
        return _verify_command(args)
    except KeyboardInterrupt:
        print("\n✗ 已中断 interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except Exception as exc:  # a bug, not a verdict: never exit 1 ("invalid") for it
        print(
            f"✗ 内部错误 internal error: {type(exc).__name__}: {exc}; please report this",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
