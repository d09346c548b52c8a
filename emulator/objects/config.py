"""Ingresses, ResourceQuotas, LimitRanges, ConfigMaps and Secrets, as the scenario gives them."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from emulator.objects.common import Obj, clone, hex_id
from emulator.objects.vulnerabilities import VulnerabilityReports

_TOKEN_TYPE = "kubernetes.io/service-account-token"  # noqa: S105  (a Secret type, not a password)
_SA_ANNOTATION = "kubernetes.io/service-account.name"


def _b64(value: object) -> str:
    return base64.b64encode(str(value).encode()).decode()


class Configuration(VulnerabilityReports):

    def _namespaced(self, section: str, kind: str, build: str) -> None:
        for entry in self.entries(section):
            spec = entry.spec
            obj: Obj = {"metadata": self.meta(kind, spec["name"], spec["namespace"],
                                              self.ts(entry.created), spec.get("labels"),
                                              spec.get("annotations"))}
            getattr(self, build)(obj, spec)
            self.out.add(section, obj)

    def build_configuration(self) -> None:
        """Build the namespace-level configuration objects of the scenario."""
        self._namespaced("ingresses", "Ingress", "_ingress")
        self._namespaced("resourcequotas", "ResourceQuota", "_quota")
        self._namespaced("limitranges", "LimitRange", "_limit_range")
        self._namespaced("configmaps", "ConfigMap", "_config_map")
        self._namespaced("secrets", "Secret", "_secret")
        self._build_admission()

    def _custom(self, plural: str, api_version: str, kind: str, entry_spec: Mapping[str, Any],
                created: float, namespace: str | None = None, typed: bool = True) -> None:
        obj: Obj = {
            "metadata": self.meta(kind, entry_spec["name"], namespace, self.ts(created),
                                  entry_spec.get("labels"), entry_spec.get("annotations")),
            "spec": clone(dict(entry_spec.get("spec", {}))),
        }
        if typed:
            # Custom resources' list items carry their kind; built-in ones' do not.
            obj = {"apiVersion": api_version, "kind": kind, **obj}
        self.out.add(plural, obj)

    def _build_admission(self) -> None:
        """Build admission policies: built-in ValidatingAdmissionPolicies, Kyverno, Gatekeeper."""
        gv = "admissionregistration.k8s.io/v1"
        for entry in self.entries("validatingadmissionpolicies"):
            self._custom("validatingadmissionpolicies", gv, "ValidatingAdmissionPolicy",
                         entry.spec, entry.created, typed=False)
        for entry in self.entries("validatingadmissionpolicybindings"):
            self._custom("validatingadmissionpolicybindings", gv,
                         "ValidatingAdmissionPolicyBinding", entry.spec, entry.created,
                         typed=False)
        sections = self.view.sections
        if any(sections.get(s) is not None
               for s in ("kyvernoclusterpolicies", "kyvernopolicies")):
            self.out.objects.setdefault("clusterpolicies", [])
            self.out.objects.setdefault("policies", [])
            for entry in self.entries("kyvernoclusterpolicies"):
                self._custom("clusterpolicies", "kyverno.io/v1", "ClusterPolicy", entry.spec,
                             entry.created)
            for entry in self.entries("kyvernopolicies"):
                self._custom("policies", "kyverno.io/v1", "Policy", entry.spec, entry.created,
                             entry.spec["namespace"])
        if sections.get("constrainttemplates") is None:
            return
        self.out.objects.setdefault("constrainttemplates", [])
        kinds = set()
        for entry in self.entries("constrainttemplates"):
            kind = str(entry.spec["kind"])
            kinds.add(kind)
            self.out.add("constrainttemplates", {
                "apiVersion": "templates.gatekeeper.sh/v1",
                "kind": "ConstraintTemplate",
                "metadata": self.meta("ConstraintTemplate", kind.lower(), None,
                                      self.ts(entry.created)),
                "spec": {"crd": {"spec": {"names": {"kind": kind}}},
                         "targets": [{"target": "admission.k8s.gatekeeper.sh",
                                      "rego": str(entry.spec.get("rego", "package x"))}]},
            })
            self.out.objects.setdefault(kind.lower(), [])
        for entry in self.entries("gatekeeperconstraints"):
            kind = str(entry.spec["kind"])
            if kind in kinds:
                self._custom(kind.lower(), "constraints.gatekeeper.sh/v1beta1", kind,
                             entry.spec, entry.created)

    @staticmethod
    def _ingress(obj: Obj, spec: Mapping[str, Any]) -> None:
        obj["spec"] = clone(dict(spec.get("spec", {})))
        obj["status"] = {"loadBalancer": {}}

    @staticmethod
    def _quota(obj: Obj, spec: Mapping[str, Any]) -> None:
        obj["spec"] = clone(dict(spec.get("spec", {})))
        hard = dict(obj["spec"].get("hard", {}))
        # The quota controller fills in status; usage is not modelled, so it reads zero.
        obj["status"] = {"hard": hard, "used": {k: "0" for k in hard}}

    @staticmethod
    def _limit_range(obj: Obj, spec: Mapping[str, Any]) -> None:
        obj["spec"] = clone(dict(spec.get("spec", {"limits": []})))

    @staticmethod
    def _config_map(obj: Obj, spec: Mapping[str, Any]) -> None:
        obj["data"] = {str(k): str(v) for k, v in dict(spec.get("data", {})).items()}

    def _secret(self, obj: Obj, spec: Mapping[str, Any]) -> None:
        kind = spec.get("type", "Opaque")
        obj["type"] = kind
        data = {str(k): _b64(v) for k, v in dict(spec.get("data", {})).items()}
        if kind == _TOKEN_TYPE:
            account = str(spec.get("serviceAccount", "default"))
            meta = obj["metadata"]
            meta.setdefault("annotations", {})[_SA_ANNOTATION] = account
            meta["annotations"]["kubernetes.io/service-account.uid"] = hex_id(
                32, self.view.name, meta["namespace"], account)
            # What the token controller writes: a token, the cluster's CA and the namespace.
            data.setdefault("token", _b64("eyJhbGciOiJSUzI1NiJ9." + hex_id(48, meta["name"])))
            data.setdefault("ca.crt", _b64("-----BEGIN CERTIFICATE-----\n..."))
            data.setdefault("namespace", _b64(meta["namespace"]))
        obj["data"] = data
