"""Every upstream Pod Security Admission fixture gets upstream's verdict from ``evaluate``.

The corpus (``tests/data/pss``, see its PROVENANCE.md) is read straight from the archive. Each
``pass/`` pod must be allowed and each ``fail/`` pod denied at its own level and policy version,
as a Pod and as a Deployment's pod template; a denial must name the control that the file
exercises, with the substring upstream's own test expects in the message.
"""

from __future__ import annotations

import re
import tarfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from posture.checks.pss import PSSResult, evaluate

ARCHIVE = Path(__file__).resolve().parents[1] / "data" / "pss" / "pss-fixtures.tar.xz"
FIXTURE_COUNT = 4537

# libyaml's safe loader parses the corpus several times faster; the pure one gives the same data.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MEMBER = re.compile(r"(baseline|restricted)/v1\.(0|[1-9][0-9]*)/(pass|fail)/([a-z_0-9]+)\.yaml")

# File prefix -> (check id, substring upstream expects in the denial); the corpus README's table.
EXPECTED: dict[str, tuple[str, str]] = {
    "apparmorprofile": ("appArmorProfile", "forbidden AppArmor profile"),
    "capabilities_baseline": ("capabilities_baseline", "capabilities"),
    "hostnamespaces": ("hostNamespaces", "host namespaces"),
    "hostpathvolumes": ("hostPathVolumes", "hostPath"),
    "hostports": ("hostPorts", "hostPort"),
    "hostprobesandhostlifecycle": ("hostProbesAndHostLifecycle", "probe or lifecycle host"),
    "privileged": ("privileged", "privileged"),
    "procmount": ("procMount", "procMount"),
    "seccompprofile_baseline": ("seccompProfile_baseline", "seccompProfile"),
    "selinuxoptions": ("seLinuxOptions", "seLinuxOptions"),
    "sysctls": ("sysctls", "forbidden sysctl"),
    "windowshostprocess": ("windowsHostProcess", "hostProcess"),
    "allowprivilegeescalation": ("allowPrivilegeEscalation", "allowPrivilegeEscalation"),
    "capabilities_restricted": ("capabilities_restricted", "unrestricted capabilities"),
    "procmount_restricted": ("procMount_restricted", "procMount"),
    "restrictedvolumes": ("restrictedVolumes", "restricted volume types"),
    "runasnonroot": ("runAsNonRoot", "runAsNonRoot"),
    "runasuser": ("runAsUser", "runAsUser"),
    "seccompprofile_restricted": ("seccompProfile_restricted", "seccompProfile"),
}

# At the restricted level these baseline checks are replaced, from the given minor on.
RESTRICTED_OVERRIDES: dict[str, tuple[int, str]] = {
    "hostPathVolumes": (0, "restrictedVolumes"),
    "seccompProfile_baseline": (19, "seccompProfile_restricted"),
    "capabilities_baseline": (22, "capabilities_restricted"),
    "procMount": (35, "procMount_restricted"),
}


@dataclass(frozen=True)
class Fixture:
    """One corpus file and what upstream expects of it."""

    path: str
    level: str
    minor: int
    allowed: bool
    prefix: str
    pod: dict[str, Any]

    @property
    def version(self) -> str:
        return f"v1.{self.minor}"


def _load() -> list[Fixture]:
    fixtures = []
    with tarfile.open(ARCHIVE, "r:xz") as archive:
        for member in archive:
            if not member.isfile() or not member.name.endswith(".yaml"):
                continue
            match = _MEMBER.fullmatch(member.name)
            assert match, f"unexpected archive member {member.name}"
            level, minor, outcome, stem = match.groups()
            stream = archive.extractfile(member)
            assert stream is not None
            pod = yaml.load(stream.read(), Loader=_LOADER)  # noqa: S506 (a safe loader)
            fixtures.append(
                Fixture(
                    path=member.name,
                    level=level,
                    minor=int(minor),
                    allowed=outcome == "pass",
                    prefix=stem.rstrip("0123456789"),
                    pod=pod,
                )
            )
    return fixtures


FIXTURES = _load()
NEWEST = max(fixture.minor for fixture in FIXTURES)


def _as_deployment(pod: dict[str, Any]) -> dict[str, Any]:
    labels = {"app": pod["metadata"]["name"]}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": pod["metadata"]["name"]},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {**pod["metadata"], "labels": labels},
                "spec": pod["spec"],
            },
        },
    }


def _expected_control(fixture: Fixture) -> tuple[str, str]:
    control, substring = EXPECTED[fixture.prefix]
    if fixture.level == "restricted" and control in RESTRICTED_OVERRIDES:
        since, replacement = RESTRICTED_OVERRIDES[control]
        if fixture.minor >= since:
            control = replacement
    return control, substring


def _assert_verdict(fixture: Fixture, result: PSSResult) -> None:
    if fixture.allowed:
        assert result.allowed, result.violations
        assert result.violations == ()
        return
    assert not result.allowed
    control, substring = _expected_control(fixture)
    details = [v.detail for v in result.violations if v.control == control]
    assert details, f"expected a {control} violation, got {result.violations}"
    assert any(substring in detail for detail in details), details


def test_archive_holds_the_whole_corpus() -> None:
    assert len(FIXTURES) == FIXTURE_COUNT
    assert len({fixture.path for fixture in FIXTURES}) == FIXTURE_COUNT
    counts = Counter((fixture.level, fixture.allowed) for fixture in FIXTURES)
    assert counts == {
        ("baseline", True): 433,
        ("baseline", False): 1122,
        ("restricted", True): 618,
        ("restricted", False): 2364,
    }
    assert {fixture.minor for fixture in FIXTURES} == set(range(38))
    assert all(fixture.prefix in EXPECTED for fixture in FIXTURES if not fixture.allowed)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda fixture: fixture.path)
def test_fixture_gets_upstream_verdict(fixture: Fixture) -> None:
    result = evaluate(fixture.pod, fixture.level, fixture.version)
    assert result.level == fixture.level
    assert result.version == fixture.version
    _assert_verdict(fixture, result)
    assert evaluate(_as_deployment(fixture.pod), fixture.level, fixture.version) == result


@pytest.mark.parametrize("alias", ["latest", "v1.99"])
@pytest.mark.parametrize(
    "fixture",
    [fixture for fixture in FIXTURES if fixture.minor == NEWEST],
    ids=lambda fixture: fixture.path,
)
def test_newest_fixture_under_latest_and_newer_versions(fixture: Fixture, alias: str) -> None:
    result = evaluate(fixture.pod, fixture.level, alias)
    assert result.version == fixture.version
    _assert_verdict(fixture, result)
    assert result == evaluate(fixture.pod, fixture.level, fixture.version)
