"""The demo's rehearsal cluster: a kubeconfig a user can paste to try registration."""

from __future__ import annotations

import stat

import pytest

from clusters import kube
from clusters.kubeconfig import credentials
from clusters.models import Cluster
from posture.devtools import demo

pytestmark = pytest.mark.django_db


def test_the_rehearsal_kubeconfig_is_private_and_reaches_an_unregistered_cluster(tmp_path):
    emulator, path = demo.start_rehearsal_cluster(tmp_path / "var", port=0)
    try:
        assert path.parent == tmp_path / "var"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        creds = credentials(path.read_text())
        assert creds.context == "rehearsal" and creds.server == emulator.url
        assert creds.token == emulator.token  # the emulator's test token, nothing else
        result = kube.verify(creds, kube.Timeouts(connect=2, read=3))
        assert result.ok, result.failure
        assert not Cluster.objects.exists()
    finally:
        emulator.stop()


def test_the_banner_says_where_the_rehearsal_kubeconfig_is(tmp_path):
    path = tmp_path / "rehearsal.kubeconfig"
    text = demo.banner(8106, [("typical", "https://127.0.0.1:17601")], path, "var/mail")
    assert f"Rehearse registration: paste {path}" in text
    assert "http://127.0.0.1:8106/" in text and "https://127.0.0.1:17601 (typical)" in text
