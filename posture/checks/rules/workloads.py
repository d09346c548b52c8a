"""Workload security: Pod Security Standards controls, root filesystem, limits, tokens, root.

Each Pod Security Standards control becomes its own check, because "remove privileged: true" is
a checklist item someone can act on, where "violates restricted" is not. The controls are
evaluated with the baseline level (so hostPath volumes are reported as such even though the
restricted level folds them into "volume types") and, when the policy aims for restricted, with
the restricted level for the controls only it has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from posture.checks import pss
from posture.checks.base import Check, Hit
from posture.checks.context import ENFORCE_LABEL, Context, WorkloadView
from posture.checks.pod import DEFAULT_ACCOUNT, ContainerFacts
from posture.checks.policy import SYSTEM_NAMESPACES
from posture.checks.results import FindingRow
from posture.checks.safe import clip, dig, string_map
from posture.checks.vocabulary import Category, Severity

_PSS_DOC = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
_PSA_DOC = "https://kubernetes.io/docs/concepts/security/pod-security-admission/"
_SC_DOC = "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"
_LIMITS_DOC = "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/"
_AUTOMOUNT_DOC = (
    "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/"
    "#opt-out-of-api-credential-automounting"
)
_DEFAULT_SA_DOC = (
    "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/"
    "#use-the-default-service-account-to-access-the-api-server"
)
_SA_ADMIN_DOC = "https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/"
_POD_RESOURCES_DOC = (
    "https://kubernetes.io/docs/tasks/configure-pod-container/assign-pod-level-resources/"
)
_ENV_DOC = (
    "https://kubernetes.io/docs/tasks/inject-data-application/"
    "define-environment-variable-container/"
)
_CREDENTIALS_DOC = (
    "https://kubernetes.io/docs/tasks/inject-data-application/distribute-credentials-secure/"
)
_GOOD_PRACTICE_DOC = "https://kubernetes.io/docs/concepts/security/secrets-good-practices/"
_WORKLOAD_NEEDS = ("pods",)
# Detail text quotes container and volume names from the cluster; keep messages bounded.
_DETAIL_LIMIT = 1000

# The PSS controls that `workload.runs-as-root` reports per container instead.
RUN_AS_ROOT_CONTROLS: frozenset[str] = frozenset({"runAsNonRoot", "runAsUser"})


_TemplateHit = tuple[str, str, str, str]  # check id, level, effective version, message


def _pss_hits(ctx: Context) -> dict[str, list[FindingRow]]:
    """Return the Pod Security Standards hits of every PSS check, computed in one pass.

    Each distinct template is evaluated once, and each distinct verdict turned into hits once
    (templates of different apps often fail the same controls the same way); the hits are then
    stamped on every workload that has them.
    """
    memo = ctx.memo.get("pss_hits")
    if isinstance(memo, dict):
        return memo
    version = ctx.policy.pss_version
    restricted = ctx.policy.pss_level == "restricted"
    baseline_ids = frozenset(pss.controls("baseline", version))
    per_template: dict[int, list[_TemplateHit]] = {}
    per_verdict: dict[pss.Levels, list[_TemplateHit]] = {}
    out = {check.id: ctx.rows_per_workload() for check in PSS_CHECKS}
    for view in ctx.workloads:
        found = per_template.get(view.key)
        if found is None:
            levels = ctx.pod_security(view, version)
            if levels is None:
                found = []
            else:
                found = per_verdict.get(levels)
                if found is None:
                    found = per_verdict[levels] = _verdict_hits(levels, restricted, baseline_ids)
            per_template[view.key] = found
        for check_id, level, effective, message in found:
            evidence = {"level": level, "version": effective}
            hit = (view.kind, view.namespace, view.name, "", message, evidence)
            out[check_id].append(hit)
    ctx.memo["pss_hits"] = out
    return out


def _verdict_hits(
    levels: pss.Levels, restricted_target: bool, baseline_ids: frozenset[str]
) -> list[_TemplateHit]:
    results: list[tuple[str, tuple[pss.Denied, ...], bool | None]]
    if restricted_target:
        restricted = levels.restricted
        if restricted is None:
            return []
        # At restricted, a few restricted controls replace baseline ones (restricted volume
        # types replace hostPath volumes, ...). Only when such a restricted-only control fails
        # does the baseline verdict say more, so only then is it read.
        for control, _ in restricted:
            if control not in baseline_ids:
                results = [("restricted", restricted, False)]
                if levels.baseline is not None:
                    results.insert(0, ("baseline", levels.baseline, True))
                break
        else:
            results = [("restricted", restricted, None)]
    else:
        if levels.baseline is None:
            return []
        results = [("baseline", levels.baseline, None)]
    by_check: dict[str, _TemplateHit] = {}
    for level, violations, wants_baseline in results:
        details: dict[str, str] = {}
        for control, detail in violations:
            check_id = CONTROL_CHECKS.get(control)
            if check_id is None:
                continue
            # With both verdicts, each control is read from its own level's.
            if wants_baseline is not None and (control in baseline_ids) != wants_baseline:
                continue
            previous = details.get(check_id)
            details[check_id] = detail if previous is None else f"{previous}; {detail}"
        for check_id, text in details.items():
            # A later (stricter) level's detail covers the earlier one's, so it replaces it.
            message = text if len(text) <= _DETAIL_LIMIT else clip(text, _DETAIL_LIMIT)
            by_check[check_id] = (check_id, level, levels.version, message)
    return list(by_check.values())


def _pss_run(check_id: str) -> Callable[[Context], list[FindingRow]]:
    def run(ctx: Context) -> list[FindingRow]:
        return _pss_hits(ctx).get(check_id, [])

    return run


def _violates_namespace(ctx: Context) -> Iterator[Hit]:
    for view in ctx.workloads:
        level, version = ctx.enforcement(view.namespace)
        if level == "privileged":
            continue
        levels = ctx.pod_security(view, version)
        if levels is None:
            continue
        violations = levels.baseline if level == "baseline" else levels.restricted
        if not violations:
            continue
        controls = sorted({control for control, _ in violations})
        yield Hit(
            view.kind,
            view.namespace,
            view.name,
            "",
            f"Runs despite namespace {clip(view.namespace)} enforcing Pod Security level "
            f"{level} ({levels.version}): fails {', '.join(controls)}; new pods would be refused",
            {"level": level, "version": levels.version, "controls": controls},
        )


_WRITABLE_ROOT = "workload.root-filesystem-writable"
_NO_LIMITS = "workload.no-resource-limits"
_RUNS_AS_ROOT = "workload.runs-as-root"
_NO_REQUESTS = "workload.requests-missing"
_SECRET_ENV = "workload.secret-in-env"  # noqa: S105 (a check id, not a password)


def _container_rows(ctx: Context) -> dict[str, list[FindingRow]]:
    """Return the rows of the per-container checks below, from one pass over the containers.

    One pass rather than one per check: the containers' facts of a large cluster do not stay
    in the CPU's caches from one check to the next.
    """
    memo = ctx.memo.get("container_rows")
    if isinstance(memo, dict):
        return memo
    rows = {
        check_id: ctx.rows_per_container()
        for check_id in (_WRITABLE_ROOT, _NO_LIMITS, _RUNS_AS_ROOT, _NO_REQUESTS, _SECRET_ENV)
    }
    writable, no_limits, runs_as_root = rows[_WRITABLE_ROOT], rows[_NO_LIMITS], rows[_RUNS_AS_ROOT]
    no_requests, secret_env = rows[_NO_REQUESTS], rows[_SECRET_ENV]
    for view in ctx.workloads:
        kind, ns, name, facts = view.kind, view.namespace, view.name, view.facts
        for c in facts.containers:
            # Windows containers cannot have a read-only root filesystem.
            if not c.read_only_root and not facts.windows:
                message = f"{c.label} can write to its root filesystem"
                evidence: dict[str, object] = {}
                writable.append((kind, ns, name, c.name, message, evidence))
            if c.missing_limits:
                missing = " and ".join(c.missing_limits)
                message = f"{c.label} has no {missing} limit"
                evidence = {"missing": list(c.missing_limits)}
                no_limits.append((kind, ns, name, c.name, message, evidence))
            if c.missing_requests:
                missing = " and ".join(c.missing_requests)
                message = f"{c.label} has no {missing} request, nor a limit it would default to"
                evidence = {"missing": list(c.missing_requests)}
                no_requests.append((kind, ns, name, c.name, message, evidence))
            if c.secret_env:
                # The names only: the values never reach a finding (see posture.checks.secrets).
                keys = ", ".join(c.secret_env)
                message = f"{c.label} sets a credential-looking literal value in env: {keys}"
                if len(message) > _DETAIL_LIMIT:
                    message = clip(message, _DETAIL_LIMIT)
                evidence = {"env": list(c.secret_env)}
                secret_env.append((kind, ns, name, c.name, message, evidence))
            # Root in a user namespace is an unprivileged user on the node.
            if facts.user_namespace or c.run_as_non_root is True and c.run_as_user != 0:
                continue
            message = _run_as_message(c)
            evidence = {
                "runAsUser": c.run_as_user,
                "runAsNonRoot": c.run_as_non_root,
                "runAsUserFrom": c.run_as_user_from or None,
                "runAsNonRootFrom": c.run_as_non_root_from or None,
            }
            runs_as_root.append((kind, ns, name, c.name, message, evidence))
    ctx.memo["container_rows"] = rows
    return rows


def _run_as_message(c: ContainerFacts) -> str:
    """Say how ``c`` may end up running as root, naming where each setting comes from."""
    if c.run_as_user == 0:
        return f"{c.label} runs as root (runAsUser: 0, set on the {c.run_as_user_from})"
    if c.run_as_non_root is False:
        non_root = f"runAsNonRoot is false (set on the {c.run_as_non_root_from})"
    else:
        non_root = "runAsNonRoot is not set"
    if c.run_as_user is None:
        return (
            f"{c.label} may run as root: {non_root} and no runAsUser is, so the image's user "
            "decides"
        )
    return (
        f"{c.label} runs as UID {c.run_as_user} (runAsUser, set on the {c.run_as_user_from}) "
        f"but {non_root}: nothing makes Kubernetes refuse root if runAsUser is removed or set to 0"
    )


def _writable_root(ctx: Context) -> list[FindingRow]:
    return _container_rows(ctx)[_WRITABLE_ROOT]


def _no_limits(ctx: Context) -> list[FindingRow]:
    return _container_rows(ctx)[_NO_LIMITS]


def _runs_as_root(ctx: Context) -> list[FindingRow]:
    return _container_rows(ctx)[_RUNS_AS_ROOT]


def _requests_missing(ctx: Context) -> list[FindingRow]:
    return _container_rows(ctx)[_NO_REQUESTS]


def _secret_in_env(ctx: Context) -> list[FindingRow]:
    return _container_rows(ctx)[_SECRET_ENV]


def _token_setting(ctx: Context, view: WorkloadView) -> tuple[bool | None, str]:
    """Return whether ``view``'s pods ask for a token (None: nobody says) and who decides.

    Upstream: the pod's ``automountServiceAccountToken`` wins when set, else the service
    account's, else the token is mounted.
    """
    facts = view.facts
    if facts.automount_token is not None:
        return facts.automount_token, "the pod"
    sa = ctx.service_accounts.get((view.namespace, facts.service_account))
    value = None if sa is None else sa.get("automountServiceAccountToken")
    if isinstance(value, bool):
        return value, "its service account"
    return None, ""


def _token_automounted(ctx: Context) -> list[FindingRow]:
    hits = ctx.rows_per_workload()
    for view in ctx.workloads:
        facts = view.facts
        setting, where = _token_setting(ctx, view)
        if setting is False:
            continue
        reason = "by default" if setting is None else f"because {where} asks for it"
        account = clip(facts.service_account)
        message = f"Pods get a token for service account {account} mounted {reason}"
        hit = (view.kind, view.namespace, view.name, "", message, {"serviceAccount": account})
        hits.append(hit)
    return hits


# Who decided that the token is mounted (``_token_setting``'s second value), for evidence.
_DECIDED_BY = {"the pod": "pod", "its service account": "serviceaccount", "": "default"}


def _default_account_token(ctx: Context) -> list[FindingRow]:
    """Report workloads that hold a token of their namespace's ``default`` service account.

    ``workload.service-account-token-automounted`` reports the token itself, for any account;
    this reports the identity being shared, so its message and fix are about the account.
    """
    hits = ctx.rows_per_workload()
    for view in ctx.workloads:
        if view.facts.service_account != DEFAULT_ACCOUNT:
            continue
        setting, where = _token_setting(ctx, view)
        if setting is False:
            continue
        decided = "by default" if setting is None else f"because {where} asks for it"
        message = (
            f"Runs as the default service account of namespace {clip(view.namespace)} with its "
            f"token mounted ({decided}): every pod there that names no account shares this "
            "identity, and any permission granted to it"
        )
        evidence = {"serviceAccount": DEFAULT_ACCOUNT, "automountFrom": _DECIDED_BY[where]}
        hits.append((view.kind, view.namespace, view.name, "", message, evidence))
    return hits


def _unenforced_namespaces(ctx: Context) -> Iterator[Hit]:
    for name, ns in sorted(ctx.namespaces.items()):
        if not name or ctx.policy.pss_exempt(name):
            continue
        labels = string_map(dig(ns, "metadata", "labels"))
        if ENFORCE_LABEL not in labels:
            yield Hit(
                "Namespace",
                "",
                name,
                "",
                f"Namespace {clip(name)} has no Pod Security Admission enforce label: "
                "any pod, privileged or not, is admitted",
                {},
            )


_PSS_CONTROLS: dict[str, tuple[str, ...]] = {}


def _pss_check(
    suffix: str,
    controls: tuple[str, ...],
    severity: Severity,
    title: str,
    why: str,
    fix: str,
    snippet: str,
) -> Check:
    _PSS_CONTROLS[f"workload.{suffix}"] = controls
    return Check(
        id=f"workload.{suffix}",
        category=Category.WORKLOADS,
        severity=severity,
        title=title,
        why=why,
        fix=fix,
        snippet=snippet,
        references=(_PSS_DOC, _SC_DOC),
        needs=_WORKLOAD_NEEDS,
        run=_pss_run(f"workload.{suffix}"),
    )


PSS_CHECKS: tuple[Check, ...] = (
    _pss_check(
        "privileged",
        ("privileged",),
        Severity.CRITICAL,
        "Privileged container",
        "A privileged container has every capability and all host devices: it is root on the "
        "node, and one escape away from every other pod there.",
        "Remove `privileged: true`; grant only the specific capability the process needs.",
        "securityContext:\n  privileged: false",
    ),
    _pss_check(
        "host-process",
        ("windowsHostProcess",),
        Severity.CRITICAL,
        "Windows HostProcess container",
        "A HostProcess container runs directly on the Windows node with host access.",
        "Remove `windowsOptions.hostProcess: true` unless this is a node-management DaemonSet in "
        "an exempt namespace.",
        "securityContext:\n  windowsOptions:\n    hostProcess: false",
    ),
    _pss_check(
        "host-namespaces",
        ("hostNamespaces",),
        Severity.HIGH,
        "Shares the host's network, PID or IPC namespace",
        "Host namespaces let a pod see and talk to the node's processes and network interfaces, "
        "bypassing NetworkPolicies and pod isolation.",
        "Remove `hostNetwork`, `hostPID` and `hostIPC` (or set them to false).",
        "spec:\n  hostNetwork: false\n  hostPID: false\n  hostIPC: false",
    ),
    _pss_check(
        "host-path-volumes",
        ("hostPathVolumes",),
        Severity.HIGH,
        "Mounts a hostPath volume",
        "A hostPath volume exposes the node's filesystem; writing to the wrong path (the "
        "container runtime socket, /etc) takes over the node.",
        "Use an emptyDir, a ConfigMap/Secret or a PersistentVolumeClaim instead.",
        "volumes:\n  - name: scratch\n    emptyDir: {}",
    ),
    _pss_check(
        "capabilities-added",
        ("capabilities_baseline",),
        Severity.HIGH,
        "Adds Linux capabilities beyond the default set",
        "Capabilities such as SYS_ADMIN or NET_ADMIN give a container powers that are close to "
        "root on the node.",
        "Remove the extra entries from `capabilities.add`.",
        "securityContext:\n  capabilities:\n    drop: [ALL]\n    add: [NET_BIND_SERVICE]",
    ),
    _pss_check(
        "host-ports",
        ("hostPorts",),
        Severity.MEDIUM,
        "Uses host ports",
        "A hostPort binds the node's own address, exposing the pod outside the cluster network "
        "and limiting scheduling.",
        "Remove `hostPort` and expose the pod through a Service.",
        "ports:\n  - containerPort: 8080",
    ),
    _pss_check(
        "host-probes",
        ("hostProbesAndHostLifecycle",),
        Severity.MEDIUM,
        "Probe or lifecycle hook aimed at another host",
        "A `host` on a probe or lifecycle hook makes the kubelet send requests to an arbitrary "
        "address from the node's network.",
        "Remove `host` from httpGet/tcpSocket probes and hooks so they target the pod.",
        "livenessProbe:\n  httpGet:\n    path: /healthz\n    port: 8080",
    ),
    _pss_check(
        "apparmor-disabled",
        ("appArmorProfile",),
        Severity.MEDIUM,
        "AppArmor profile disabled or overridden",
        "Running unconfined removes the mandatory access control the runtime applies by default.",
        "Use the runtime's default AppArmor profile (or a Localhost profile).",
        "securityContext:\n  appArmorProfile:\n    type: RuntimeDefault",
    ),
    _pss_check(
        "selinux-options",
        ("seLinuxOptions",),
        Severity.MEDIUM,
        "Custom SELinux user, role or type",
        "Setting an SELinux type or user can move the container out of its confinement.",
        "Remove `seLinuxOptions.type/user/role`; only `level` may be set.",
        'securityContext:\n  seLinuxOptions:\n    level: "s0:c123,c456"',
    ),
    _pss_check(
        "proc-mount-unmasked",
        ("procMount", "procMount_restricted"),
        Severity.MEDIUM,
        "Unmasked /proc mount",
        "An unmasked /proc exposes kernel interfaces the runtime normally hides.",
        "Remove `procMount: Unmasked`.",
        "securityContext:\n  procMount: Default",
    ),
    _pss_check(
        "seccomp-profile",
        ("seccompProfile_baseline", "seccompProfile_restricted"),
        Severity.MEDIUM,
        "Seccomp not set to RuntimeDefault or Localhost",
        "Without a seccomp profile every system call is allowed, including the rarely used ones "
        "most kernel exploits rely on.",
        "Set the RuntimeDefault seccomp profile on the pod.",
        "spec:\n  securityContext:\n    seccompProfile:\n      type: RuntimeDefault",
    ),
    _pss_check(
        "unsafe-sysctls",
        ("sysctls",),
        Severity.MEDIUM,
        "Sets sysctls outside the safe set",
        "Unsafe sysctls change kernel settings shared with every other pod on the node.",
        "Remove the sysctl, or move the workload to dedicated nodes configured for it.",
        "spec:\n  securityContext:\n    sysctls:\n"
        "      - name: net.ipv4.ip_unprivileged_port_start\n"
        '        value: "0"',
    ),
    _pss_check(
        "privilege-escalation",
        ("allowPrivilegeEscalation",),
        Severity.MEDIUM,
        "Allows privilege escalation",
        "Without `allowPrivilegeEscalation: false`, a setuid binary in the image can gain more "
        "privileges than the process started with.",
        "Set `allowPrivilegeEscalation: false` on every container.",
        "securityContext:\n  allowPrivilegeEscalation: false",
    ),
    _pss_check(
        "capabilities-not-dropped",
        ("capabilities_restricted",),
        Severity.MEDIUM,
        "Does not drop all Linux capabilities",
        "The runtime's default capabilities (CHOWN, SETUID, NET_RAW ...) are more than most "
        "processes need and help an attacker after a compromise.",
        "Drop ALL capabilities and add back only NET_BIND_SERVICE if needed.",
        "securityContext:\n  capabilities:\n    drop: [ALL]",
    ),
    _pss_check(
        "volume-types",
        ("restrictedVolumes",),
        Severity.LOW,
        "Uses a volume type outside the restricted set",
        "Volume types that reach the node or the network directly (hostPath, nfs, iscsi ...) "
        "bypass the storage layer's access control.",
        "Use configMap, secret, emptyDir, projected, downwardAPI, ephemeral, csi or "
        "persistentVolumeClaim volumes.",
        "volumes:\n  - name: data\n    persistentVolumeClaim:\n      claimName: data",
    ),
)

OTHER_CHECKS: tuple[Check, ...] = (
    Check(
        id="workload.violates-namespace-level",
        category=Category.WORKLOADS,
        severity=Severity.HIGH,
        title="Runs in violation of its namespace's enforced Pod Security level",
        why="Admission only checks pods when they are created: pods started before the label "
        "was set, or through an exemption, keep running. Their next restart will fail.",
        fix="Fix the listed controls in the workload's pod template, then restart it.",
        snippet="kubectl label --dry-run=server --overwrite ns NAMESPACE "
        "pod-security.kubernetes.io/enforce=restricted",
        references=(_PSA_DOC,),
        needs=("pods", "namespaces"),
        run=_violates_namespace,
    ),
    Check(
        id=_RUNS_AS_ROOT,
        category=Category.WORKLOADS,
        severity=Severity.MEDIUM,
        title="Container may run as root",
        why="A process running as root inside the container is root on the node after any "
        "container escape. This check covers the Pod Security Standards controls "
        '"Running as Non-root" and "Running as Non-root user", per container (init, regular '
        "and ephemeral containers alike); pods in a user namespace (`hostUsers: false`) pass. "
        "Each container's `runAsUser` and `runAsNonRoot` are its own when set, else the pod's "
        "(a container's securityContext overrides the pod's field by field), and the finding "
        "says where each comes from. A non-zero `runAsUser` without `runAsNonRoot: true` runs "
        "as that user today, but nothing makes Kubernetes refuse root once `runAsUser` is "
        "removed or set to 0, so it is reported too.",
        fix="Run as a non-root user and make Kubernetes refuse to start the container as root.",
        snippet="securityContext:\n  runAsNonRoot: true\n  runAsUser: 10001",
        references=(_PSS_DOC, _SC_DOC),
        needs=_WORKLOAD_NEEDS,
        run=_runs_as_root,
        # 2: ephemeral containers too; the message says where each run-as setting comes from.
        revision=2,
    ),
    Check(
        id=_WRITABLE_ROOT,
        category=Category.WORKLOADS,
        severity=Severity.LOW,
        title="Root filesystem is writable",
        why="A writable root filesystem lets an attacker drop tools and persist changes inside "
        "the container. Init, regular and ephemeral (debug) containers are checked. Windows "
        "pods are not checked (the setting does not exist there).",
        fix="Set `readOnlyRootFilesystem: true` and mount an emptyDir where the process must "
        "write.",
        snippet="securityContext:\n  readOnlyRootFilesystem: true\nvolumeMounts:\n"
        "  - name: tmp\n    mountPath: /tmp",
        references=(_SC_DOC,),
        needs=_WORKLOAD_NEEDS,
        run=_writable_root,
        # 2: ephemeral containers too.
        revision=2,
    ),
    Check(
        id=_NO_LIMITS,
        category=Category.WORKLOADS,
        severity=Severity.MEDIUM,
        title="Container without CPU or memory limits",
        why="Without limits one container can take a node's memory or CPU and starve every "
        "other pod there (a denial of service, accidental or not). Init and regular "
        "containers are checked; ephemeral (debug) containers are not, because Kubernetes does "
        "not allow them resources at all.",
        fix="Set CPU and memory limits (and requests) on every container, or a LimitRange with "
        "defaults for the namespace.",
        snippet="resources:\n  requests: {cpu: 100m, memory: 128Mi}\n"
        "  limits: {cpu: 500m, memory: 256Mi}",
        references=(_LIMITS_DOC,),
        needs=_WORKLOAD_NEEDS,
        run=_no_limits,
    ),
    Check(
        id="workload.service-account-token-automounted",
        category=Category.WORKLOADS,
        severity=Severity.LOW,
        title="Service account token mounted automatically",
        why="Most applications never call the Kubernetes API, yet by default every pod gets a "
        "token for it: whoever compromises the pod can use its service account's permissions.",
        fix="Set `automountServiceAccountToken: false` on the pod or its service account, and "
        "mount a projected token only where the API is used.",
        snippet="spec:\n  automountServiceAccountToken: false",
        references=(_AUTOMOUNT_DOC,),
        needs=("pods", "serviceaccounts"),
        run=_token_automounted,
    ),
    Check(
        id=_NO_REQUESTS,
        category=Category.WORKLOADS,
        severity=Severity.LOW,
        title="Container without a CPU or memory request",
        why="The scheduler places pods by their requests: a container that requests nothing "
        "is placed as if it used nothing, so nodes fill up past what they can run, and it is "
        "the first to be evicted or starved when they do. Upstream, a container that sets a "
        "limit but no request gets a request equal to the limit, so only a resource with "
        "neither is reported; a pod-level request or limit (`spec.resources`) covers the "
        "containers that set none. A LimitRange's default request is applied when a pod is "
        "created, so it shows in a cluster's pods but not in manifests. Init and regular "
        "containers are checked; ephemeral (debug) containers are not, because Kubernetes "
        "does not allow them resources at all.",
        fix="Set a CPU and a memory request on every container (what it uses under normal "
        "load), or a LimitRange with default requests for the namespace.",
        snippet="resources:\n  requests: {cpu: 100m, memory: 128Mi}",
        references=(_LIMITS_DOC, _POD_RESOURCES_DOC),
        needs=_WORKLOAD_NEEDS,
        run=_requests_missing,
    ),
    Check(
        id="workload.default-service-account-token",
        category=Category.WORKLOADS,
        severity=Severity.MEDIUM,
        title="Runs as the namespace's default service account, with its token",
        why="A pod that names no service account (neither `serviceAccountName` nor the "
        "deprecated `serviceAccount`) runs as its namespace's `default` account, and so does "
        "every other such pod there: a permission granted to `default` for one workload is "
        "granted to all of them, and a compromise of any of them yields it. Only workloads "
        "that also get the token mounted are reported: the pod's "
        "`automountServiceAccountToken` decides when set, else the service account's, else "
        "the token is mounted. `workload.service-account-token-automounted` reports the "
        "mounted token itself, for any account; this check reports the shared identity.",
        fix="Create a service account for the workload and name it in the pod template; and "
        "set `automountServiceAccountToken: false` on each namespace's `default` account so "
        "that pods which name none get no token.",
        snippet="apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n"
        "automountServiceAccountToken: false\n---\n# in the pod template:\nspec:\n"
        "  serviceAccountName: web",
        references=(_DEFAULT_SA_DOC, _SA_ADMIN_DOC, _AUTOMOUNT_DOC),
        needs=("pods", "serviceaccounts"),
        run=_default_account_token,
    ),
    Check(
        id=_SECRET_ENV,
        category=Category.WORKLOADS,
        severity=Severity.HIGH,
        title="Credential written as a literal value in an environment variable",
        why="An env var's literal `value` is part of the pod template: anyone who may read "
        "the Deployment (or its ReplicaSets, or the pods) reads the credential, it lands in "
        "manifests, Helm values and version control, and it cannot be rotated without a "
        "rollout. A variable is reported when its name says it holds a secret (`*PASSWORD*`, "
        "`*TOKEN*`, `*SECRET*`, `*_KEY`, `*API_KEY*`, `*CREDENTIAL*` ...) or its value has the "
        "shape of a well-known credential (an AWS access key id, a PEM private key, a GCP "
        "service-account key, a GitHub or Slack token); empty values, `$(VAR)` references and "
        "`valueFrom` are not. Findings name the variable, never its value. Init, regular and "
        "ephemeral (debug) containers are checked.",
        fix="Move the value into a Secret and refer to it with `valueFrom.secretKeyRef` (or "
        "mount the Secret as a file), then rotate the credential: it has been readable in the "
        "pod template.",
        snippet="env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n"
        "        name: db\n        key: password",
        references=(_CREDENTIALS_DOC, _ENV_DOC, _GOOD_PRACTICE_DOC),
        needs=_WORKLOAD_NEEDS,
        run=_secret_in_env,
    ),
    Check(
        id="namespace.pss-not-enforced",
        category=Category.WORKLOADS,
        severity=Severity.MEDIUM,
        title="Namespace without a Pod Security Admission enforce label",
        why="Without an enforce label a namespace admits any pod, including privileged ones. "
        f"Namespaces {', '.join(SYSTEM_NAMESPACES)} and those the policy exempts are not "
        "checked.",
        fix="Label the namespace with the level its workloads meet (check first with a "
        "server-side dry run, which lists the pods that would fail).",
        snippet="kubectl label ns NAMESPACE pod-security.kubernetes.io/enforce=restricted "
        "pod-security.kubernetes.io/enforce-version=latest",
        references=(_PSA_DOC,),
        needs=("namespaces",),
        run=_unenforced_namespaces,
    ),
)

CHECKS: tuple[Check, ...] = PSS_CHECKS + OTHER_CHECKS

# Which check reports each Pod Security Standards control (``runAsNonRoot`` and ``runAsUser``
# are reported per container by ``workload.runs-as-root``).
CONTROL_CHECKS: dict[str, str] = {
    control: check_id for check_id, controls in _PSS_CONTROLS.items() for control in controls
}
