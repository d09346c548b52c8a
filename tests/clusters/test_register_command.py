import pytest
from django.core.management import CommandError, call_command

from clusters.models import Cluster
from tests import kubeconfigs


def write(tmp_path, text):
    path = tmp_path / "x.kubeconfig"
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    return str(path)


def test_registers_and_prints_the_new_id(db, tmp_path, capsys, alice):
    path = write(tmp_path, kubeconfigs.text(kubeconfigs.kubeconfig()))
    call_command("register_cluster", "--name", "prod-eu-1", "--kubeconfig", path,
                 "--owner", "alice")
    cluster = Cluster.objects.get(name="prod-eu-1")
    assert capsys.readouterr().out.strip() == str(cluster.pk)
    assert list(cluster.owners.all()) == [alice]
    assert cluster.credentials().token == kubeconfigs.TOKEN


@pytest.mark.threat('A pasted kubeconfig makes the worker run a command, read a file, skip TLS or send credentials in clear',
                     'Only inline credentials: exec, auth-provider, file paths, insecure-skip-tls-verify, proxy-url, http and link-local servers, YAML aliases and files over 1 MiB are refused with a specific message')
@pytest.mark.parametrize(("case", "text", "context", "message"), kubeconfigs.rejections(),
                         ids=[r[0] for r in kubeconfigs.rejections()])
def test_refuses_with_one_line(db, tmp_path, case, text, context, message):
    args = ["--name", "x", "--kubeconfig", write(tmp_path, text)]
    if context:
        args += ["--context", context]
    with pytest.raises(CommandError) as refused:
        call_command("register_cluster", *args)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not Cluster.objects.exists()


def test_refuses_a_duplicate_name(db, tmp_path, cluster_a):
    path = write(tmp_path, kubeconfigs.text(kubeconfigs.kubeconfig()))
    with pytest.raises(CommandError, match="already registered"):
        call_command("register_cluster", "--name", "cluster-a", "--kubeconfig", path)


def test_refuses_an_unknown_owner(db, tmp_path):
    path = write(tmp_path, kubeconfigs.text(kubeconfigs.kubeconfig()))
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("register_cluster", "--name", "x", "--kubeconfig", path, "--owner", "nobody")


def test_refuses_a_missing_file(db):
    with pytest.raises(CommandError, match="Cannot read /nonexistent"):
        call_command("register_cluster", "--name", "x", "--kubeconfig", "/nonexistent")


def test_exit_code_and_single_line_from_a_real_process(db, tmp_path):
    """The command as an operator runs it: one line on stderr, non-zero exit, no traceback."""
    import os
    import subprocess
    import sys

    path = write(tmp_path, kubeconfigs.text(kubeconfigs.kubeconfig(server="http://x:80")))
    done = subprocess.run(
        [sys.executable, "manage.py", "register_cluster", "--name", "x", "--kubeconfig", path],
        capture_output=True, text=True, env={**os.environ, "POSTURE_VAR_DIR": str(tmp_path)},
        timeout=60,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line] == [
        "CommandError: The server URL must use https:// (got http://); Posture never sends "
        "credentials in clear text."
    ]
