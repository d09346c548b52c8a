"""``evaluate_levels`` and skipping checks whose fields are absent change no verdict.

Both are speed-ups of the same upstream rules: one pass for baseline and restricted, and no call
to a check that would allow the pod anyway. Each is compared with the plain per-level evaluation
with every check run, on the whole upstream corpus and on generated pods with wrong types.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posture.checks import pss
from posture.checks.pss import evaluate, evaluate_levels
from posture.checks.pss.evaluator import _Plan
from tests.checks.test_pss_conformance import FIXTURES

LEVEL_NAMES = ("baseline", "restricted")


def _every_check_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Plan, "runnable", lambda self, fields: self.steps)


def _per_level(obj: Any, version: str) -> list[tuple[tuple[str, str], ...] | None]:
    """Return each level's violations from ``evaluate``, None where it refuses the pod."""
    out: list[tuple[tuple[str, str], ...] | None] = []
    for level in LEVEL_NAMES:
        try:
            result = evaluate(obj, level, version)
        except ValueError:
            out.append(None)
        else:
            out.append(tuple((v.control, v.detail) for v in result.violations))
    return out


def _levels(obj: Any, version: str) -> list[tuple[tuple[str, str], ...] | None]:
    levels = evaluate_levels(obj, version)
    assert levels.version == pss.effective_version(version)
    return [levels.baseline, levels.restricted]


def test_corpus_verdicts_are_the_same_in_one_pass_and_per_level() -> None:
    denied = 0
    for fixture in FIXTURES:
        expected = _per_level(fixture.pod, fixture.version)
        assert _levels(fixture.pod, fixture.version) == expected, fixture.path
        denied += sum(1 for level in expected if level)
    assert denied > 3000


def test_corpus_verdicts_do_not_depend_on_skipping_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    skipping = [(_per_level(f.pod, f.version), _levels(f.pod, f.version)) for f in FIXTURES]
    _every_check_runs(monkeypatch)
    for fixture, (per_level, levels) in zip(FIXTURES, skipping, strict=True):
        assert _per_level(fixture.pod, fixture.version) == per_level, fixture.path
        assert _levels(fixture.pod, fixture.version) == levels, fixture.path


# --- generated pods, with plausible values and wrong types mixed -------------------------------

_WORDS = st.sampled_from(
    [
        "",
        "ALL",
        "NET_BIND_SERVICE",
        "SYS_ADMIN",
        "RuntimeDefault",
        "Localhost",
        "Unconfined",
        "runtime/default",
        "localhost/p",
        "unconfined",
        "container_t",
        "spc_t",
        "Unmasked",
        "Default",
        "windows",
        "kernel.msgmax",
        "net.ipv4.tcp_rmem",
        "10.0.0.1",
        "app",
    ]
)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-1, 3), _WORDS)
_JUNK = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=2), st.dictionaries(_WORDS, inner, max_size=2)
    ),
    max_leaves=4,
)


