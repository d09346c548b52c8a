"""What a cluster's TLS failures say, against the emulator: the kubeconfig's terms, never
OpenSSL's internals, in the connection check, the registration page and a poll's error."""

from __future__ import annotations

import base64

import pytest
import yaml
from django.urls import reverse

from clusters import collector, kube
from clusters.kubeconfig import credentials
from posture.domain.models import SnapshotStatus
from posture.domain.polling import poll
from tests.emulated import register

FAST = kube.Timeouts(connect=2, read=3)
NOT_OUR_CA = "the server's certificate is not signed by the CA in the kubeconfig"


def without_ca(kubeconfig: str) -> str:
    document = yaml.safe_load(kubeconfig)
    del document["clusters"][0]["cluster"]["certificate-authority-data"]
    return yaml.safe_dump(document)


@pytest.mark.parametrize(("certificate", "kubeconfig_ca", "says"), [
    ("other-ca", True, NOT_OUR_CA),
    ("other-name", True, "the server's certificate is not valid for 127.0.0.1 (host name "
                         "mismatch)"),
    ("expired", True, "the server's certificate has expired"),
    ("self-signed", True, "the server presents a self-signed certificate, not one signed by "
                          "the CA in the kubeconfig"),
    ("self-signed", False, "the server's certificate is self-signed and the kubeconfig names "
                           "no CA to trust it"),
    ("other-ca", False, "not signed by a CA this machine trusts, and the kubeconfig names none"),
])
def test_the_connection_check_says_what_is_wrong_with_the_certificate(
        emulate, certificate, kubeconfig_ca, says):
    emulator = emulate("well-kept")
    emulator.set_fault("wrong_certificate", certificate=certificate)
    text = emulator.kubeconfig() if kubeconfig_ca else without_ca(emulator.kubeconfig())
    result = kube.verify(credentials(text), FAST)
    assert result.failure is not None and result.failure.kind == "tls"
    assert says in result.failure.message
    assert "_ssl.c" not in result.failure.message and "SSL:" not in result.failure.message


def test_the_registration_page_explains_a_wrong_ca(as_alice, emulate):
    emulator = emulate("well-kept")
    emulator.set_fault("wrong_certificate", certificate="other-ca")
    page = as_alice.post(reverse("clusters:register"), {
        "name": "prod", "kubeconfig": emulator.kubeconfig(), "poll_interval_minutes": 15,
        "action": "verify"}).content.decode()
    assert "Connection failed (tls)" in page
    assert NOT_OUR_CA in page.replace("&#x27;", "'")
    assert "_ssl.c" not in page


def test_registration_refuses_a_ca_that_is_not_a_certificate(as_alice, emulate):
    emulator = emulate("well-kept")
    document = yaml.safe_load(emulator.kubeconfig())
    pem = emulator.ca_pem
    broken = pem[:60] + pem[90:]  # a paste that lost part of a line
    document["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
        broken.encode()).decode()
    for action in ("verify", "register"):
        page = as_alice.post(reverse("clusters:register"), {
            "name": "prod", "kubeconfig": yaml.safe_dump(document), "poll_interval_minutes": 15,
            "action": action}).content.decode()
        assert ("certificate-authority-data does not hold a readable PEM certificate"
                in page), action
        assert "_ssl.c" not in page


@pytest.mark.django_db
def test_a_poll_records_the_same_explanation(emulate):
    emulator = emulate("well-kept")
    cluster = register(emulator, "prod")
    emulator.set_fault("wrong_certificate", certificate="other-ca")
    snapshot = poll(cluster.pk, opts=collector.Options(timeouts=FAST)).snapshot
    assert snapshot is not None and snapshot.status == SnapshotStatus.FAILED
    assert snapshot.error_kind == "tls"
    assert NOT_OUR_CA in snapshot.error
