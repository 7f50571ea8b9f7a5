"""``gongxin-verify``: the standalone, offline verifier of a Gongxin log (FORMAT.md §9).

Usage::

    gongxin-verify DIR --log-key VKEY_OR_FILE [--authority-key VKEY_OR_FILE ...]
                   [--previous-checkpoint FILE] [--json REPORT] [--report OUT]
                   [--state FILE] [--flags FILE] [--ocds OUT.json] [--ocid-prefix P]
                   [--workers N] [--quiet]
    gongxin-verify inclusion ENTRY_LINE_FILE PROOF_FILE CHECKPOINT --log-key VKEY_OR_FILE
                   [--json REPORT] [--quiet]
    gongxin-verify fork EVIDENCE_FILE --log-key VKEY_OR_FILE [--quiet]
    gongxin-verify proof FILE.tlog-proof --log-key VKEY_OR_FILE [witness options] [--quiet]

Witness options (FORMAT.md §15; every command but ``fork``): ``--witness-key WKEY`` (repeatable)
with ``--quorum N`` (default: all), or ``--witness-policy FILE``: the checkpoint must carry
cosignatures satisfying the quorum, else exit 1 (``cosignature.quorum``).

Exit status: 0 valid, 1 invalid (one line on stderr naming the entry, the rule and what
differed), 2 usage or input error (nothing was judged), 3 internal error (a bug: please
report it). Standard library plus :mod:`verifier` only, so that it runs with nothing but
``pynacl`` and ``orjson`` installed (and ``jinja2``, for the HTML report).

``--report OUT`` writes, after a successful verification only, the traceability report
(FORMAT.md §10.6; :mod:`verifier.reports.traceability`): ``OUT`` and ``OUT`` with suffix ``.md`` when
``OUT`` ends in ``.json``, otherwise ``OUT/report.json`` and ``OUT/report.md``; and beside
them the self-contained HTML report (:mod:`verifier.reports.html`), ``.html`` for ``.json``.
The report's ``red_flags`` (:mod:`verifier.reports.flags`) are judged by the thresholds of
``--flags FILE`` (TOML over the shipped ``verifier/reports/flags.toml``; a bad file exits 2
before anything is verified). ``--ocds OUT.json`` writes, after success only, the contracts as
an OCDS 1.1.5 release package (:mod:`verifier.reports.ocds`, OCIDs ``--ocid-prefix``-…).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import orjson

from verifier.audit.lines import MAX_LINE_BYTES
from verifier.cli.bundle import MAX_CHECKPOINT_BYTES, audit_bundle
from verifier.cli.exports import ocds_target, read_thresholds, write_ocds
from verifier.cli.files import load_verifier_key, read_limited
from verifier.cli.fork import fork_main
from verifier.cli.inclusion import verify_inclusion_file
from verifier.cli.incremental import state_line, verify_with_state
from verifier.cli.options import EXIT_USAGE, bundle_parser, inclusion_parser
from verifier.cli.proof import proof_parser, run_proof
from verifier.cli.runtime import tune_for_long_lived_heap
from verifier.cli.witnesses import check_witnesses, precheck_bundle, witness_policy
from verifier.core.errors import InputError, VerificationError
from verifier.core.keys import VerifierKey
from verifier.reports.analysis import Analysis
from verifier.reports.html import render_html
from verifier.reports.markdown import render_markdown

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_INTERNAL = 3

_MAX_PROOF_BYTES = 1 << 20

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
            (json_path.with_suffix(".html"), render_html(report).encode("utf-8")),
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
    args = bundle_parser().parse_args(argv)
    progress = _Progress(sys.stderr) if not args.quiet and sys.stderr.isatty() else None

    def work() -> tuple[dict[str, Any], str]:
        log_key = _load_key(args.log_key, "--log-key")
        authorities = [_load_key(v, "--authority-key") for v in args.authority_key]
        policy = witness_policy(args, log_key)
        previous = None
        if args.previous_checkpoint is not None:
            previous = _read_file(
                args.previous_checkpoint, MAX_CHECKPOINT_BYTES, "--previous-checkpoint"
            )
        paths = _report_paths(args.report) if args.report is not None else None
        thresholds = read_thresholds(args.flags)
        ocds = ocds_target(args.ocds, args.ocid_prefix) if args.ocds is not None else None
        wanted = paths is not None or ocds is not None
        builder = Analysis(thresholds, ocds=ocds is not None) if wanted else None
        incremental = None
        if policy is not None:  # fail fast: no replay, no --state written (FORMAT.md §15)
            precheck_bundle(Path(args.directory), log_key, policy)
        if args.state is not None:
            finished, existed = verify_with_state(
                Path(args.directory),
                log_key,
                Path(args.state),
                authority_keys=authorities,
                previous_checkpoint=previous,
                workers=args.workers,
                progress=progress,
                builder=builder,
            )
            incremental = state_line(finished, Path(args.state), existed)
        else:
            finished = audit_bundle(
                Path(args.directory),
                log_key,
                authorities,
                previous_checkpoint=previous,
                workers=args.workers,
                progress=progress,
                builder=builder,
            )
        report = finished.report
        added: dict[str, Any] = {}
        line = (
            f"✓ 验证通过 valid: {report.tree_size} entries, origin {report.origin}, "
            f"root {report.root}"
        )
        if policy is not None:  # the checkpoint the replay verified
            witnessed = check_witnesses(finished.note, log_key, policy)
            added["witnesses"] = witnessed.to_json()
            line += f"\n{witnessed.line()}"
        if incremental is not None:
            line += f"\n{incremental}"
        if report.format == 1 and not args.quiet:
            if progress is not None:
                progress.clear()
            print(FORMAT_1_WARNING, file=sys.stderr)
        if builder is not None and paths is not None:
            # Only what the log determines: the report is the same on every run.
            summary = report.to_json() | added
            for volatile in ("elapsed_seconds", "workers"):
                summary.pop(volatile, None)
            _write_report(paths, builder.build(summary))
            line += f"\n报告 report: {paths[0]}, {paths[1]}, {paths[0].with_suffix('.html')}"
        if builder is not None and ocds is not None:
            line += "\n" + write_ocds(
                ocds, builder, args.ocid_prefix, report.tree_size, quiet=args.quiet
            )
        return report.to_json() | added, line

    return _run(args.json, args.quiet, work, progress)


def _inclusion_command(argv: Sequence[str]) -> int:
    args = inclusion_parser().parse_args(argv)

    def work() -> tuple[dict[str, Any], str]:
        log_key = _load_key(args.log_key, "--log-key")
        policy = witness_policy(args, log_key)
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
        out = report.to_json()
        if policy is not None:
            witnessed = check_witnesses(note, log_key, policy)
            out["witnesses"] = witnessed.to_json()
            text += f"\n{witnessed.line()}"
        return out, text

    return _run(args.json, args.quiet, work)


def _proof_command(argv: Sequence[str]) -> int:
    args = proof_parser().parse_args(argv)
    return _run(args.json, args.quiet, lambda: run_proof(args))


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
    if argv is None:  # a program run, not an in-process caller: see verifier/cli/runtime.py
        tune_for_long_lived_heap()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "inclusion":
            return _inclusion_command(args[1:])
        if args and args[0] == "fork":
            return fork_main(args[1:])
        if args and args[0] == "proof":
            return _proof_command(args[1:])
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
