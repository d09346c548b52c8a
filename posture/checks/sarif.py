"""Render a scan as SARIF 2.1.0, for code-scanning dashboards."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any, TextIO
from urllib.parse import quote

import orjson

from posture.checks.base import Check
from posture.checks.catalog import CHECKS, CHECKSET_VERSION
from posture.checks.frameworks import Framework
from posture.checks.manifests import InputError
from posture.checks.scan import ExitCode, ScanResult
from posture.checks.vocabulary import Severity

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning ranks security results by this property (a CVSS-like 0-10 score).
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def render(
    result: ScanResult, exit_code: ExitCode, framework: Framework | None = None
) -> dict[str, Any]:
    """Return the SARIF log of ``result``: one run, every catalog check as a rule.

    With a ``framework``, each rule and result names the framework's controls it falls under:
    as a property (``{"cis": ["5.2.2"]}``) and as tags (``cis/5.2.2``).

    Input that could not be scanned becomes a tool execution notification, at its file and
    line. The invocation succeeded unless the scan exits for unreadable input: then
    ``executionSuccessful`` is false (code-scanning services then keep the alerts they had
    rather than closing those of a file they could not read), and the notifications are
    errors; when ``--allow-errors`` let the findings decide, they are warnings.
    """
    uri = _Uris()
    return _log(result, exit_code, framework, uri, list(_results(result, framework, uri)))


def write(
    result: ScanResult, exit_code: ExitCode, out: TextIO, framework: Framework | None = None
) -> None:
    """Write ``render``'s log as ``json.dump(indent=2, ensure_ascii=False)`` would, and a newline.

    The results are made and encoded object by object: the log of a large scan (ten results
    per object are common) is never held whole, neither as objects nor as text.
    """
    uri = _Uris()
    # The results come last in the log: the rest of it, written with none, ends in the
    # empty list that they go into.
    head = dumps(_log(result, exit_code, framework, uri, []))
    cut = head.rindex(_NO_RESULTS) + len(_NO_RESULTS) - 1
    out.write(head[:cut])
    separator = ""
    for entries in _results_by_object(result, framework, uri):
        # An object's results encoded as one list (a call per result cost more than the
        # encoding), its items moved from the list's level to the log's.
        items = dumps(entries)
        out.write(separator)
        out.write(items[1 : -len(_END_OF_LIST)].replace("\n", _DEEPER))
        separator = ","
    if separator:
        out.write(_END_OF_RESULTS)
    out.write(head[cut:])
    out.write("\n")


# How the indented encoding lays out the results list: the key at the fourth level (in the
# log, its one run), each item at the fifth; a list encoded alone has its items at the first.
_NO_RESULTS = '"results": []'
_END_OF_LIST = "\n]"
_DEEPER = "\n" + " " * 6
_END_OF_RESULTS = "\n" + " " * 6


def dumps(doc: object) -> str:
    """Return ``doc`` as ``json.dumps(indent=2, ensure_ascii=False)`` does, byte for byte,
    except that a lone surrogate is written as its JSON escape (``\\ud800``).

    The standard library's encoder falls back to pure Python when indenting, and took longer
    than parsing the manifests; orjson writes the same text. What orjson refuses (a lone
    surrogate, an integer past 64 bits) goes through the standard library instead. A lone
    surrogate (a manifest may spell one as ``"\\ud800"``) cannot be encoded as UTF-8, so the
    text with it raw could not be written out at all; escaped, it is still JSON that reads back
    to the same string.
    """
    try:
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
    except (orjson.JSONEncodeError, UnicodeDecodeError):
        text = json.dumps(doc, indent=2, ensure_ascii=False)
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _results(
    result: ScanResult, framework: Framework | None, uri: _Uris
) -> Iterator[dict[str, Any]]:
    """Yield the SARIF result of every finding, object by object."""
    for entries in _results_by_object(result, framework, uri):
        yield from entries


def _results_by_object(
    result: ScanResult, framework: Framework | None, uri: _Uris
) -> Iterator[list[dict[str, Any]]]:
    """Yield the SARIF results of each object that has findings, in order."""
    index = {check.id: i for i, check in enumerate(CHECKS)}
    for obj in result.objects:
        if not obj.findings:
            continue
        # Every finding of an object points at the same place: one location, shared by all
        # of them (the encoder writes it out at each), and each file's URI worked out once.
        locations = [_location(uri(obj.source), obj.line, None)] if obj.source else None
        where = _where(obj.kind, obj.namespace, obj.name)
        entries = []
        for finding in obj.findings:
            entry: dict[str, Any] = {
                "ruleId": finding.check,
                "ruleIndex": index[finding.check],
                "level": _LEVEL[finding.severity],
                "message": {"text": f"{where}: {finding.message}" if where else finding.message},
                "properties": {"severity": str(finding.severity)},
            }
            if framework is not None:
                entry["properties"][framework.id] = list(
                    framework.controls_of(finding.check, finding.message)
                )
            if locations is not None:
                entry["locations"] = locations
            entries.append(entry)
        yield entries


def _log(
    result: ScanResult,
    exit_code: ExitCode,
    framework: Framework | None,
    uri: _Uris,
    results: list[dict[str, Any]],
) -> dict[str, Any]:
    """Return the log around ``results`` (which must stay its last member: see ``write``)."""
    failed = exit_code is ExitCode.INPUT
    kinds = list(InputError)
    notifications = [
        {
            "descriptor": {"id": f"input.{error.kind}", "index": kinds.index(error.kind)},
            "level": "error" if failed else "warning",
            "message": {"text": error.message},
            "locations": [_location(uri(error.source), error.line, error.column)],
        }
        for error in result.errors
    ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "posture",
                        "version": CHECKSET_VERSION,
                        "rules": [_rule(check, framework) for check in CHECKS],
                        "notifications": [
                            {
                                "id": f"input.{kind}",
                                "shortDescription": {"text": kind.description},
                            }
                            for kind in kinds
                        ],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not failed,
                        "exitCode": int(exit_code),
                        "exitCodeDescription": exit_code.summary,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }


def _where(kind: str, namespace: str, name: str) -> str:
    """Return how a result's message names its object ("" for an object without a name)."""
    where = f"{namespace}/{name}" if namespace else name
    return f"{kind} {where}" if where else ""


