"""Build the Kubernetes objects of a scenario at one day, as the API server would return them.

The scenario says what exists (node pools, workloads with pod templates, services, RBAC …);
the builder derives what a real cluster would also hold and show: server-side defaults,
ReplicaSets and pods with realistic names, owner references, the service-account token
volume, node and pod status. Every value is derived from names by hashing, so the same
scenario always yields the same objects. One module per resource family, each a layer of
the ``Builder``: common, nodes, namespaces, workloads, network, rbac, vulnerabilities,
config.
"""

from __future__ import annotations

import gc

from emulator.objects.common import (
    Built,
    ClusterView,
    Entry,
    Obj,
    Provider,
    clone,
    default_pod_spec,
    digest,
    hex_id,
    image_status,
    make_uid,
    number,
    qos_class,
    safe_suffix,
    split_image,
    template_hash,
)
from emulator.objects.config import Configuration

__all__ = [
    "Builder", "Built", "ClusterView", "Entry", "Obj", "Provider", "clone", "default_pod_spec",
    "digest", "hex_id", "image_status", "make_uid", "number", "qos_class", "safe_suffix",
    "split_image", "template_hash",
]


class Builder(Configuration):
    """Turn a :class:`ClusterView` into API objects."""

    # -- build ---------------------------------------------------------------------------

    def build(self) -> dict[str, list[Obj]]:
        """Build every object of the view."""
        # Building allocates millions of small containers and frees none: the cyclic GC
        # would rescan them over and over (three times slower for ``big``) and find nothing.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._build_all()
        finally:
            if was_enabled:
                gc.enable()
        return self.out.objects

    def _build_all(self) -> None:
        self.build_nodes()
        self.build_namespaces()
        self.build_service_accounts()
        self.build_workloads()
        self.build_bare_pods()
        self.build_services()
        self.build_network_policies()
        self.build_rbac()
        if self.view.sections.get("vulnerabilityreports") is not None:
            self.out.objects.setdefault("vulnerabilityreports", [])
            self.build_vulnerability_reports()
        self.build_configuration()
