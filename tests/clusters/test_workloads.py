"""Pods are folded into the workload that owns them."""

from clusters.workloads import WorkloadIndex


def obj(kind, name, ns="shop", owner=None, labels=None, template=True):
    meta = {"name": name, "namespace": ns, "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                    "uid": "u", "controller": True}]
    spec = {"template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
    if kind == "CronJob":
        spec = {"jobTemplate": {"spec": spec}}
    return {"kind": kind, "metadata": meta, "spec": spec if template else {}}


def pod(name, owner=None, labels=None, ns="shop"):
    p = obj("Pod", name, ns, owner, labels, template=False)
    p["spec"] = {"containers": [{"name": "c", "image": "nginx:1.27"}]}
    return p


def test_deployment_pods_through_a_replicaset_are_one_workload():
    index = WorkloadIndex()
    index.add_controller("Deployment", obj("Deployment", "web"))
    index.add_controller("ReplicaSet", obj("ReplicaSet", "web-7d4b9c8f6d",
                                           owner=("Deployment", "web")))
    for suffix in ("abcde", "fghij", "klmno"):
        index.add_pod(pod(f"web-7d4b9c8f6d-{suffix}", owner=("ReplicaSet", "web-7d4b9c8f6d")))
    [web] = index.workloads()
    assert (web["kind"], web["name"], web["pods"]) == ("Deployment", "web", 3)
    assert web["template"]["spec"]["containers"][0]["image"] == "nginx"


def test_cronjob_pods_through_jobs_are_the_cronjob():
    index = WorkloadIndex()
    index.add_controller("CronJob", obj("CronJob", "backup"))
    index.add_controller("Job", obj("Job", "backup-29012345", owner=("CronJob", "backup")))
    index.add_pod(pod("backup-29012345-xyz12", owner=("Job", "backup-29012345")))
    [backup] = index.workloads()
    assert (backup["kind"], backup["name"], backup["pods"]) == ("CronJob", "backup", 1)


def test_unreadable_replicasets_fall_back_to_the_template_hash():
    index = WorkloadIndex()
    index.add_controller("Deployment", obj("Deployment", "api"))
    index.add_pod(pod("api-5f6d7c-aaaaa", owner=("ReplicaSet", "api-5f6d7c"),
                      labels={"pod-template-hash": "5f6d7c"}))
    [api] = index.workloads()
    assert (api["kind"], api["name"], api["pods"]) == ("Deployment", "api", 1)


def test_bare_pods_and_unknown_owners_are_their_own_workloads():
    index = WorkloadIndex()
    index.add_pod(pod("debug"))
    index.add_pod(pod("db-0", owner=("StatefulSet", "db")))
    index.add_pod(pod("db-1", owner=("StatefulSet", "db")))
    kinds = {(w["kind"], w["name"], w["pods"]) for w in index.workloads()}
    assert kinds == {("Pod", "debug", 1), ("StatefulSet", "db", 2)}


def test_controllers_without_pods_are_kept():
    index = WorkloadIndex()
    index.add_controller("Deployment", obj("Deployment", "scaled-to-zero"))
    assert [w["pods"] for w in index.workloads()] == [0]


def test_forget_pods_lets_a_list_start_over():
    index = WorkloadIndex()
    index.add_pod(pod("debug"))
    index.forget_pods()
    index.add_pod(pod("debug"))
    assert [w["pods"] for w in index.workloads()] == [1]


def test_garbage_objects_do_not_crash():
    index = WorkloadIndex()
    index.add_controller("Deployment", {"metadata": "x", "spec": 3})
    index.add_pod({"metadata": {"ownerReferences": [None, 5, {"kind": 1}]}})
    assert len(index.workloads()) == 2