def _rule(check: Check, framework: Framework | None) -> dict[str, Any]:
    refs = "\n".join(f"- {url}" for url in check.references)
    rule: dict[str, Any] = {
        "id": check.id,
        "name": check.id,
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.why},
        "help": {
            "text": f"{check.fix}\n\n{check.snippet}\n\nReferences:\n{refs}",
            "markdown": f"{check.fix}\n\n```\n{check.snippet}\n```\n\nReferences:\n{refs}",
        },
        "helpUri": check.references[0],
        "defaultConfiguration": {"level": _LEVEL[check.severity]},
        "properties": {
            "category": str(check.category),
            "severity": str(check.severity),
            "security-severity": _SECURITY_SEVERITY[check.severity],
            "tags": ["security", "kubernetes", str(check.category)],
        },
    }
    if framework is not None:
        controls = framework.controls_of(check.id)
        properties = rule["properties"]
        properties[framework.id] = list(controls)
        properties["tags"] = [*properties["tags"], *(f"{framework.id}/{c}" for c in controls)]
    return rule


def _location(uri: str, line: int | None, column: int | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
    if line is not None and line >= 1:
        region: dict[str, int] = {"startLine": line}
        if column is not None and column >= 1:
            region["startColumn"] = column
        physical["region"] = region
    return {"physicalLocation": physical}


class _Uris:
    """Turn sources into URIs, each source once, against the working directory of the call.

    Findings come object by object and many objects share a file: working the URI out per
    finding (an absolute path, a relative one, a ``PurePath`` each) cost more than the rest
    of the SARIF log.
    """

    def __init__(self) -> None:
        self._cwd = os.getcwd()
        self._uris: dict[str, str] = {}

    def __call__(self, source: str) -> str:
        uri = self._uris.get(source)
        if uri is None:
            uri = self._uris[source] = _uri(source, self._cwd)
        return uri


def _uri(source: str, cwd: str) -> str:
    """Return ``source`` as a relative URI reference when it lies under ``cwd``."""
    path = os.path.normpath(os.path.join(cwd, source))
    try:
        rel = os.path.relpath(path, cwd)
    except ValueError:
        rel = path
    if rel.startswith(".."):
        return PurePath(path).as_uri()
    return quote(PurePath(rel).as_posix())
