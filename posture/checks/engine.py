"""Evaluate an inventory: run every enabled check, in catalog order, deterministically."""

from __future__ import annotations

import gc
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from operator import itemgetter, lt
from typing import Any

from posture.checks.base import Check, NotEvaluated, Ordered
from posture.checks.catalog import CHECKS, CHECKSET_VERSION
from posture.checks.context import Context
from posture.checks.namespaces import pod_security_of
from posture.checks.policy import Policy
from posture.checks.results import Evaluation, Finding, FindingRow, build_findings
from posture.checks.rules.vulnerabilities import vulnerability_scan
from posture.checks.safe import clip
from posture.checks.vocabulary import Category, Severity

log = logging.getLogger(__name__)

_Identity = tuple[str, str, str, str]
# A row's first four fields are its identity.
_IDENTITY = itemgetter(0, 1, 2, 3)


def evaluate(
    inventory: Mapping[str, Any],
    policy: Policy | None = None,
    today: date | None = None,
    compact: bool = False,
) -> Evaluation:
    """Run the checks on ``inventory`` and return findings plus the checks that could not run.

    A check whose input could not be read (coverage not ``read``) is not evaluated, never
    passed. Same inventory, policy and day give the same findings in the same order.

    ``compact`` makes findings share equal messages and evidence, and templates equal
    verdicts and container facts (``Context``): less memory for a caller that holds many
    findings to the end (``posture scan``), a little more time. The findings are equal.
    """
    # An evaluation allocates several objects per workload and finding and keeps them to the
    # end, so the cyclic GC would rescan the whole inventory again and again for nothing to
    # free (the engine makes no reference cycles): pausing it halves the time of a 10,000-pod
    # evaluation. Another thread's evaluation may turn it back on early; that only slows this
    # one down, and the GC is never left off.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _evaluate(inventory, policy or Policy(), today or date.today(), compact)
    finally:
        if enabled:
            gc.enable()


def _evaluate(
    inventory: Mapping[str, Any], policy: Policy, today: date, compact: bool
) -> Evaluation:
    ctx = Context(inventory, policy, today, compact)
    # Keys of different checks never collide, so findings are deduplicated and sorted per check.
    groups: list[tuple[tuple[int, int, str], list[Finding]]] = []
    by_severity: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    not_evaluated: dict[str, str] = {}
    evaluated: list[str] = []
    disabled: list[str] = []
    for check in CHECKS:
        if check.id in policy.disabled_checks:
            disabled.append(check.id)
            continue
        reason = _missing_input(ctx, check)
        if reason is None:
            try:
                severity = policy.severity_for(check.id, check.severity)
                hits = check.run(ctx)
                rows = hits if type(hits) is Ordered else _ordered(hits)
            except NotEvaluated as exc:
                reason = str(exc)
            except Exception:
                # One broken check must not hide every other result of the poll.
                log.exception("check %s failed", check.id)
                reason = "the check failed on this input; see the worker log"
            else:
                if rows:
                    findings = build_findings(
                        check.id, severity, check.category,
                        ctx.shared_rows(rows) if compact else rows,
                    )
                    if compact:
                        # The rows may be a rule's cached list (``Context.memo``): emptied, it
                        # no longer holds the messages and evidence that were not kept.
                        for listed in (hits, rows):
                            if isinstance(listed, list):
                                listed.clear()
                    order = (-severity.rank, check.category.rank, check.id)
                    groups.append((order, findings))
                    by_severity[str(severity)] += len(findings)
                    by_category[str(check.category)] += len(findings)
        if reason is None:
            evaluated.append(check.id)
        else:
            not_evaluated[check.id] = reason
    # Same order as Finding.sort_key, with each check's ranks looked up once, not per finding.
    findings = [f for _, group in sorted(groups, key=lambda g: g[0]) for f in group]
    # Read even when the policy turns the vulnerability checks off: storage keeps the CVEs.
    read = ctx.coverage("vulnerabilityreports")[0] == "read"
    return Evaluation(
        findings=findings,
        not_evaluated=not_evaluated,
        evaluated=tuple(evaluated),
        disabled=tuple(disabled),
        checkset_version=CHECKSET_VERSION,
        counts_by_severity={str(s): by_severity.get(str(s), 0) for s in Severity.ordered()},
        counts_by_category={str(c): by_category.get(str(c), 0) for c in Category.ordered()},
        vulnerabilities=vulnerability_scan(ctx) if read else None,
        # From the same context: the templates' verdicts are shared with the Pod Security checks.
        pod_security=(pod_security_of(ctx) if ctx.coverage("namespaces")[0] == "read"
                      else None),
    )


def _ordered(hits: Iterable[FindingRow]) -> list[FindingRow]:
    """Return the first hit per identity (kind, namespace, name, container), in identity order."""
    listed = hits if isinstance(hits, list) else list(hits)
    keys = list(map(_IDENTITY, listed))
    # Checks that go through the (sorted) workloads report in identity order already: then
    # there is nothing to deduplicate or sort.
    if all(map(lt, keys, keys[1:])):
        return listed
    unique: dict[_Identity, FindingRow] = {}
    for key, hit in zip(keys, listed, strict=True):
        unique.setdefault(key, hit)
    return [unique[key] for key in sorted(unique)]


def _missing_input(ctx: Context, check: Check) -> str | None:
    for resource in check.needs:
        state, message = ctx.coverage(resource)
        if state != "read":
            detail = f": {clip(message, 200)}" if message else ""
            return f"{resource} {_STATE_WORDS.get(state, 'not read')}{detail}"
    return None


_STATE_WORDS = {
    "forbidden": "could not be read (forbidden)",
    "error": "could not be read (error)",
    "absent": "not available in this cluster",
}
