"""Time of the "who can" RBAC analysis on a large cluster's RBAC: 1,000 roles, 2,000 bindings.

Roles are a seeded mix of ClusterRoles and namespaced Roles over 50 namespaces, with wildcards,
resourceNames, subresources and aggregated ClusterRoles; bindings are ClusterRoleBindings and
RoleBindings (to Roles and to ClusterRoles) with one to three subjects each, and 3,000 workloads
run as the namespaces' service accounts. Two figures: building the index alone, and every
access check through ``evaluate`` (index, findings, messages and evidence). The baseline is
parsing the same RBAC objects from JSON. Usage:
``python bench/rbac_analysis.py [--roles 1000] [--bindings 2000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import orjson

from posture.checks import Policy, evaluate, rbac
from posture.checks.inventory import RESOURCES, Coverage, Inventory, empty_inventory

SEED = 20260901
NAMESPACES = 50
_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "*")
_RESOURCES = (
    ("", "pods"), ("", "pods/exec"), ("", "pods/log"), ("", "secrets"), ("", "configmaps"),
    ("", "services"), ("", "serviceaccounts"), ("", "serviceaccounts/token"), ("", "nodes"),
    ("", "nodes/proxy"), ("apps", "deployments"), ("apps", "statefulsets"), ("batch", "jobs"),
    ("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "clusterroles"),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"), ("", "*"),
    ("*", "*"),
)
_READ_ONLY = ("get", "list", "watch")


def _rules(rng: random.Random) -> list[dict[str, Any]]:
    rules = []
    for _ in range(rng.randint(3, 8)):
        group, resource = rng.choice(_RESOURCES)
        verbs = rng.sample(_VERBS[:-1], rng.randint(1, 4)) if rng.random() > 0.05 else ["*"]
        if rng.random() < 0.5:
            verbs = list(_READ_ONLY[: rng.randint(1, 3)])
        rule: dict[str, Any] = {"apiGroups": [group], "resources": [resource], "verbs": verbs}
        if rng.random() < 0.1:
            rule["resourceNames"] = [f"name-{rng.randint(0, 99)}"]
        rules.append(rule)
    return rules


def rbac_inventory(roles: int = 1000, bindings: int = 2000) -> Inventory:
    """Return an inventory holding only RBAC objects and workloads, all read."""
    rng = random.Random(SEED)  # noqa: S311 (seeded test data, not secrets)
    cluster_roles, namespaced = [], []
    for i in range(roles):
        if i % 10 < 3:
            role: dict[str, Any] = {"kind": "ClusterRole",
                                    "metadata": {"name": f"cr-{i}",
                                                 "labels": {"agg": f"group-{i % 10}"}},
                                    "rules": _rules(rng)}
            if i % 100 == 0:
                role["aggregationRule"] = {"clusterRoleSelectors": [
                    {"matchLabels": {"agg": f"group-{rng.randint(0, 9)}"}}]}
            cluster_roles.append(role)
        else:
            namespaced.append({"kind": "Role",
                               "metadata": {"name": f"role-{i}",
                                            "namespace": f"ns-{i % NAMESPACES}"},
                               "rules": _rules(rng)})
    crbs, rbs = [], []
    for i in range(bindings):
        subjects = []
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(("User", "Group", "ServiceAccount"))
            subject = {"kind": kind, "name": f"{kind.lower()}-{rng.randint(0, 400)}"}
            if kind == "ServiceAccount":
                subject["namespace"] = f"ns-{rng.randint(0, NAMESPACES - 1)}"
            subjects.append(subject)
        if i % 4 == 0:
            target = rng.choice(cluster_roles)
            crbs.append({"kind": "ClusterRoleBinding", "metadata": {"name": f"crb-{i}"},
                         "roleRef": {"kind": "ClusterRole", "name": target["metadata"]["name"]},
                         "subjects": subjects})
        else:
            if rng.random() < 0.3:
                target = rng.choice(cluster_roles)
                ref = {"kind": "ClusterRole", "name": target["metadata"]["name"]}
                namespace = f"ns-{rng.randint(0, NAMESPACES - 1)}"
            else:
                target = rng.choice(namespaced)
                ref = {"kind": "Role", "name": target["metadata"]["name"]}
                namespace = target["metadata"]["namespace"]
            rbs.append({"kind": "RoleBinding",
                        "metadata": {"name": f"rb-{i}", "namespace": namespace},
                        "roleRef": ref, "subjects": subjects})
    inv = empty_inventory()
    inv["clusterroles"] = cluster_roles
    inv["roles"] = namespaced
    inv["clusterrolebindings"] = crbs
    inv["rolebindings"] = rbs
    inv["workloads"] = [
        {"kind": "Deployment", "namespace": f"ns-{i % NAMESPACES}", "name": f"app-{i}",
         "labels": {}, "pods": 1,
         "template": {"metadata": {}, "spec": {
             "serviceAccountName": f"serviceaccount-{rng.randint(0, 400)}",
             "containers": [{"name": "app", "image": f"registry.example.com/app:{i}"}]}}}
        for i in range(3000)
    ]
    read = {"clusterroles", "roles", "clusterrolebindings", "rolebindings", "pods",
            "serviceaccounts"}
    inv["coverage"] = {r: Coverage(state="read" if r in read else "absent", message="", count=0)
                       for r in RESOURCES}
    return inv


def _median(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def measure(roles: int = 1000, bindings: int = 2000, repeat: int = 5) -> dict[str, Any]:
    """Return seconds for parsing the RBAC JSON (baseline), the index, and the access checks."""
    inv = rbac_inventory(roles, bindings)
    objects = [inv["clusterroles"], inv["roles"], inv["clusterrolebindings"],
               inv["rolebindings"]]
    blob = orjson.dumps(objects)
    parse = _median(repeat, lambda: orjson.loads(blob))
    index = _median(repeat, lambda: rbac.build(*objects))
    # Every check but the access ones is switched off, so the figure is the access checks'.
    others = tuple(c.id for c in _catalog() if not c.id.startswith("access."))
    policy = Policy(disabled_checks=others)
    today = date(2026, 9, 1)
    rbac_only = {**inv, "workloads": []}
    result = evaluate(rbac_only, policy, today)
    checks = _median(repeat, lambda: evaluate(rbac_only, policy, today))
    # With workloads, the access checks also name which of them run as each service account;
    # this figure includes analysing the 3,000 pod templates, which a full poll does anyway.
    with_workloads = _median(repeat, lambda: evaluate(inv, policy, today))
    return {"roles": roles, "bindings": bindings, "parse_s": parse, "index_s": index,
            "checks_s": checks, "checks_with_workloads_s": with_workloads,
            "workloads": len(inv["workloads"]), "findings": len(result.findings)}


def _catalog() -> Any:
    from posture.checks.catalog import CHECKS

    return CHECKS


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--bindings", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    r = measure(args.roles, args.bindings, args.repeat)
    print(f"{r['roles']:,} roles, {r['bindings']:,} bindings ({r['findings']:,} findings)")
    print(f"parse the RBAC JSON (baseline): {r['parse_s'] * 1000:8.1f} ms")
    print(f"who-can index:                  {r['index_s'] * 1000:8.1f} ms")
    print(f"every access check (evaluate):  {r['checks_s'] * 1000:8.1f} ms")
    print(f"... with {r['workloads']:,} workloads:        "
          f"{r['checks_with_workloads_s'] * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
