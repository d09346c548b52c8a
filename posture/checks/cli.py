"""``posture scan``: run the rules on manifest files before they reach a cluster.

Exit status (``posture.checks.scan.ExitCode``): 0 clean, 1 a finding at or above ``--fail-on``,
2 a usage error, 3 unreadable input (which wins over 1 unless ``--allow-errors``; a scan that
found no manifest always exits 3).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import TextIO

from posture.checks import frameworks, pss, sarif, yamlload
from posture.checks.frameworks import scan as framework_scan
from posture.checks.hidden import visible
from posture.checks.manifests import InputError
from posture.checks.policy import PSS_TARGET_LEVELS, Policy, PolicyError
from posture.checks.safe import clip
from posture.checks.scan import ExitCode, ScanResult, scan
from posture.checks.vocabulary import Severity

FORMATS = ("text", "json", "sarif")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``posture`` command."""
    parser = argparse.ArgumentParser(
        prog="posture", description="Security posture checks for Kubernetes."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser(
        "scan",
        help="check Kubernetes manifests (YAML or JSON files, or directories of them)",
        description=_wrap(
            "Check Kubernetes manifests with the same rules as the dashboard. Checks that need "
            "a live cluster (Kubernetes version, nodes, vulnerability reports) do not apply to "
            "manifests."
        ),
        epilog=_exit_statuses(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    cmd.add_argument(
        "--framework",
        choices=frameworks.FRAMEWORK_IDS,
        help="report by control of a compliance framework (cis: CIS Kubernetes Benchmark, "
        "nsa: NSA/CISA Kubernetes Hardening Guide); only findings under its controls are "
        "reported and decide --fail-on",
    )
    cmd.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        metavar="N",
        help="parse the files in N processes (0: one per CPU; default: 1); the output is the "
        "same, in the same order",
    )
    cmd.add_argument(
        "--allow-errors",
        action="store_true",
        help="let the findings decide the exit status even when some files cannot be read or "
        "parsed (they are still reported); a scan that finds no manifest at all still exits 3",
    )
    return parser


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of processes: {value!r}") from None
    if jobs < 0:
        raise argparse.ArgumentTypeError("must be 0 (one per CPU) or more")
    return jobs or os.cpu_count() or 1


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(
        text, width=78, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )


def _exit_statuses() -> str:
    lines = ["exit status:"]
    for code in ExitCode:
        body = _wrap(code.summary, " " * 5)
        lines.append(f"  {code.value}  {body.lstrip()}")
    lines.append("")
    lines.append(
        _wrap(
            "Unreadable input (3) wins over findings (1): the findings of the readable files "
            "are reported all the same. With --allow-errors the findings decide, and the "
            "unreadable files are reported as warnings."
        )
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    return _scan(args, sys.stdout, sys.stderr)


def _scan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        err.write(f"posture scan: no such file or directory: {', '.join(missing)}\n")
        return ExitCode.USAGE
    try:
        policy = Policy.from_yaml_file(args.policy) if args.policy else Policy()
    except PolicyError as exc:
        err.write(f"posture scan: {exc}\n")
        return ExitCode.USAGE
    if args.pss_level:
        policy = replace(policy, pss_level=args.pss_level)
    if args.pss_version:
        try:
            pss.effective_version(args.pss_version)
        except ValueError as exc:
            err.write(f"posture scan: --pss-version: {exc}\n")
            return ExitCode.USAGE
        policy = replace(policy, pss_version=args.pss_version)
    if not yamlload.libyaml():
        err.write("posture scan: PyYAML has no libyaml here: parsing with the slower "
                  "pure-Python loader (same results)\n")
    result = scan(args.paths, policy, jobs=args.jobs)
    fw = frameworks.framework(args.framework) if args.framework else None
    if fw is not None:
        result = framework_scan.filtered(result, fw)
    code = result.exit_code(Severity(args.fail_on), allow_errors=args.allow_errors)
    if args.format == "json":
        extra: dict[str, object] = {}
        if fw is not None:
            extra["framework"] = framework_scan.to_dict(framework_scan.assess_scan(result, fw))
        write_json(result, code, out, extra)
    elif args.format == "sarif":
        sarif.write(result, code, out, fw)
    elif fw is not None:
        framework_scan.write_text(result, framework_scan.assess_scan(result, fw), out)
    else:
        write_text(result, out)
    verdict = input_verdict(result, code)
    if verdict:
        err.write(f"posture scan: {verdict}\n")
    return code


def write_json(
    result: ScanResult, code: ExitCode, out: TextIO, extra: dict[str, object] | None = None
) -> None:
    """Write ``result.to_dict(code)`` (and ``extra``'s keys after its own) as
    ``json.dump(indent=2, ensure_ascii=False)`` does, and a newline.

    The objects are made and encoded a batch at a time, as the SARIF log's results are: the
    document of a large scan is never held whole, neither as dicts nor as text.
    """
    doc = {**result.to_dict(code, objects=False), **(extra or {})}
    head = sarif.dumps({"objects": [], **doc})
    if not result.objects or not head.startswith(_NO_OBJECTS):
        out.write(sarif.dumps({"objects": [o.to_dict() for o in result.objects], **doc}))
        out.write("\n")
        return
    cut = len(_NO_OBJECTS) - 1
    out.write(head[:cut])
    separator = ""
    objects = result.objects
    for start in range(0, len(objects), _JSON_BATCH):
        # A batch encoded as one list, its items moved from the list's level to the document's.
        items = sarif.dumps([o.to_dict() for o in objects[start : start + _JSON_BATCH]])
        out.write(separator)
        out.write(items[1 : -len(_END_OF_LIST)].replace("\n", "\n  "))
        separator = ","
    out.write("\n  ")
    out.write(head[cut:])
    out.write("\n")


# How the indented encoding lays out the document: "objects" is its first key.
_NO_OBJECTS = '{\n  "objects": []'
_END_OF_LIST = "\n]"
_JSON_BATCH = 256


def input_verdict(result: ScanResult, code: ExitCode) -> str:
    """Say what the unreadable input means for this scan ("" when every input was read)."""
    if not result.errors:
        return ""
    unreadable = len({e.source for e in result.errors if e.kind is InputError.UNREADABLE})
    invalid = sum(1 for e in result.errors if e.kind is InputError.INVALID_OBJECT)
    parts = []
    if unreadable:
        parts.append(f"{_count(unreadable, 'file')} could not be read")
    if invalid:
        parts.append(f"{_count(invalid, 'object')} {'is' if invalid == 1 else 'are'} malformed")
    what = " and ".join(parts)
    if result.found_nothing:
        found = "no Kubernetes manifest was found"
        return f"nothing was scanned: {f'{what}, ' if what else ''}{found} (exit {code})"
    if code is ExitCode.INPUT:
        return (
            f"{what}: the scan is incomplete (exit {code}; with --allow-errors the findings "
            "of the readable files decide)"
        )
    return f"{what} (allowed by --allow-errors)"


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
    # Names and messages come from the scanned files: a control character could rewrite the CI
    # log (terminal escape sequences) and a bidi override reorder it, so they show as escapes.
    return visible(clip(text, 2000))
