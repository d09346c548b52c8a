"""What every check function reads: the inventory, the policy, the date, and shared caches."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from functools import cached_property
from operator import itemgetter, lt
from typing import Any, NamedTuple, TypeVar

from posture.checks import pss
from posture.checks.inventory import PackedTemplate
from posture.checks.pod import PodFacts, TemplateIndex
from posture.checks.policy import Policy
from posture.checks.results import FindingRow, Ordered
from posture.checks.safe import dicts, dig, mapping, string_map, text

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"


class WorkloadView(NamedTuple):
    """A workload with its template's facts (shared with every workload of the same template)."""

    kind: str
    namespace: str
    name: str
    labels: dict[str, str]
    # Packed as the inventory had it: ``Context.pod_security`` unpacks it when it needs it.
    template: dict[str, Any] | PackedTemplate
    # The same number for every workload whose template has the same spec and annotations.
    key: int
    facts: PodFacts


class Context:
    """The input of one evaluation, with indexes and caches built on first use.

    A ``compact`` context keeps one copy of equal values it makes per template (Pod Security
    verdicts, container facts) and per finding (messages, evidence; ``shared_rows``), for a
    caller that holds every finding until the end, as ``posture scan`` does: what it costs
    (hashing each of them) would buy a poll nothing, its findings being stored and dropped.
    The engine then empties the rows each check returns once they are findings, so that the
    rules' caches (``memo``) do not keep a second copy: each check's rows are read once.
    """

    def __init__(
        self, inventory: Mapping[str, Any], policy: Policy, today: date, compact: bool = False
    ) -> None:
        self.inventory = inventory
        self.policy = policy
        self.today = today
        self.compact = compact
        # Equal values made during a compact evaluation -> the one copy kept (by kind of value,
        # so that values of different kinds never meet as keys).
        self._shared_verdicts: dict[pss.Levels, pss.Levels] = {}
        self._shared_facts: dict[object, Any] = {}
        self._shared_messages: dict[str, str] = {}
        self._shared_evidence: dict[str, dict[str, Any]] = {}
        # Effective version -> template number -> verdict.
        self._pss: dict[str, dict[int, pss.Levels | None]] = {}
        self._versions: dict[str, str] = {}
        self._enforcement: dict[str, tuple[str, str]] = {}
        # Results several checks share (e.g. the cluster's Kubernetes support), by name.
        self.memo: dict[str, object] = {}

    def coverage(self, resource: str) -> tuple[str, str]:
        """Return (state, message) for ``resource``; never-collected counts as ``absent``."""
        entry = mapping(mapping(self.inventory.get("coverage")).get(resource))
        return text(entry.get("state")) or "absent", text(entry.get("message"))

    def objects(self, resource: str) -> list[dict[str, Any]]:
        """Return the inventory's objects of ``resource`` that are dicts."""
        return dicts(self.inventory.get(resource))

    @cached_property
    def workloads(self) -> list[WorkloadView]:
        """Return the workloads by (kind, namespace, name), each template analysed once.

        The order is stable for workloads of the same identity. Checks that go through the
        workloads in this order report them nearly sorted, which leaves the engine's final sort
        little to do.

        Each distinct template's Pod Security verdict at the policy's version is worked out
        here too, right after its facts: the Pod Security checks need it for every template,
        and reading a template while it is still in the CPU's caches is markedly cheaper on a
        cluster of many templates.

        A ``PackedTemplate`` is unpacked for this and the dict dropped right after: the view
        keeps the packed bytes.
        """
        index = TemplateIndex()
        facts_of = index.facts
        effective = self._effective(self.policy.pss_version)
        verdicts = self._pss.setdefault(effective, {})
        compact = self.compact
        views = []
        for w in self.objects("workloads"):
            stored = w.get("template")
            if type(stored) is PackedTemplate:
                template = mapping(stored.unpack())
                key = index.number(template, stored)
                kept: dict[str, Any] | PackedTemplate = stored
            else:
                kept = template = mapping(stored)
                key = index.number(template)
            if key not in verdicts:
                self._evaluate(template, key, effective, verdicts, eager=True)
                if compact:
                    facts_of[key] = self._shared_pod_facts(facts_of[key])
            kind, namespace, name = w.get("kind"), w.get("namespace"), w.get("name")
            # NetworkPolicies select pods, so the pod template's labels are the ones that
            # count; the workload's own labels are only a fallback.
            labels = string_map(mapping(template.get("metadata")).get("labels"))
            view = (
                kind if isinstance(kind, str) and kind else "Pod",
                namespace if isinstance(namespace, str) else "",
                name if isinstance(name, str) else "",
                labels or string_map(w.get("labels")),
                kept,
                key,
                facts_of[key],
            )
            # The named tuple's own __new__ is a Python function; tuple.__new__ builds the same.
            views.append(tuple.__new__(WorkloadView, view))
        views.sort(key=_IDENTITY)
        return views

    @cached_property
    def workloads_in_order(self) -> bool:
        """Say whether no two workloads share an identity (kind, namespace, name).

        Then rows reported one per workload, in ``workloads`` order, are in identity order.
        """
        identities = list(map(_IDENTITY, self.workloads))
        return all(map(lt, identities, identities[1:]))

    @cached_property
    def containers_in_order(self) -> bool:
        """Say whether, besides, every template's container names are distinct and ascending.

        Then rows reported one per container, workload by workload in ``workloads`` order and
        container by container, are in identity order.
        """
        return self.workloads_in_order and all(v.facts.names_ascending for v in self.workloads)

    def rows_per_workload(self) -> list[FindingRow]:
        """Return a list for rows reported one per workload, in ``workloads`` order.

        It is ``Ordered`` when that order is identity order, so that the engine need not sort.
        """
        return Ordered() if self.workloads_in_order else []

    def rows_per_container(self) -> list[FindingRow]:
        """Return a list for rows reported one per container, workload by workload."""
        return Ordered() if self.containers_in_order else []

    @cached_property
    def namespaces(self) -> dict[str, dict[str, Any]]:
        """Return Namespace objects by name."""
        return {text(dig(ns, "metadata", "name")): ns for ns in self.objects("namespaces")}

    @cached_property
    def service_accounts(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Return ServiceAccount objects by (namespace, name)."""
        out = {}
        for sa in self.objects("serviceaccounts"):
            meta = mapping(sa.get("metadata"))
            out[(text(meta.get("namespace")), text(meta.get("name")))] = sa
        return out

    def enforcement(self, namespace: str) -> tuple[str, str]:
        """Return the (level, version) Pod Security Admission enforces in ``namespace``.

        No label means privileged. An invalid value makes admission use the strictest reading
        (restricted, latest), so the same is done here.
        """
        found = self._enforcement.get(namespace)
        if found is None:
            labels = string_map(dig(self.namespaces.get(namespace), "metadata", "labels"))
            level = labels.get(ENFORCE_LABEL)
            if level is None:
                level = "privileged"
            elif level not in pss.LEVELS:
                level = "restricted"
            found = self._enforcement[namespace] = (
                level,
                labels.get(ENFORCE_VERSION_LABEL, "latest"),
            )
        return found

    def pod_security(self, view: WorkloadView, version: str) -> pss.Levels | None:
        """Evaluate ``view``'s template at both levels, once per distinct template and version.

        Return None when the template is too malformed to evaluate (the API server would have
        refused it). A version the rules do not know reads as ``latest``, as admission does.
        """
        effective = self._effective(version)
        verdicts = self._pss.setdefault(effective, {})
        if view.key in verdicts:
            return verdicts[view.key]
        stored = view.template
        template = mapping(stored.unpack()) if isinstance(stored, PackedTemplate) else stored
        return self._evaluate(template, view.key, effective, verdicts, eager=False)

    def _effective(self, version: str) -> str:
        effective = self._versions.get(version)
        if effective is None:
            try:
                effective = pss.effective_version(version)
            except ValueError:
                effective = pss.effective_version("latest")
            self._versions[version] = effective
        return effective

    def _evaluate(
        self,
        template: dict[str, Any],
        key: int,
        effective: str,
        verdicts: dict[int, pss.Levels | None],
        eager: bool,
    ) -> pss.Levels | None:
        try:
            found: pss.Levels | None = pss.evaluate_levels(template, effective)
        except ValueError:
            found = None
        except Exception:
            if not eager:
                raise
            # A failure ahead of time must not take every workload check down: the Pod
            # Security check that asks for this verdict meets it again, and fails alone.
            return None
        if found is not None and self.compact:
            found = self._shared_verdicts.setdefault(found, found)
        verdicts[key] = found
        return found

    def _shared_pod_facts(self, facts: PodFacts) -> PodFacts:
        # Charts repeat their sidecars and settings: many templates differ in one container,
        # and that one shares most of its strings with others (registry, repository, label).
        shared = self._shared_facts
        containers = []
        for c in facts.containers:
            container = shared.get(c)
            if container is None:
                # The key too is the copy: the original must not stay alive.
                container = _interned(c._replace(ref=_interned(c.ref)))
                shared[container] = container
            containers.append(container)
        facts = facts._replace(containers=tuple(containers))
        kept: PodFacts = shared.setdefault(facts, facts)
        return kept

    def shared_rows(self, rows: Iterable[FindingRow]) -> Iterator[FindingRow]:
        """Yield ``rows`` with equal messages and evidence made one object each.

        Evidence is told apart by its ``repr``, which is exact for the plain data it holds
        (``True``, ``1`` and ``1.0`` compare equal, but their reprs differ). Nothing changes
        a finding's evidence once its check has returned it, so findings may share it.
        """
        messages, evidences = self._shared_messages, self._shared_evidence
        for kind, namespace, name, container, message, evidence in rows:
            if type(evidence) is dict:
                evidence = evidences.setdefault(repr(evidence), evidence)
            yield kind, namespace, name, container, messages.setdefault(message, message), evidence


_Strings = TypeVar("_Strings", bound=tuple[Any, ...])


def _interned(t: _Strings) -> _Strings:
    """Return the named tuple ``t`` with each of its strings the interned copy."""
    return t._make([sys.intern(v) if type(v) is str else v for v in t])  # type: ignore[attr-defined, no-any-return]


# A view's (kind, namespace, name): its first three fields.
_IDENTITY = itemgetter(0, 1, 2)
