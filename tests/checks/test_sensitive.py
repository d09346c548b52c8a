"""ConfigMaps and Secrets are reduced to names before anything keeps them."""

from __future__ import annotations

import json

from posture.checks import Policy, evaluate
from posture.checks.sensitive import (
    MAX_KEYS,
    SECRET_KEYS,
    TOKEN_TYPE,
    reduce_configmap,
    reduce_token_secret,
)
from tests.checks.builders import TODAY, clean_inventory

PASSWORD = "correct-horse-battery-staple-42"
AWS_KEY = "AKIA" + "Q" * 16
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"


def _configmap(data: dict[str, object], **meta: object) -> dict[str, object]:
    return {
        "kind": "ConfigMap",
        "metadata": {"name": "app", "namespace": "shop", **meta},
        "data": data,
    }


def test_only_the_names_of_secret_looking_keys_are_kept() -> None:
    cm = _configmap(
        {"DB_PASSWORD": PASSWORD, "upload": AWS_KEY, "tls.pem": PEM, "LOG_LEVEL": "debug",
         "PASSWORD_FILE": "/run/secrets/db", "API_TOKEN": ""},
        annotations={"kubectl.kubernetes.io/last-applied-configuration": PASSWORD},
        labels={"app": "shop"},
    )
    reduced = reduce_configmap(cm)
    assert reduced[SECRET_KEYS] == ["DB_PASSWORD", "tls.pem", "upload"]
    assert reduced["metadata"] == {"name": "app", "namespace": "shop"}
    text = json.dumps(reduced)
    for value in (PASSWORD, AWS_KEY, "BEGIN RSA", "debug", "/run/secrets/db"):
        assert value not in text


def test_work_per_configmap_is_bounded() -> None:
    data = {f"K{i:05}": "x" for i in range(MAX_KEYS + 10)}
    data["Z_PASSWORD"] = PASSWORD  # sorts last: past the limit
    reduced = reduce_configmap(_configmap(data))
    assert reduced["keysExamined"] == MAX_KEYS
    assert reduced["keyCount"] == MAX_KEYS + 11
    assert reduced[SECRET_KEYS] == []


def test_malformed_configmaps_reduce_to_nothing_secret() -> None:
    assert reduce_configmap("not an object")[SECRET_KEYS] == []
    assert reduce_configmap({"data": ["a"]})[SECRET_KEYS] == []
    assert reduce_configmap({"data": {"DB_PASSWORD": 7}})[SECRET_KEYS] == []


def test_a_token_secret_keeps_metadata_and_drops_data() -> None:
    secret = {
        "kind": "Secret",
        "type": TOKEN_TYPE,
        "metadata": {"name": "ci", "namespace": "tools", "creationTimestamp": "2024-01-01T00:00:00Z",
                     "annotations": {"kubernetes.io/service-account.name": "deployer",
                                     "note": PASSWORD}},
        "data": {"token": PASSWORD},
    }
    reduced = reduce_token_secret(secret)
    assert reduced == {
        "kind": "Secret",
        "type": TOKEN_TYPE,
        "metadata": {"name": "ci", "namespace": "tools", "creationTimestamp": "2024-01-01T00:00:00Z",
                     "annotations": {"kubernetes.io/service-account.name": "deployer"}},
    }


def test_other_secret_types_are_dropped() -> None:
    assert reduce_token_secret({"type": "Opaque", "data": {"token": "x"}}) is None
    assert reduce_token_secret({"data": {"token": "x"}}) is None
    assert reduce_token_secret(None) is None


def test_findings_name_keys_never_values() -> None:
    cm = reduce_configmap(_configmap({"DB_PASSWORD": PASSWORD, "upload": AWS_KEY}))
    result = evaluate(clean_inventory(configmaps=[cm]), Policy(), TODAY)
    found = [f for f in result.findings if f.check == "workload.secret-in-configmap"]
    assert [f.name for f in found] == ["app"]
    assert "DB_PASSWORD" in found[0].message and "upload" in found[0].message
    text = json.dumps([f.to_dict() for f in result.findings])
    assert PASSWORD not in text and AWS_KEY not in text


def test_scan_output_never_repeats_a_value(tmp_path, capsys) -> None:
    from posture.checks.cli import main

    (tmp_path / "app.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: shop}\n"
        f"data:\n  DB_PASSWORD: {PASSWORD}\n  upload: {AWS_KEY}\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ci-token\n  namespace: shop\n"
        "  annotations: {kubernetes.io/service-account.name: ci}\n"
        f"type: {TOKEN_TYPE}\nstringData: {{token: {PASSWORD}x}}\n"
    )
    for fmt in ("json", "sarif", "text"):
        main(["scan", str(tmp_path), "--format", fmt])
        out, err = capsys.readouterr()
        assert "DB_PASSWORD" in out and "ci-token" in out, fmt
        assert PASSWORD not in out + err and AWS_KEY not in out + err, fmt
