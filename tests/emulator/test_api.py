"""The emulator through the official client over HTTPS: protocol, auth, pagination, history."""

from __future__ import annotations

import base64
from collections import Counter

import orjson
import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from emulator.tls import make_ca
from tests.emulator.clients import api_client, raw_request

# (API class, cluster-wide list method, resource plural) for every resource Posture reads.
LISTS = [
    (client.CoreV1Api, "list_node", "nodes"),
    (client.CoreV1Api, "list_namespace", "namespaces"),
    (client.CoreV1Api, "list_pod_for_all_namespaces", "pods"),
    (client.CoreV1Api, "list_service_for_all_namespaces", "services"),
    (client.CoreV1Api, "list_service_account_for_all_namespaces", "serviceaccounts"),
    (client.AppsV1Api, "list_replica_set_for_all_namespaces", "replicasets"),
    (client.AppsV1Api, "list_deployment_for_all_namespaces", "deployments"),
    (client.AppsV1Api, "list_stateful_set_for_all_namespaces", "statefulsets"),
    (client.AppsV1Api, "list_daemon_set_for_all_namespaces", "daemonsets"),
    (client.BatchV1Api, "list_job_for_all_namespaces", "jobs"),
    (client.BatchV1Api, "list_cron_job_for_all_namespaces", "cronjobs"),
    (client.NetworkingV1Api, "list_network_policy_for_all_namespaces", "networkpolicies"),
    (client.RbacAuthorizationV1Api, "list_role_for_all_namespaces", "roles"),
    (client.RbacAuthorizationV1Api, "list_role_binding_for_all_namespaces", "rolebindings"),
    (client.RbacAuthorizationV1Api, "list_cluster_role", "clusterroles"),
    (client.RbacAuthorizationV1Api, "list_cluster_role_binding", "clusterrolebindings"),
]


def status_of(exc: ApiException) -> dict:
    return orjson.loads(exc.body)


def test_version_is_a_complete_version_info(emulate):
    emulator = emulate("neglected")
    info = client.VersionApi(api_client(emulator)).get_code()
    assert info.git_version == "v1.27.16-eks-2f46c53"
    assert (info.major, info.minor) == ("1", "27+")
    assert info.build_date and info.go_version.startswith("go1.20") and info.platform


@pytest.mark.parametrize("scenario", ["well-kept", "typical", "neglected"])
def test_every_list_parses_into_the_clients_models(emulate, scenario):
    emulator = emulate(scenario)
    api = api_client(emulator)
    for api_class, method, plural in LISTS:
        result = getattr(api_class(api), method)()
        served = emulator.objects(plural)
        assert [i.metadata.name for i in result.items] == [o["metadata"]["name"] for o in served]
        assert result.metadata.resource_version
    assert emulator.objects("pods") and emulator.objects("clusterroles")


def test_lists_are_real_list_objects_in_key_order(emulate):
    emulator = emulate("typical")
    api = api_client(emulator)
    raw = client.AppsV1Api(api).list_deployment_for_all_namespaces(_preload_content=False)
    body = orjson.loads(raw.data)
    assert (body["kind"], body["apiVersion"]) == ("DeploymentList", "apps/v1")
    keys = [f'{i["metadata"]["namespace"]}/{i["metadata"]["name"]}' for i in body["items"]]
    assert keys == sorted(keys)
    # Like the API server: list items of built-in kinds carry no kind/apiVersion of their own.
    assert all("kind" not in i for i in body["items"])
    one = client.AppsV1Api(api).read_namespaced_deployment("web", "frontend",
                                                           _preload_content=False)
    assert orjson.loads(one.data)["kind"] == "Deployment"


