"""Each fault behaves as a real server, proxy or network would, and only where it is aimed."""

from __future__ import annotations

import time

import orjson
import pytest
import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from emulator import FaultKind
from emulator.faults import FaultError
from tests.emulator.clients import api_client, raw_request


@pytest.fixture
def typical(emulate):
    return emulate("typical")


@pytest.fixture
def core(typical):
    return client.CoreV1Api(api_client(typical, retries=False))


def test_delay_slows_only_the_targeted_resource(typical, core):
    typical.set_fault("delay", resource="pods", seconds=0.4)
    started = time.monotonic()
    core.list_node()
    assert time.monotonic() - started < 0.3
    started = time.monotonic()
    assert core.list_pod_for_all_namespaces().items
    assert time.monotonic() - started >= 0.4


def test_stall_sends_half_a_body_then_goes_silent(typical, core):
    typical.set_fault("stall", resource="pods", seconds=5)
    started = time.monotonic()
    response = core.list_pod_for_all_namespaces(_preload_content=False, _request_timeout=(2, 0.5))
    assert response.status == 200
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        response.read()
    assert time.monotonic() - started < 3


def test_reset_drops_the_connection_without_an_answer(typical, core):
    typical.set_fault("reset", resource="pods")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        core.list_pod_for_all_namespaces()
    assert core.list_node().items


def test_unauthorized_after_n_requests_acts_like_an_expired_token(typical, core):
    typical.set_fault("unauthorized", after=2)
    core.list_node()
    core.list_namespace()
    with pytest.raises(ApiException) as expired:
        core.list_node()
    assert expired.value.status == 401
    assert orjson.loads(expired.value.body)["reason"] == "Unauthorized"


def test_rate_limit_answers_429_with_retry_after(typical, core):
    typical.set_fault("rate_limit", resource="pods", seconds=3)
    response = raw_request(typical, "GET", "/api/v1/pods")
    assert response.status == 429 and response.headers["Retry-After"] == "3"
    body = orjson.loads(response.data)
    assert body["reason"] == "TooManyRequests" and body["details"]["retryAfterSeconds"] == 3


@pytest.mark.parametrize(("status", "reason"), [(500, "InternalError"),
                                                (503, "ServiceUnavailable")])
def test_server_errors_have_status_bodies(typical, status, reason):
    typical.set_fault("server_error", status=status, times=1)
    first = raw_request(typical, "GET", "/api/v1/nodes")
    assert first.status == status and orjson.loads(first.data)["reason"] == reason
    assert raw_request(typical, "GET", "/api/v1/nodes").status == 200  # times=1


def test_malformed_json_is_a_200_that_does_not_parse(typical, core):
    typical.set_fault("malformed_json", resource="pods")
    response = core.list_pod_for_all_namespaces(_preload_content=False)
    assert response.status == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.data)


def test_truncated_body_breaks_content_length(typical, core):
    typical.set_fault("truncated", resource="pods")
    response = core.list_pod_for_all_namespaces(_preload_content=False)
    with pytest.raises(urllib3.exceptions.ProtocolError, match="IncompleteRead"):
        response.read()


def test_enormous_page_ignores_the_limit(typical, core):
    typical.set_fault("enormous", resource="pods", size=3_000_000)
    response = core.list_pod_for_all_namespaces(limit=2, _preload_content=False)
    assert len(response.data) >= 3_000_000
    body = orjson.loads(response.data)
    assert body["kind"] == "PodList" and len(body["items"]) > 100


def test_redirect_points_at_another_loopback_host(typical):
    typical.set_fault("redirect", resource="nodes")
    response = raw_request(typical, "GET", "/api/v1/nodes?limit=5")
    assert response.status == 302
    assert response.headers["Location"] == f"https://127.0.0.2:{typical.port}/api/v1/nodes?limit=5"


def test_redirects_never_leave_this_machine(typical):
    with pytest.raises(FaultError):
        typical.set_fault("redirect", location="https://192.0.2.10/api/v1/nodes")


@pytest.mark.parametrize(("certificate", "message"), [
    ("other-ca", "self-signed certificate in certificate chain"),
    ("other-name", "not valid for '127.0.0.1'"),
])
def test_wrong_certificate_fails_verification(typical, certificate, message):
    core = client.CoreV1Api(api_client(typical))
    assert core.list_node().items  # a kept-alive connection exists before the fault
    typical.set_fault("wrong_certificate", certificate=certificate)
    # The kept-alive connection is dropped; urllib3 reconnects and meets the wrong certificate.
    with pytest.raises(urllib3.exceptions.MaxRetryError, match=message):
        core.list_node()
    typical.clear_faults()
    assert core.list_node().items


def test_faults_come_from_the_scenario_file(emulate, tmp_path):
    scenario = tmp_path / "slow.yaml"
    scenario.write_text(
        "name: slow\nversion: v1.36.4\nfaults:\n  - {kind: server_error, status: 500}\n")
    emulator = emulate(scenario)
    assert raw_request(emulator, "GET", "/version").status == 500
    assert emulator.faults.active()[0].kind is FaultKind.SERVER_ERROR


def test_control_endpoint_sets_day_faults_and_expiry(typical):
    assert raw_request(typical, "GET", "/_emulator/state", token="nope").status == 401
    state = orjson.loads(raw_request(typical, "GET", "/_emulator/state").data)
    assert (state["scenario"], state["day"], state["firstDay"]) == ("typical", 0, -50)

    answer = raw_request(typical, "POST", "/_emulator/day", body=b'{"day": -45}')
    assert answer.status == 200 and typical.day == -45
    version = orjson.loads(raw_request(typical, "GET", "/version").data)
    assert version["gitVersion"] == "v1.35.7-gke.1222000"

    first = orjson.loads(raw_request(typical, "GET", "/api/v1/nodes?limit=1").data)
    assert raw_request(typical, "POST", "/_emulator/expire-continue-tokens").status == 200
    token = first["metadata"]["continue"]
    assert raw_request(typical, "GET", f"/api/v1/nodes?limit=1&continue={token}").status == 410

    fault = b'{"kind": "server_error", "status": 503, "resource": "nodes"}'
    assert raw_request(typical, "POST", "/_emulator/faults", body=fault).status == 200
    assert raw_request(typical, "GET", "/api/v1/nodes").status == 503
    assert raw_request(typical, "DELETE", "/_emulator/faults").status == 200
    assert raw_request(typical, "GET", "/api/v1/nodes").status == 200

    bad = raw_request(typical, "POST", "/_emulator/faults", body=b'{"kind": "meteor"}')
    assert bad.status == 400
    assert raw_request(typical, "POST", "/_emulator/day", body=b'{"day": 3}').status == 400
    # Control requests are not API requests and are never faulted.
    typical.set_fault("reset")
    assert raw_request(typical, "GET", "/_emulator/state").status == 200
