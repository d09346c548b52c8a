"""Trivy Operator vulnerability reports, one per workload's container image."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.objects.common import (
    Entry,
    Obj,
    number,
    safe_suffix,
    split_image,
)
from emulator.objects.rbac import Rbac


class VulnerabilityReports(Rbac):

    def build_vulnerability_reports(self) -> None:
        """Build Trivy Operator VulnerabilityReports for the scenario's scanned containers."""
        for entry in self.entries("vulnerabilityreports"):
            spec = entry.spec
            namespace = spec["namespace"]
            kind, _, name = str(spec["workload"]).partition("/")
            owner_kind, owner_name, owner_api = kind, name, "apps/v1"
            template: Mapping[str, Any] | None = None
            if kind == "Deployment":
                rs = self.rs_by_workload.get((namespace, name))
                if rs is None:
                    continue
                owner_kind, owner_name = "ReplicaSet", rs["metadata"]["name"]
                template = rs["spec"]["template"]
            else:
                for plural in ("statefulsets", "daemonsets", "cronjobs", "jobs", "replicasets"):
                    for obj in self.out.objects.get(plural, []):
                        m = obj["metadata"]
                        if m["namespace"] == namespace and m["name"] == name:
                            template = (obj["spec"]["jobTemplate"]["spec"]["template"]
                                        if plural == "cronjobs" else obj["spec"]["template"])
                            owner_api = "batch/v1" if plural in ("cronjobs", "jobs") \
                                else "apps/v1"
            if template is None:
                continue
            container = spec["container"]
            image = next((c["image"] for c in template["spec"]["containers"]
                          if c["name"] == container), None)
            if image is None:
                continue
            self.out.add("vulnerabilityreports", self._report(
                namespace, owner_kind, owner_name, owner_api, container, image, spec, entry))

    def _report(self, namespace: str, owner_kind: str, owner_name: str, owner_api: str,
                container: str, image: str, spec: Mapping[str, Any], entry: Entry) -> Obj:
        repo, tag, image_digest = split_image(image)
        registry, _, repository = repo.partition("/")
        if registry == "docker.io":
            registry = "index.docker.io"
        vulns = [dict(v) for v in spec.get("vulnerabilities", [])]
        counts = {s: sum(1 for v in vulns if v.get("severity") == s.upper())
                  for s in ("critical", "high", "medium", "low", "unknown")}
        counts.update({s: int(spec[s]) for s in counts if s in spec})
        name = f"{owner_kind.lower()}-{owner_name}-{container}"
        owner_meta = self.meta(owner_kind, owner_name, namespace, "")
        meta = self.meta("VulnerabilityReport", name, namespace, self.ts(entry.since, 5), {
            "trivy-operator.container.name": container,
            "trivy-operator.resource.kind": owner_kind,
            "trivy-operator.resource.name": owner_name,
            "trivy-operator.resource.namespace": namespace,
            "resource-spec-hash": safe_suffix(10, owner_name, image),
        })
        meta["generation"] = 1
        meta["ownerReferences"] = [{"apiVersion": owner_api, "kind": owner_kind,
                                    "name": owner_name, "uid": owner_meta["uid"],
                                    "controller": True, "blockOwnerDeletion": False}]
        artifact: Obj = {"repository": repository, "tag": tag or "latest"}
        if image_digest:
            artifact["digest"] = image_digest
        return {
            "apiVersion": "aquasecurity.github.io/v1alpha1",
            "kind": "VulnerabilityReport",
            "metadata": meta,
            "report": {
                "updateTimestamp": self.ts(self.view.day, -60 - number(600, name)),
                "scanner": {"name": "Trivy", "vendor": "Aqua Security",
                            "version": spec.get("scannerVersion", "0.58.1")},
                "registry": {"server": registry},
                "artifact": artifact,
                "os": {"family": spec.get("osFamily", "debian"),
                       "name": str(spec.get("osName", "12.8"))},
                "summary": {"criticalCount": counts["critical"], "highCount": counts["high"],
                            "mediumCount": counts["medium"], "lowCount": counts["low"],
                            "unknownCount": counts["unknown"], "noneCount": 0},
                "vulnerabilities": vulns,
            },
        }