def test_namespaced_list_and_get(emulate):
    emulator = emulate("typical")
    core = client.CoreV1Api(api_client(emulator))
    pods = core.list_namespaced_pod("frontend").items
    assert pods and {p.metadata.namespace for p in pods} == {"frontend"}
    pod = core.read_namespaced_pod(pods[0].metadata.name, "frontend")
    assert pod.metadata.uid == pods[0].metadata.uid
    assert core.list_namespaced_pod("no-such-namespace").items == []
    assert core.read_namespace("frontend").metadata.labels[
        "pod-security.kubernetes.io/enforce"] == "baseline"
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("no-such-pod", "frontend")
    assert missing.value.status == 404
    assert status_of(missing.value)["details"] == {"name": "no-such-pod", "kind": "pods"}


def test_discovery_describes_the_served_resources(emulate):
    emulator = emulate("typical")
    api = api_client(emulator)
    groups = client.ApisApi(api).get_api_versions()
    # typical runs Gatekeeper: its templates' group and the constraints' group are served.
    assert {g.name for g in groups.groups} == {"apps", "batch", "networking.k8s.io",
                                               "rbac.authorization.k8s.io",
                                               "admissionregistration.k8s.io",
                                               "templates.gatekeeper.sh",
                                               "constraints.gatekeeper.sh"}
    core = {r.name: r for r in client.CoreV1Api(api).get_api_resources().resources}
    assert core["pods"].kind == "Pod" and core["pods"].namespaced
    assert core["nodes"].short_names == ["no"] and not core["nodes"].namespaced
    rbac = client.RbacAuthorizationV1Api(api).get_api_resources().resources
    assert {r.name: r.namespaced for r in rbac}["clusterrolebindings"] is False


def test_pagination_returns_every_item_exactly_once(emulate):
    emulator = emulate("typical")
    core = client.CoreV1Api(api_client(emulator))
    names: list[str] = []
    token, pages, remaining = None, 0, []
    while True:
        page = core.list_pod_for_all_namespaces(limit=4, _continue=token)
        names += [f"{p.metadata.namespace}/{p.metadata.name}" for p in page.items]
        remaining.append(page.metadata.remaining_item_count)
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    served = [f'{p["metadata"]["namespace"]}/{p["metadata"]["name"]}'
              for p in emulator.objects("pods")]
    assert sorted(names) == sorted(served) and len(set(names)) == len(names)
    assert pages == -(-len(served) // 4)
    assert remaining[0] == len(served) - 4 and remaining[-1] is None


def test_expired_continue_token_answers_410_gone(emulate):
    emulator = emulate("typical")
    core = client.CoreV1Api(api_client(emulator))
    first = core.list_pod_for_all_namespaces(limit=5)
    emulator.expire_continue_tokens()
    with pytest.raises(ApiException) as gone:
        core.list_pod_for_all_namespaces(limit=5, _continue=first.metadata._continue)
    assert gone.value.status == 410
    body = status_of(gone.value)
    assert (body["kind"], body["reason"], body["code"]) == ("Status", "Expired", 410)
    # A fresh list works again.
    assert core.list_pod_for_all_namespaces(limit=5).metadata._continue


def test_continue_tokens_expire_after_their_ttl(emulate):
    emulator = emulate("typical", continue_ttl=0)
    core = client.CoreV1Api(api_client(emulator))
    first = core.list_node(limit=1)
    with pytest.raises(ApiException) as gone:
        core.list_node(limit=1, _continue=first.metadata._continue)
    assert gone.value.status == 410


def test_a_forged_continue_token_is_a_bad_request(emulate):
    emulator = emulate("typical")
    core = client.CoreV1Api(api_client(emulator))
    token = core.list_node(limit=1).metadata._continue
    with pytest.raises(ApiException) as other_list:
        core.list_namespace(limit=1, _continue=token)
    with pytest.raises(ApiException) as garbage:
        core.list_node(limit=1, _continue="not-a-token")
    assert other_list.value.status == garbage.value.status == 400


def test_wrong_or_missing_token_answers_401(emulate):
    emulator = emulate("well-kept")
    config = yaml.safe_load(emulator.kubeconfig())
    config["users"][0]["user"]["token"] = "not-the-token"
    core = client.CoreV1Api(api_client(emulator, kubeconfig=yaml.safe_dump(config)))
    with pytest.raises(ApiException) as denied:
        core.list_node()
    assert denied.value.status == 401
    assert status_of(denied.value)["reason"] == "Unauthorized"
    assert raw_request(emulator, "GET", "/version/", token="").status == 401


def test_denied_resources_answer_403_with_the_real_status_shape(emulate):
    emulator = emulate("denied")
    api = api_client(emulator)
    with pytest.raises(ApiException) as pods:
        client.CoreV1Api(api).list_pod_for_all_namespaces()
    body = status_of(pods.value)
    assert pods.value.status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        'pods is forbidden: User "system:serviceaccount:posture:posture-reader" cannot list '
        'resource "pods" in API group "" at the cluster scope')
    assert body["details"] == {"kind": "pods"}
    with pytest.raises(ApiException) as bindings:
        client.RbacAuthorizationV1Api(api).list_cluster_role_binding()
    assert status_of(bindings.value)["details"] == {"group": "rbac.authorization.k8s.io",
                                                   "kind": "clusterrolebindings"}
    with pytest.raises(ApiException) as namespaced:
        client.CoreV1Api(api).list_namespaced_pod("apps")
    assert 'in the namespace "apps"' in status_of(namespaced.value)["message"]
    assert client.CoreV1Api(api).list_node().items  # the rest still reads