def _either(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a well-formed value, now and then anything at all."""
    return st.one_of(*[good] * 9, _JUNK)


_ABSENT = object()


def _typed(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Return mappings in which each field is set half of the time."""
    values = {k: st.one_of(st.just(_ABSENT), v) for k, v in fields.items()}
    return st.fixed_dictionaries(values).map(
        lambda d: {k: v for k, v in d.items() if v is not _ABSENT}
    )


_PROFILE = _either(_typed(type=st.one_of(_WORDS, _SCALARS)))
_SELINUX = _typed(type=_WORDS, user=_WORDS, role=_WORDS, level=_WORDS)
_CONTEXT = _typed(
    privileged=_SCALARS,
    allowPrivilegeEscalation=_SCALARS,
    capabilities=_either(
        _typed(add=_either(st.lists(_WORDS, max_size=2)), drop=st.lists(_WORDS, max_size=2))
    ),
    runAsUser=_SCALARS,
    runAsNonRoot=_SCALARS,
    seccompProfile=_PROFILE,
    appArmorProfile=_PROFILE,
    seLinuxOptions=_SELINUX,
    procMount=_WORDS,
    windowsOptions=_either(_typed(hostProcess=_SCALARS)),
)
_HANDLER = _typed(
    httpGet=_typed(host=_WORDS, port=st.integers(0, 2)), tcpSocket=_typed(host=_WORDS)
)
_CONTAINER = _typed(
    name=_WORDS,
    securityContext=_either(_CONTEXT),
    ports=st.lists(_either(_typed(containerPort=_SCALARS, hostPort=_SCALARS)), max_size=2),
    livenessProbe=_HANDLER,
    readinessProbe=_HANDLER,
    lifecycle=_typed(preStop=_HANDLER, postStart=_HANDLER),
)
_POD_CONTEXT = _typed(
    runAsNonRoot=_SCALARS,
    runAsUser=_SCALARS,
    seccompProfile=_PROFILE,
    appArmorProfile=_PROFILE,
    seLinuxOptions=_SELINUX,
    sysctls=_either(st.lists(_typed(name=_WORDS), max_size=2)),
    windowsOptions=_typed(hostProcess=_SCALARS),
)
_VOLUME = _typed(
    name=_WORDS, hostPath=_typed(path=_WORDS), emptyDir=st.just({}), nfs=_typed(server=_WORDS)
)
_SPEC = _typed(
    containers=st.lists(_either(_CONTAINER), max_size=2),
    initContainers=st.lists(_CONTAINER, max_size=1),
    securityContext=_either(_POD_CONTEXT),
    volumes=st.lists(_either(_VOLUME), max_size=2),
    hostNetwork=_SCALARS,
    hostPID=_SCALARS,
    hostUsers=_SCALARS,
    os=_either(_typed(name=_WORDS)),
)
_ANNOTATIONS = st.dictionaries(
    st.sampled_from(
        [
            "container.apparmor.security.beta.kubernetes.io/app",
            "container.seccomp.security.alpha.kubernetes.io/app",
            "seccomp.security.alpha.kubernetes.io/pod",
            "team",
        ]
    ),
    _WORDS,
    max_size=3,
)
_POD = st.fixed_dictionaries(
    {"spec": _SPEC}, optional={"metadata": _typed(annotations=_ANNOTATIONS)}
)
_VERSIONS = st.sampled_from(["v1.0", "v1.18", "v1.22", "v1.25", "v1.31", "v1.34", "latest"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pod=_POD, version=_VERSIONS)
def test_generated_pods_get_the_same_verdicts_every_way(pod: dict[str, Any], version: str) -> None:
    per_level = _per_level(pod, version)
    assert _levels(pod, version) == per_level
    with pytest.MonkeyPatch.context() as monkeypatch:
        _every_check_runs(monkeypatch)
        assert _per_level(pod, version) == per_level
        assert _levels(pod, version) == per_level


def test_a_malformed_part_leaves_only_the_levels_that_read_it_without_a_verdict() -> None:
    # Unhashable capabilities break only the baseline check (a set lookup); the restricted
    # check that replaces it compares by equality and still judges the pod.
    pod = {
        "spec": {
            "containers": [{"name": "app", "securityContext": {"capabilities": {"add": [{}]}}}]
        }
    }
    levels = evaluate_levels(pod, "latest")
    assert levels.baseline is None
    assert levels.restricted is not None
    assert "capabilities_restricted" in {control for control, _ in levels.restricted}
    assert _levels(pod, "latest") == _per_level(pod, "latest")


def test_a_pod_without_a_spec_is_refused() -> None:
    with pytest.raises(ValueError, match="spec mapping"):
        evaluate_levels({"metadata": {}}, "latest")
    with pytest.raises(ValueError, match="invalid policy version"):
        evaluate_levels({"spec": {}}, "v2")
