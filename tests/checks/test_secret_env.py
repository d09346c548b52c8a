"""workload.secret-in-env: which variables count, and that their values never come out.

The check reads a literal credential to decide; every output of an evaluation (findings,
evidence, ``posture scan`` in each format) must name the variable and not repeat its value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posture.checks import Policy, evaluate, secrets
from posture.checks.cli import main
from posture.checks.pod import pod_facts
from tests.checks.builders import TODAY, clean_inventory, container, pod_spec, workload

CHECK = "workload.secret-in-env"
POLICY = Policy(approved_registries=("registry.example.com",))

# One value per signal: a secret-named key, and each credential shape under a harmless name.
VALUES = {
    "DB_PASSWORD": "pw-7Hq2-literal-in-template",
    "SERVICE_ID": "AKIAQ3EGRWDMVZXK7TUB",
    "TLS_MATERIAL": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5\n"
    "-----END EC PRIVATE KEY-----",
    "SA_JSON": '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----x"}',
    "CI_HOOK": "ghp_" + "Zq8" * 12,
    "CHAT": "xoxb-123456789012-abcdefghijklmnopqrstu",
}
# Fragments that only the values hold: none may appear in any output.
FRAGMENTS = ("7Hq2", "AKIAQ3EGRWDMVZXK7TUB", "MHcCAQEEIBkg4LVWM9", "ghp_Zq8", "abcdefghijklmnopq")


def _env(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in values.items()]


def _spec() -> dict[str, Any]:
    return pod_spec(
        initContainers=[container("setup", env=_env({"DB_PASSWORD": VALUES["DB_PASSWORD"]}))],
        containers=[container(env=_env(VALUES))],
        ephemeralContainers=[
            {"name": "debugger", "image": "registry.example.com/tools/shell:1.0",
             "env": _env({"CHAT": VALUES["CHAT"]})}
        ],
    )


def _no_value_in(text: str) -> None:
    for fragment in FRAGMENTS:
        assert fragment not in text


def test_every_list_is_read_and_only_the_names_are_reported() -> None:
    result = evaluate(clean_inventory(workloads=[workload(spec=_spec())]), POLICY, TODAY)
    found = {f.container: f for f in result.findings if f.check == CHECK}
    assert set(found) == {"setup", "app", "debugger"}
    assert found["setup"].message.startswith("Init container setup ")
    assert found["debugger"].message.startswith("Ephemeral container debugger ")
    assert found["app"].message.startswith("Container app ")
    assert found["app"].evidence == {"env": list(VALUES)}
    # Everything the evaluation gives out, as it is stored and exported.
    _no_value_in(json.dumps([f.to_dict() for f in result.findings]))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_TOKEN", ""),
        ("API_TOKEN", "   "),
        ("API_TOKEN", "$(UPSTREAM_TOKEN)"),
        ("PASSWORD_FILE", "/run/secrets/db"),
        ("LOG_LEVEL", "debug"),
        ("REPLICAS", "3"),
    ],
)
def test_empty_values_references_and_plain_settings_are_not_secrets(name: str, value: str) -> None:
    facts = pod_facts({"spec": {"containers": [{"name": "app", "env": _env({name: value})}]}})
    assert facts.containers[0].secret_env == ()


def test_value_from_is_not_a_literal() -> None:
    env = [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]
    facts = pod_facts({"spec": {"containers": [{"name": "app", "env": env}]}})
    assert facts.containers[0].secret_env == ()


def test_malformed_env_entries_are_skipped() -> None:
    env: list[Any] = ["DB_PASSWORD=x", {"name": 3, "value": "pw"}, {"value": 7},
                     {"name": "DB_PASSWORD", "value": "hunter2"}]
    facts = pod_facts({"spec": {"containers": [{"name": "app", "env": env}]}})
    assert facts.containers[0].secret_env == ("DB_PASSWORD",)


def test_a_hostile_number_of_variables_gives_a_bounded_finding() -> None:
    env = _env({f"TOKEN_{i}": "v" for i in range(5000)})
    facts = pod_facts({"spec": {"containers": [{"name": "app", "env": env}]}})
    assert len(facts.containers[0].secret_env) == 50


def _manifest(tmp_path: Path) -> Path:
    doc = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": _spec()}}}
    path = tmp_path / "web.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


@pytest.mark.threat("A credential written into a pod template leaks through Posture's output",
                    "Findings of workload.secret-in-env name the variable, never its value")
@pytest.mark.parametrize("fmt", ["json", "text", "sarif"])
def test_posture_scan_output_names_the_variable_and_never_the_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    code = main(["scan", str(_manifest(tmp_path)), "--format", fmt])
    out, err = capsys.readouterr()
    assert code == 1
    assert "DB_PASSWORD" in out and "SERVICE_ID" in out
    _no_value_in(out)
    _no_value_in(err)


# Every credential shape the matcher knows, generated from its own patterns, so that a shape
# added there and missed by the facts' cheap pre-test fails here.
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(*(st.from_regex(p) for p in secrets._CREDENTIAL_VALUES)))
def test_every_credential_shape_of_the_matcher_is_reported(value: str) -> None:
    env = [{"name": "HARMLESS", "value": value}]
    facts = pod_facts({"spec": {"containers": [{"name": "app", "env": env}]}})
    assert facts.containers[0].secret_env == (
        ("HARMLESS",) if secrets.looks_secret("HARMLESS", value) else ()
    )


@pytest.mark.parametrize(
    "odd",
    [{"name": ["DB"], "value": "x"}, {"name": {"a": 1}}, {"value": "x"}, {"name": "N", "value": 5},
     "DB_PASSWORD=hunter2", None],
)
def test_an_odd_entry_does_not_hide_the_others(odd: Any) -> None:
    env = [odd, {"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "LOG", "value": "1"}]
    facts = pod_facts({"spec": {"containers": [{"name": "app", "env": env}]}})
    assert facts.containers[0].secret_env == ("DB_PASSWORD",)


def test_a_list_of_plain_settings_is_quiet_and_one_secret_name_is_not() -> None:
    plain = [{"name": f"VAR_{i}", "value": str(i)} for i in range(6)]
    facts = pod_facts({"spec": {"containers": [{"name": "app", "env": plain}]}})
    assert facts.containers[0].secret_env == ()
    env = [*plain, {"name": "API_KEY", "value": "42"}]
    facts = pod_facts({"spec": {"containers": [{"name": "app", "env": env}]}})
    assert facts.containers[0].secret_env == ("API_KEY",)