def test_trivy_reports_are_served_only_where_installed(emulate):
    with_trivy = api_client(emulate("neglected"))
    reports = client.CustomObjectsApi(with_trivy).list_cluster_custom_object(
        "aquasecurity.github.io", "v1alpha1", "vulnerabilityreports")
    assert {r["kind"] for r in reports["items"]} == {"VulnerabilityReport"}
    billing = next(r for r in reports["items"]
                   if r["metadata"]["labels"]["trivy-operator.container.name"] == "billing")
    # The summary counts the listed entries, as Trivy's does.
    listed = [v["severity"] for v in billing["report"]["vulnerabilities"]]
    assert billing["report"]["summary"]["criticalCount"] == listed.count("CRITICAL") == 6
    assert billing["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"

    without = api_client(emulate("typical"))
    with pytest.raises(ApiException) as absent:
        client.CustomObjectsApi(without).list_cluster_custom_object(
            "aquasecurity.github.io", "v1alpha1", "vulnerabilityreports")
    assert absent.value.status == 404 and status_of(absent.value)["reason"] == "NotFound"
    groups = client.ApisApi(without).get_api_versions().groups
    assert "aquasecurity.github.io" not in {g.name for g in groups}


def test_unknown_paths_are_404_and_writes_are_405(emulate):
    emulator = emulate("typical")
    api = api_client(emulator)
    for path in ("/apis/example.com/v1/widgets", "/api/v1/pods/x/y", "/nothing",
                 "/api/v1/namespaces/frontend/nodes"):
        unknown = raw_request(emulator, "GET", path)
        assert unknown.status == 404 and orjson.loads(unknown.data)["reason"] == "NotFound"
    with pytest.raises(ApiException) as write:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": "new"}})
    assert write.value.status == 405
    assert status_of(write.value)["reason"] == "MethodNotAllowed"


def test_a_kubeconfig_for_another_ca_fails_tls_verification(emulate):
    emulator = emulate("well-kept")
    config = yaml.safe_load(emulator.kubeconfig())
    config["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
        make_ca("impostor").cert_pem).decode()
    core = client.CoreV1Api(api_client(emulator, kubeconfig=yaml.safe_dump(config),
                                       retries=False))
    with pytest.raises(ApiException) as failed:
        core.list_node()
    assert failed.value.status == 0 and "CERTIFICATE_VERIFY_FAILED" in failed.value.reason


def test_kubeconfig_has_inline_credentials_and_one_context(emulate):
    emulator = emulate("neglected")
    config = yaml.safe_load(emulator.kubeconfig())
    assert config["current-context"] == "neglected"
    assert [c["name"] for c in config["contexts"]] == ["neglected"]
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"] == emulator.url
    assert base64.b64decode(cluster["certificate-authority-data"]).decode() == emulator.ca_pem
    assert config["users"][0]["user"] == {"token": emulator.token}
    assert emulator.token.count(".") == 2  # shaped like a service-account JWT


def test_timeline_days_change_what_is_served(emulate):
    emulator = emulate("typical")
    api = api_client(emulator)
    version = client.VersionApi(api)
    apps = client.AppsV1Api(api)
    assert version.get_code().git_version == "v1.35.7-gke.1222000"
    daemonsets = {d.metadata.name for d in apps.list_daemon_set_for_all_namespaces().items}
    assert "node-debugger" in daemonsets
    emulator.set_day(-30)
    assert emulator.day == -30
    assert "node-debugger" not in {
        d.metadata.name for d in apps.list_daemon_set_for_all_namespaces().items}
    emulator.set_day(emulator.scenario.first_day - 1)
    assert version.get_code().git_version == "v1.34.9-gke.1655001"
    policies = client.NetworkingV1Api(api).list_network_policy_for_all_namespaces().items
    assert [p.metadata.name for p in policies] == ["allow-from-ingress"]


def test_set_day_expires_continue_tokens(emulate):
    emulator = emulate("typical")
    core = client.CoreV1Api(api_client(emulator))
    first = core.list_pod_for_all_namespaces(limit=3)
    emulator.set_day(-20)
    with pytest.raises(ApiException) as gone:
        core.list_pod_for_all_namespaces(limit=3, _continue=first.metadata._continue)
    assert gone.value.status == 410


def test_a_rollout_keeps_the_old_replicaset_at_zero(emulate):
    emulator = emulate("well-kept")
    rs = client.AppsV1Api(api_client(emulator)).list_namespaced_replica_set("storefront").items
    web = sorted((r for r in rs if r.metadata.owner_references[0].name == "web"),
                 key=lambda r: r.metadata.annotations["deployment.kubernetes.io/revision"])
    assert [r.spec.replicas for r in web] == [0, 3]
    assert web[0].metadata.name != web[1].metadata.name


def test_pods_group_into_their_workloads_via_owner_references(emulate):
    emulator = emulate("typical")
    api = api_client(emulator)
    apps, batch = client.AppsV1Api(api), client.BatchV1Api(api)
    owners = {}
    for rs in apps.list_replica_set_for_all_namespaces().items:
        ref = rs.metadata.owner_references[0]
        owners[("ReplicaSet", rs.metadata.namespace, rs.metadata.name)] = (ref.kind, ref.name)
    for job in batch.list_job_for_all_namespaces().items:
        ref = job.metadata.owner_references[0]
        owners[("Job", job.metadata.namespace, job.metadata.name)] = (ref.kind, ref.name)
    counts: Counter[tuple[str, str, str]] = Counter()
    for pod in client.CoreV1Api(api).list_pod_for_all_namespaces().items:
        ref = pod.metadata.owner_references[0]
        assert ref.controller and ref.uid and ref.api_version
        kind, name = owners.get((ref.kind, pod.metadata.namespace, ref.name), (ref.kind, ref.name))
        counts[(kind, pod.metadata.namespace, name)] += 1
        if ref.kind == "ReplicaSet":
            rs_hash = ref.name.rsplit("-", 1)[1]
            assert pod.metadata.labels["pod-template-hash"] == rs_hash and len(rs_hash) == 10
            assert pod.metadata.name.startswith(ref.name + "-")
            assert len(pod.metadata.name) == len(ref.name) + 6
        assert pod.spec.node_name and pod.status.phase == "Running"
        assert all(s.image_id and "@sha256:" in s.image_id for s in pod.status.container_statuses)
    assert counts[("Deployment", "frontend", "web")] == 3
    assert counts[("StatefulSet", "data", "redis")] == 1
    assert counts[("DaemonSet", "monitoring", "node-exporter")] == 5
    assert counts[("CronJob", "jobs", "cleanup")] == 1
    names = {p.metadata.name for p in client.CoreV1Api(api).list_namespaced_pod("data").items}
    assert {"redis-0", "postgres-0"} <= names


def test_requests_are_counted(emulate):
    emulator = emulate("typical")
    core = client.CoreV1Api(api_client(emulator))
    before = emulator.requests_served
    core.list_node()
    core.list_namespace()
    assert emulator.requests_served == before + 2


def test_mounted_clusters_are_served_on_their_own_paths(emulate):
    emulator = emulate("well-kept")
    config_a = yaml.safe_load(emulator.kubeconfig(mount="a"))
    assert config_a["clusters"][0]["cluster"]["server"] == f"{emulator.url}/clusters/a"
    core_a = client.CoreV1Api(api_client(emulator, kubeconfig=emulator.kubeconfig(mount="a")))
    core_b = client.CoreV1Api(api_client(emulator, kubeconfig=emulator.kubeconfig(mount="b")))
    unmounted = client.CoreV1Api(api_client(emulator))
    pods = {p.metadata.name for p in unmounted.list_pod_for_all_namespaces().items}
    assert pods
    assert {p.metadata.name for p in core_a.list_pod_for_all_namespaces().items} == pods
    assert {p.metadata.name for p in core_b.list_pod_for_all_namespaces().items} == pods
    core_b.list_node()
    assert emulator.requests_served_by_mount() == {"a": 1, "b": 2}
    # Past the mount, paths are the API's own: an unknown one is still a 404.
    assert raw_request(emulator, "GET", "/clusters/a/api/v1/nothing").status == 404
    assert raw_request(emulator, "GET", "/clusters/a/version").status == 200
    with pytest.raises(ValueError):
        emulator.kubeconfig(mount="a/b")


def test_new_resources_are_listed_by_the_real_client_in_pages(emulate):
    emulator = emulate("neglected")
    api = api_client(emulator)
    core = client.CoreV1Api(api)
    names: list[str] = []
    token = None
    while True:
        page = core.list_config_map_for_all_namespaces(limit=1, _continue=token)
        names += [p.metadata.name for p in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert sorted(names) == ["billing-env", "wordpress-config"]
    (ingress,) = client.NetworkingV1Api(api).list_ingress_for_all_namespaces().items
    assert ingress.spec.rules[0].host == "blog.example.com" and ingress.spec.tls is None
    token_secret = core.read_namespaced_secret("ops-bot-token", "tools")
    assert token_secret.type == "kubernetes.io/service-account-token"
    assert token_secret.metadata.annotations["kubernetes.io/service-account.name"] == "ops-bot"
    # Kyverno and Gatekeeper are not installed here: their APIs answer 404.
    custom = client.CustomObjectsApi(api)
    with pytest.raises(ApiException) as missing:
        custom.list_cluster_custom_object("kyverno.io", "v1", "clusterpolicies")
    assert missing.value.status == 404


def test_gatekeeper_serves_one_constraint_resource_per_template(emulate):
    api = api_client(emulate("typical"))
    custom = client.CustomObjectsApi(api)
    templates = custom.list_cluster_custom_object("templates.gatekeeper.sh", "v1",
                                                  "constrainttemplates")["items"]
    kinds = sorted(t["spec"]["crd"]["spec"]["names"]["kind"] for t in templates)
    assert kinds == ["K8sAllowedRepos", "K8sDisallowedTags", "K8sRequiredLabels"]
    constraints = custom.list_cluster_custom_object("constraints.gatekeeper.sh", "v1beta1",
                                                    "k8sdisallowedtags")["items"]
    assert [c["metadata"]["name"] for c in constraints] == ["no-latest"]
    assert constraints[0]["kind"] == "K8sDisallowedTags"
