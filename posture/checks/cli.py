"""``posture scan``: run the rules on manifest files before they reach a cluster.

Exit status: 1 when a finding at or above ``--fail-on`` exists, 0 otherwise, 2 on usage errors
(bad arguments, missing paths, an invalid policy file).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import TextIO

from posture.checks import pss
from posture.checks.policy import PSS_TARGET_LEVELS, Policy, PolicyError
from posture.checks.safe import clip
from posture.checks.sarif import render as render_sarif
from posture.checks.scan import ScanResult, scan
from posture.checks.vocabulary import Severity

FORMATS = ("text", "json", "sarif")
USAGE_ERROR = 2
# Object names and messages come from the scanned files: control characters in them could
# rewrite the CI log (terminal escape sequences), so they are shown escaped.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``posture`` command."""
    parser = argparse.ArgumentParser(
        prog="posture", description="Security posture checks for Kubernetes."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser(
        "scan",
        help="check Kubernetes manifests (YAML or JSON files, or directories of them)",
        description="Check Kubernetes manifests with the same rules as the dashboard. Checks "
        "that need a live cluster (Kubernetes version, nodes, vulnerability reports) do not "
        "apply to manifests.",
    )
    cmd.add_argument("paths", nargs="+", metavar="PATH", help="file or directory to scan")
    cmd.add_argument("--policy", metavar="FILE", help="policy file (YAML or JSON)")
    cmd.add_argument(
        "--pss-level",
        choices=PSS_TARGET_LEVELS,
        help="Pod Security Standards level to check against (default: the policy's, restricted)",
    )
    cmd.add_argument(
        "--pss-version",
        metavar="V",
        help='Pod Security Standards version, "latest" or e.g. "v1.30" (default: latest)',
    )
    cmd.add_argument("--format", choices=FORMATS, default="text", help="output format")
    cmd.add_argument(
        "--fail-on",
        choices=[str(s) for s in Severity.ordered()],
        default=str(Severity.HIGH),
        metavar="SEVERITY",
        help="exit 1 when a finding at or above this severity exists "
        "(critical, high, medium, low, info; default: high)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    return _scan(args, sys.stdout, sys.stderr)


def _scan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        err.write(f"posture scan: no such file or directory: {', '.join(missing)}\n")
        return USAGE_ERROR
    try:
        policy = Policy.from_yaml_file(args.policy) if args.policy else Policy()
    except PolicyError as exc:
        err.write(f"posture scan: {exc}\n")
        return USAGE_ERROR
    if args.pss_level:
        policy = replace(policy, pss_level=args.pss_level)
    if args.pss_version:
        try:
            pss.effective_version(args.pss_version)
        except ValueError as exc:
            err.write(f"posture scan: --pss-version: {exc}\n")
            return USAGE_ERROR
        policy = replace(policy, pss_version=args.pss_version)
    result = scan(args.paths, policy)
    if args.format == "json":
        json.dump(result.to_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif args.format == "sarif":
        json.dump(render_sarif(result), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        write_text(result, out)
    threshold = Severity(args.fail_on).rank
    failing = any(f.severity.rank >= threshold for f in result.evaluation.findings)
    return 1 if failing else 0


def write_text(result: ScanResult, out: TextIO) -> None:
    """Write one line per finding, grouped per object, then a summary line."""
    for error in result.errors:
        where = ":".join(str(p) for p in (error.source, error.line, error.column) if p)
        out.write(f"{_safe(where)}: error: {_safe(error.message)}\n")
    for obj in result.objects:
        if not obj.findings:
            continue
        where = f"{obj.source}:{obj.line}" if obj.source else "(not declared in these files)"
        name = f"{obj.namespace}/{obj.name}" if obj.namespace else obj.name
        out.write(f"{_safe(where)}: {_safe(obj.kind)} {_safe(name)}\n")
        for f in obj.findings:
            container = f" [{_safe(f.container)}]" if f.container else ""
            out.write(f"  {f.severity.upper():<8} {f.check}{container}: {_safe(f.message)}\n")
    counts = Counter(f.severity for f in result.evaluation.findings)
    total = len(result.evaluation.findings)
    summary = ", ".join(f"{counts[s]} {s}" for s in Severity.ordered() if counts[s])
    files = len({o.source for o in result.objects if o.source})
    line = f"{_count(total, 'finding')}{f' ({summary})' if summary else ''} in "
    line += f"{_count(len(result.objects), 'object')} from {_count(files, 'file')}"
    if result.errors:
        line += f"; {_count(len(result.errors), 'error')}"
    out.write(line + "\n")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _safe(text: str) -> str:
    return clip(text, 2000).translate(_CONTROL)
