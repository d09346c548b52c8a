"""docker-compose.yml: valid against the Compose specification, and internally consistent.

No Docker engine runs here, so the file is checked with check-jsonschema's vendored copy of the
Compose spec schema, plus the cross-references the schema cannot express.
"""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"


def check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(path)], capture_output=True, text=True, timeout=120)


def test_compose_file_matches_the_compose_schema():
    done = check(COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_can_fail(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  web:\n    ports: 8000\n    bogus_key: 1\n")
    assert check(broken).returncode != 0


def test_services_are_separate_and_references_resolve():
    document = yaml.safe_load(COMPOSE.read_text())
    services = document["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in document["volumes"], f"{name} uses undeclared volume {source}"
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    assert "migrate" in services["web"]["command"]
    assert "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]
    assert "pgdata" in document["volumes"]


def test_env_example_names_every_variable_compose_needs():
    example = (ROOT / ".env.example").read_text()
    for variable in ("POSTGRES_PASSWORD", "POSTURE_SECRET_KEY", "POSTURE_KUBECONFIG_KEYS",
                     "ALLOWED_HOSTS"):
        assert f"{variable}=" in example


def test_healthchecks_use_the_probes():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    web = " ".join(services["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/readyz" in web
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])
    # Compose doubles $ to escape it; the container's shell sees single ones.
    beat = services["beat"]["healthcheck"]["test"][1].replace("$$", "$")
    assert "/var/lib/posture/beat-heartbeat" in beat
    assert "/var/lib/posture" in [v.split(":", 1)[1] for v in services["beat"]["volumes"]]
