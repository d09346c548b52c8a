"""Workloads and their pods: Deployments with ReplicaSets, StatefulSets, DaemonSets, Jobs,
CronJobs and bare pods, with realistic names, owners, scheduling and status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import orjson

from emulator.objects.common import (
    _NOT_READY_TOLERATIONS,
    Entry,
    Node,
    Obj,
    _tolerates,
    clone,
    default_pod_spec,
    hex_id,
    image_status,
    make_uid,
    number,
    qos_class,
    safe_suffix,
    template_hash,
)
from emulator.objects.namespaces import Namespaces


class Workloads(Namespaces):

    def _template(self, spec: Mapping[str, Any], restart_policy: str = "Always") -> Obj:
        template: Obj = clone(dict(spec["template"]))
        template.setdefault("metadata", {})
        template["metadata"].setdefault("labels", {"app": spec["name"]})
        template["metadata"].setdefault("creationTimestamp", None)
        default_pod_spec(template["spec"], restart_policy=restart_policy)
        return template

    def _selector(self, spec: Mapping[str, Any], template: Obj) -> Obj:
        if "selector" in spec:
            selector: Obj = clone(dict(spec["selector"]))
            return selector
        return {"matchLabels": dict(template["metadata"]["labels"])}

    def build_workloads(self) -> None:
        """Build every workload, its intermediate owners (ReplicaSets, Jobs) and its pods."""
        for entry in self.entries("workloads"):
            kind = entry.spec["kind"]
            builder = {
                "Deployment": self._deployment,
                "StatefulSet": self._statefulset,
                "DaemonSet": self._daemonset,
                "CronJob": self._cronjob,
                "Job": self._job,
                "ReplicaSet": self._replicaset,
            }[kind]
            builder(entry)

    def _workload_meta(self, kind: str, entry: Entry, generation: int) -> Obj:
        spec = entry.spec
        meta = self.meta(kind, spec["name"], spec["namespace"], self.ts(entry.created),
                         spec.get("labels", {"app": spec["name"]}), spec.get("annotations"))
        meta["generation"] = generation
        return meta

    def _deployment(self, entry: Entry) -> None:
        spec = entry.spec
        replicas = int(spec.get("replicas", 1))
        template = self._template(spec)
        revisions = [(since, self._template({**spec, "template": t}))
                     for since, t in entry.history] + [(entry.since, template)]
        meta = self._workload_meta("Deployment", entry, len(revisions))
        meta.setdefault("annotations", {})["deployment.kubernetes.io/revision"] = str(
            len(revisions))
        selector = self._selector(spec, template)
        deployment = {
            "metadata": meta,
            "spec": {
                "replicas": replicas,
                "selector": selector,
                "template": template,
                "strategy": {"type": "RollingUpdate",
                             "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
            },
            "status": {
                "observedGeneration": len(revisions),
                "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas,
                "availableReplicas": replicas,
                "conditions": [
                    {"type": "Available", "status": "True",
                     "lastUpdateTime": self.ts(entry.since, 2),
                     "lastTransitionTime": self.ts(entry.since, 2),
                     "reason": "MinimumReplicasAvailable",
                     "message": "Deployment has minimum availability."},
                    {"type": "Progressing", "status": "True",
                     "lastUpdateTime": self.ts(entry.since, 3),
                     "lastTransitionTime": self.ts(entry.created, 1),
                     "reason": "NewReplicaSetAvailable",
                     "message": f'ReplicaSet "{spec["name"]}-{template_hash(template)}" '
                                "has successfully progressed."},
                ],
            },
        }
        if replicas == 0:
            del deployment["status"]["readyReplicas"], deployment["status"]["availableReplicas"]
        self.out.add("deployments", deployment)
        owner = self.owner("Deployment", "apps/v1", meta)
        # Old ReplicaSets stay, scaled to zero, as with the default revisionHistoryLimit.
        for revision, (since, rev_template) in enumerate(revisions, start=1):
            current = revision == len(revisions)
            rs = self._replicaset_object(spec, rev_template, selector, since,
                                         replicas if current else 0, owner, revision)
            if current:
                self.rs_by_workload[(spec["namespace"], spec["name"])] = rs
                self._pods_for(spec, rs["spec"]["template"], "ReplicaSet", "apps/v1",
                               rs["metadata"], replicas, since, style="replicaset")

    def _replicaset_object(self, spec: Mapping[str, Any], template: Obj, selector: Obj,
                           since: int, replicas: int, owner: Obj, revision: int) -> Obj:
        pod_hash = template_hash(template)
        rs_template = clone(template)
        rs_template["metadata"]["labels"]["pod-template-hash"] = pod_hash
        rs_selector = clone(selector)
        rs_selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
        name = f"{spec['name']}-{pod_hash}"
        meta = self.meta("ReplicaSet", name, spec["namespace"], self.ts(since),
                         rs_template["metadata"]["labels"],
                         {"deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
                          "deployment.kubernetes.io/max-replicas":
                              str(int(spec.get("replicas", 1)) + 1),
                          "deployment.kubernetes.io/revision": str(revision)})
        meta["generation"] = 1 if replicas else 2
        meta["ownerReferences"] = [owner]
        status: Obj = {"replicas": replicas, "observedGeneration": meta["generation"]}
        if replicas:
            status.update(fullyLabeledReplicas=replicas, readyReplicas=replicas,
                          availableReplicas=replicas)
        rs = {"metadata": meta,
              "spec": {"replicas": replicas, "selector": rs_selector, "template": rs_template},
              "status": status}
        self.out.add("replicasets", rs)
        return rs

    def _replicaset(self, entry: Entry) -> None:
        spec = entry.spec
        replicas = int(spec.get("replicas", 1))
        template = self._template(spec)
        meta = self._workload_meta("ReplicaSet", entry, 1)
        rs = {"metadata": meta,
              "spec": {"replicas": replicas, "selector": self._selector(spec, template),
                       "template": template},
              "status": {"replicas": replicas, "fullyLabeledReplicas": replicas,
                         "readyReplicas": replicas, "availableReplicas": replicas,
                         "observedGeneration": 1}}
        self.out.add("replicasets", rs)
        self.rs_by_workload[(spec["namespace"], spec["name"])] = rs
        self._pods_for(spec, template, "ReplicaSet", "apps/v1", meta, replicas, entry.since,
                       style="replicaset")

    def _statefulset(self, entry: Entry) -> None:
        spec = entry.spec
        replicas = int(spec.get("replicas", 1))
        template = self._template(spec)
        meta = self._workload_meta("StatefulSet", entry, 1 + len(entry.history))
        revision = f"{spec['name']}-{template_hash(template)}"
        sts: Obj = {
            "metadata": meta,
            "spec": {
                "replicas": replicas,
                "selector": self._selector(spec, template),
                "template": template,
                "serviceName": spec.get("serviceName", spec["name"]),
                "podManagementPolicy": "OrderedReady",
                "updateStrategy": {"type": "RollingUpdate",
                                   "rollingUpdate": {"partition": 0}},
                "revisionHistoryLimit": 10,
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain",
                                                         "whenScaled": "Retain"},
            },
            "status": {
                "observedGeneration": meta["generation"], "replicas": replicas,
                "readyReplicas": replicas, "currentReplicas": replicas,
                "updatedReplicas": replicas, "availableReplicas": replicas,
                "currentRevision": revision, "updateRevision": revision,
                "collisionCount": 0,
            },
        }
        if "volumeClaimTemplates" in spec:
            sts["spec"]["volumeClaimTemplates"] = clone(spec["volumeClaimTemplates"])
        self.out.add("statefulsets", sts)
        template = clone(template)
        template["metadata"]["labels"]["controller-revision-hash"] = revision
        self._pods_for(spec, template, "StatefulSet", "apps/v1", meta, replicas, entry.since,
                       style="ordinal")

    def _eligible_nodes(self, pod_spec: Mapping[str, Any]) -> list[Node]:
        selector = pod_spec.get("nodeSelector", {})
        tolerations = pod_spec.get("tolerations", [])
        # Thousands of pods share a handful of selector/toleration sets: compute each once.
        cache_key = orjson.dumps([selector, tolerations])
        if cache_key in self._eligible:
            return self._eligible[cache_key]
        eligible = self._eligible[cache_key] = []
        for node in self.nodes:
            if any(node.labels.get(k) != v for k, v in selector.items()):
                continue
            if any(t["effect"] in ("NoSchedule", "NoExecute") and not _tolerates(tolerations, t)
                   for t in node.taints):
                continue
            eligible.append(node)
        return eligible

    def _daemonset(self, entry: Entry) -> None:
        spec = entry.spec
        template = self._template(spec)
        nodes = self._eligible_nodes(template["spec"])
        meta = self._workload_meta("DaemonSet", entry, 1 + len(entry.history))
        count = len(nodes)
        ds = {
            "metadata": meta,
            "spec": {
                "selector": self._selector(spec, template),
                "template": template,
                "updateStrategy": {"type": "RollingUpdate",
                                   "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                "revisionHistoryLimit": 10,
            },
            "status": {
                "currentNumberScheduled": count, "numberMisscheduled": 0,
                "desiredNumberScheduled": count, "numberReady": count,
                "observedGeneration": meta["generation"], "updatedNumberScheduled": count,
                "numberAvailable": count,
            },
        }
        self.out.add("daemonsets", ds)
        template = clone(template)
        template["metadata"]["labels"]["controller-revision-hash"] = template_hash(template)[:10]
        template["metadata"]["labels"]["pod-template-generation"] = str(meta["generation"])
        for i, node in enumerate(nodes):
            self._pod(spec["namespace"], f"{spec['name']}-{safe_suffix(5, meta['uid'], node.name)}",
                      template, self.owner("DaemonSet", "apps/v1", meta), entry.since, i,
                      node=node, generate_name=f"{spec['name']}-")

    def _job_object(self, name: str, spec: Mapping[str, Any], template: Obj, created_day: float,
                    owner: Obj | None, labels: Mapping[str, str] | None) -> Obj:
        job_uid = make_uid(self.view.name, "Job", spec["namespace"], name)
        job_labels = {"batch.kubernetes.io/controller-uid": job_uid,
                      "batch.kubernetes.io/job-name": name,
                      "controller-uid": job_uid, "job-name": name}
        created = self.ts(created_day)
        meta = self.meta("Job", name, spec["namespace"], created, {**(labels or {}),
                                                                    **job_labels})
        meta["generation"] = 1
        if owner:
            meta["ownerReferences"] = [owner]
        template = clone(template)
        template["metadata"]["labels"] = {**template["metadata"]["labels"], **job_labels}
        parallelism = int(spec.get("parallelism", 1))
        job = {
            "metadata": meta,
            "spec": {
                "parallelism": parallelism,
                "completions": int(spec.get("completions", 1)),
                "backoffLimit": 6,
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": job_uid}},
                "manualSelector": False,
                "template": template,
                "completionMode": "NonIndexed",
                "suspend": False,
                "podReplacementPolicy": "TerminatingOrFailed",
            },
            "status": {"startTime": created, "active": parallelism, "ready": parallelism,
                       "terminating": 0, "uncountedTerminatedPods": {}},
        }
        self.out.add("jobs", job)
        return job

    def _job(self, entry: Entry) -> None:
        spec = entry.spec
        template = self._template(spec, restart_policy="Never")
        job = self._job_object(spec["name"], spec, template, entry.since, None,
                               spec.get("labels"))
        self._pods_for(spec, job["spec"]["template"], "Job", "batch/v1", job["metadata"],
                       job["spec"]["parallelism"], entry.since, style="replicaset",
                       pod_prefix=spec["name"])

    def _cronjob(self, entry: Entry) -> None:
        spec = entry.spec
        template = self._template(spec, restart_policy="OnFailure")
        meta = self._workload_meta("CronJob", entry, 1 + len(entry.history))
        # The last run started a little while before "now" on the scenario's clock.
        run_minutes = -(10 + number(50, meta["uid"]))
        run_moment = self.now + dt.timedelta(days=self.view.day, minutes=run_minutes)
        scheduled = int(run_moment.timestamp() // 60)
        cronjob = {
            "metadata": meta,
            "spec": {
                "schedule": spec["schedule"],
                "concurrencyPolicy": spec.get("concurrencyPolicy", "Forbid"),
                "suspend": bool(spec.get("suspend", False)),
                "jobTemplate": {"metadata": {"creationTimestamp": None},
                                "spec": {"template": template, "backoffLimit": 6}},
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 1,
            },
            "status": {"lastScheduleTime": self.ts(self.view.day, run_minutes)},
        }
        self.out.add("cronjobs", cronjob)
        job_name = f"{spec['name']}-{scheduled}"
        job = self._job_object(job_name, spec, template, self.view.day + run_minutes / 1440,
                               self.owner("CronJob", "batch/v1", meta), None)
        self._pods_for(spec, job["spec"]["template"], "Job", "batch/v1", job["metadata"], 1,
                       self.view.day + run_minutes / 1440, style="replicaset",
                       pod_prefix=job_name)

    def _pods_for(self, spec: Mapping[str, Any], template: Obj, owner_kind: str,
                  owner_api: str, owner_meta: Obj, count: int, since: float, *, style: str,
                  pod_prefix: str | None = None) -> None:
        prefix = pod_prefix or owner_meta["name"]
        owner = self.owner(owner_kind, owner_api, owner_meta)
        for i in range(count):
            if style == "ordinal":
                name, generate = f"{prefix}-{i}", None
                labels_extra = {"statefulset.kubernetes.io/pod-name": name,
                                "apps.kubernetes.io/pod-index": str(i)}
            else:
                name = f"{prefix}-{safe_suffix(5, owner_meta['uid'], i)}"
                generate, labels_extra = f"{prefix}-", {}
            pod_template = template
            if labels_extra:
                pod_template = clone(template)
                pod_template["metadata"]["labels"].update(labels_extra)
            self._pod(spec["namespace"], name, pod_template, owner, since, i,
                      generate_name=generate,
                      hostname=name if style == "ordinal" else None,
                      subdomain=spec.get("serviceName", spec["name"])
                      if style == "ordinal" else None)

    def build_bare_pods(self) -> None:
        """Build pods that no controller owns."""
        for entry in self.entries("pods"):
            spec = entry.spec
            template = {"metadata": {"labels": dict(spec.get("labels", {"run": spec["name"]})),
                                     "annotations": dict(spec.get("annotations", {}))},
                        "spec": clone(dict(spec["spec"]))}
            if not template["metadata"]["annotations"]:
                del template["metadata"]["annotations"]
            default_pod_spec(template["spec"])
            self._pod(spec["namespace"], spec["name"], template, None, entry.since, 0)

    def _automount(self, namespace: str, pod_spec: Mapping[str, Any]) -> bool:
        if "automountServiceAccountToken" in pod_spec:
            return bool(pod_spec["automountServiceAccountToken"])
        account = pod_spec.get("serviceAccountName", "default")
        return self.sa_automount.get((namespace, account), True)

    def _pick_node(self, pod_spec: Mapping[str, Any], key: str) -> Node | None:
        if "nodeName" in pod_spec:
            return next((n for n in self.nodes if n.name == pod_spec["nodeName"]), None)
        candidates = self._eligible_nodes(pod_spec)
        if not candidates:
            return None
        return candidates[number(len(candidates), key)]

    def _pod(self, namespace: str, name: str, template: Obj, owner: Obj | None, since: float,
             ordinal: int, *, node: Node | None = None, generate_name: str | None = None,
             hostname: str | None = None, subdomain: str | None = None) -> None:
        spec = clone(template["spec"])
        key = f"{namespace}/{name}"
        node = node or self._pick_node(spec, key)
        # Pods are younger than their owner's current form: some were rescheduled since.
        age_days = max(0.0, self.view.day - since)
        created_day = since + (age_days * number(1000, key, "age") / 4000 if age_days > 1 else 0)
        if node is not None:
            # No pod is older than the node it runs on: replaced nodes got fresh pods.
            created_day = max(created_day, node.created)
        created_minutes = 1 + ordinal * 0.2 + number(30, key) / 10
        created_day = min(created_day, self.view.day - (created_minutes + 1) / 1440)
        created = self.ts(created_day, created_minutes)
        started = self.ts(created_day, created_minutes + 0.05)
        meta = self.meta("Pod", name, namespace, created,
                         template["metadata"].get("labels"),
                         template["metadata"].get("annotations"))
        if generate_name:
            meta = {"name": name, "generateName": generate_name,
                    **{k: v for k, v in meta.items() if k != "name"}}
        if owner:
            meta["ownerReferences"] = [owner]
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        spec["serviceAccountName"] = account
        spec["serviceAccount"] = account
        if self._automount(namespace, spec):
            volume = f"kube-api-access-{safe_suffix(5, key, 'token')}"
            spec.setdefault("volumes", []).append({
                "name": volume,
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"name": "kube-root-ca.crt",
                                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                    ],
                },
            })
            for container in spec.get("initContainers", []) + spec["containers"]:
                container.setdefault("volumeMounts", []).append({
                    "name": volume, "readOnly": True,
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
        if hostname:
            spec["hostname"] = hostname
        if subdomain:
            spec["subdomain"] = subdomain
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
        spec["tolerations"] = list(spec.get("tolerations", [])) + [
            t for t in _NOT_READY_TOLERATIONS
            if not any(x.get("key") == t["key"] for x in spec.get("tolerations", []))
        ]
        pod = {"metadata": meta, "spec": spec}
        if node is None:
            pod["status"] = {
                "phase": "Pending", "qosClass": qos_class(spec),
                "conditions": [{
                    "type": "PodScheduled", "status": "False", "lastProbeTime": None,
                    "lastTransitionTime": created, "reason": "Unschedulable",
                    "message": f"0/{len(self.nodes)} nodes are available: no node matches the "
                               "pod's node selector and tolerations.",
                }],
            }
            self.out.add("pods", pod)
            return
        spec["nodeName"] = node.name
        node.pods += 1
        if spec.get("hostNetwork"):
            pod_ip = node.ip
        else:
            pod_ip = f"10.{100 + node.index // 256}.{node.index % 256}.{1 + node.pods % 254}"
        statuses = []
        for container in spec["containers"]:
            image, image_id = image_status(container["image"])
            restarts = 0 if number(5, key, container["name"]) else number(4, key, "r") + 1
            statuses.append({
                "name": container["name"],
                "state": {"running": {"startedAt": started}},
                "lastState": {},
                "ready": True,
                "restartCount": restarts,
                "image": image,
                "imageID": image_id,
                "containerID": f"containerd://{hex_id(64, key, container['name'])}",
                "started": True,
            })
        status: Obj = {
            "phase": "Running",
            "conditions": [
                {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": when}
                for t, when in (("PodReadyToStartContainers", started), ("Initialized", started),
                                ("Ready", started), ("ContainersReady", started),
                                ("PodScheduled", created))
            ],
            "hostIP": node.ip,
            "hostIPs": [{"ip": node.ip}],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": created,
        }
        if spec.get("initContainers"):
            status["initContainerStatuses"] = [
                {"name": c["name"], "state": {"terminated": {
                    "exitCode": 0, "reason": "Completed", "startedAt": created,
                    "finishedAt": started, "containerID":
                        f"containerd://{hex_id(64, key, 'init', c['name'])}"}},
                 "lastState": {}, "ready": True, "restartCount": 0,
                 "image": image_status(c["image"])[0], "imageID": image_status(c["image"])[1],
                 "containerID": f"containerd://{hex_id(64, key, 'init', c['name'])}",
                 "started": False}
                for c in spec["initContainers"]
            ]
        status["containerStatuses"] = statuses
        status["qosClass"] = qos_class(spec)
        pod["status"] = status
        self.out.add("pods", pod)
