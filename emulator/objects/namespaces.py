"""Namespaces and their service accounts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from emulator.objects.common import (
    Obj,
)
from emulator.objects.nodes import Nodes


class Namespaces(Nodes):

    def _namespace_entries(self) -> list[tuple[str, Mapping[str, Any], int]]:
        seen: dict[str, tuple[str, Mapping[str, Any], int]] = {}
        if self.view.builtins:
            base = min([e.created for e in self.entries("nodes")] + [self.view.day])
            for name in ("default", "kube-node-lease", "kube-public", "kube-system",
                         self.view.service_account[0]):
                seen[name] = (name, {}, base)
        for entry in self.entries("namespaces"):
            seen[entry.spec["name"]] = (entry.spec["name"], entry.spec, entry.created)
        return list(seen.values())

    def build_namespaces(self) -> None:
        """Build namespaces (with their Pod Security Admission labels)."""
        for name, spec, created in self._namespace_entries():
            labels = {"kubernetes.io/metadata.name": name, **spec.get("labels", {})}
            self.out.add("namespaces", {
                "metadata": self.meta("Namespace", name, None, self.ts(created), labels,
                                      spec.get("annotations")),
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            })

    def build_service_accounts(self) -> None:
        """Build service accounts: ``default`` in each namespace plus the scenario's."""
        accounts: dict[tuple[str, str], tuple[Mapping[str, Any], int]] = {}
        if self.view.builtins:
            for ns_obj in self.out.objects.get("namespaces", []):
                ns = ns_obj["metadata"]["name"]
                created = self._day_of(ns_obj["metadata"]["creationTimestamp"])
                accounts[(ns, "default")] = ({"namespace": ns, "name": "default"}, created)
            sa_ns, sa_name = self.view.service_account
            accounts[(sa_ns, sa_name)] = ({"namespace": sa_ns, "name": sa_name},
                                          accounts[(sa_ns, "default")][1])
        for entry in self.entries("serviceaccounts"):
            accounts[(entry.spec["namespace"], entry.spec["name"])] = (entry.spec, entry.created)
        for (ns, name), (spec, created) in accounts.items():
            obj: Obj = {"metadata": self.meta("ServiceAccount", name, ns, self.ts(created),
                                              spec.get("labels"), spec.get("annotations"))}
            if "automountServiceAccountToken" in spec:
                obj["automountServiceAccountToken"] = bool(spec["automountServiceAccountToken"])
                self.sa_automount[(ns, name)] = obj["automountServiceAccountToken"]
            self.out.add("serviceaccounts", obj)

    def _day_of(self, timestamp: str) -> int:
        moment = dt.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        return (moment - self.now).days
