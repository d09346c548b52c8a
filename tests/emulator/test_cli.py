"""``python -m emulator``: one port per scenario, kubeconfigs written, clean exit."""

from __future__ import annotations

import io
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import yaml
from kubernetes import client, config


def free_port_pair() -> int:
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise AssertionError("no two free consecutive ports")


def test_serves_each_scenario_on_its_port_until_sigterm(tmp_path: Path):
    port = free_port_pair()
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "typical", "denied", "--port", str(port),
         "--kubeconfig-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2])
    try:
        lines = [process.stdout.readline().split() for _ in range(2)]
        assert lines == [
            ["typical", f"https://127.0.0.1:{port}", str(tmp_path / "typical.kubeconfig")],
            ["denied", f"https://127.0.0.1:{port + 1}", str(tmp_path / "denied.kubeconfig")],
        ]
        path = tmp_path / "denied.kubeconfig"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        api = config.new_client_from_config_dict(yaml.safe_load(path.read_text()))
        assert client.VersionApi(api).get_code().git_version == "v1.34.3"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0, process.stderr.read()


def test_an_unknown_scenario_exits_with_an_error(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "atlantis", "--port", "0",
         "--kubeconfig-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
        cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 2 and "no shipped scenario 'atlantis'" in result.stderr


def test_keep_identity_keeps_kubeconfigs_valid_across_restarts(tmp_path: Path):
    from emulator.cli import start_all

    first = start_all(["denied"], 0, tmp_path, keep_identity=True, out=io.StringIO())
    token, ca = first[0].token, first[0].ca_pem
    first[0].stop()
    second = start_all(["denied"], 0, tmp_path, keep_identity=True, out=io.StringIO())
    try:
        assert (second[0].token, second[0].ca_pem) == (token, ca)
        identity = tmp_path / "denied.identity.json"
        assert stat.S_IMODE(identity.stat().st_mode) == 0o600
    finally:
        second[0].stop()
