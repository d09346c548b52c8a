"""Ingresses, ResourceQuotas, LimitRanges, ConfigMaps and Secrets, as the scenario gives them."""

from __future__ import annotations

import base64

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

    @staticmethod
    def _ingress(obj: Obj, spec: Obj) -> None:
        obj["spec"] = clone(dict(spec.get("spec", {})))
        obj["status"] = {"loadBalancer": {}}

    @staticmethod
    def _quota(obj: Obj, spec: Obj) -> None:
        obj["spec"] = clone(dict(spec.get("spec", {})))
        hard = dict(obj["spec"].get("hard", {}))
        # The quota controller fills in status; usage is not modelled, so it reads zero.
        obj["status"] = {"hard": hard, "used": {k: "0" for k in hard}}

    @staticmethod
    def _limit_range(obj: Obj, spec: Obj) -> None:
        obj["spec"] = clone(dict(spec.get("spec", {"limits": []})))

    @staticmethod
    def _config_map(obj: Obj, spec: Obj) -> None:
        obj["data"] = {str(k): str(v) for k, v in dict(spec.get("data", {})).items()}

    def _secret(self, obj: Obj, spec: Obj) -> None:
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
