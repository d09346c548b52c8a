"""posture scan's loading: libyaml and pure-Python parity, guards, lines, --jobs, streaming."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulator.scenario import load_scenario, shipped
from posture.checks import frameworks, sarif, yamlload
from posture.checks.cli import main, write_json
from posture.checks.frameworks import scan as framework_scan
from posture.checks.manifests import LoadError, iter_objects, read_file
from posture.checks.policy import Policy
from posture.checks.scan import scan
from posture.checks.vocabulary import Severity
from tests.checks.test_cli import APP_YAML, LIST_JSON, POD_YML, RBAC_LIST_YAML

CORPUS = Path(__file__).resolve().parent / "corpus"
FORMATS = ("text", "json", "sarif")
# Kinds of the emulator's resources, which list items leave out.
KINDS = {
    "namespaces": "Namespace", "serviceaccounts": "ServiceAccount", "deployments": "Deployment",
    "replicasets": "ReplicaSet", "pods": "Pod", "statefulsets": "StatefulSet",
    "daemonsets": "DaemonSet", "cronjobs": "CronJob", "jobs": "Job", "services": "Service",
    "networkpolicies": "NetworkPolicy", "clusterroles": "ClusterRole", "roles": "Role",
    "clusterrolebindings": "ClusterRoleBinding", "rolebindings": "RoleBinding",
}


def _scenario_manifests(root: Path) -> Path:
    """Write every shipped scenario's objects as manifests: multi-document YAML per resource,
    and the services once more as a JSON ``List``."""
    # Every shipped scenario but the 10,000-pod one, which would only make the test slow.
    for name in (n for n in shipped() if n != "big"):
        folder = root / name
        folder.mkdir(parents=True)
        objects = load_scenario(name).objects()
        for resource, kind in KINDS.items():
            items = [{"kind": kind, **item} for item in objects.get(resource, [])]
            if items:
                (folder / f"{resource}.yaml").write_text(
                    yaml.safe_dump_all(items, sort_keys=False), encoding="utf-8")
        services = {"kind": "ServiceList", "items": objects.get("services", [])}
        (folder / "services-list.json").write_text(json.dumps(services, indent=1))
    return root


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _scenario_manifests(tmp_path_factory.mktemp("scenarios"))


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Good and broken files side by side."""
    root = tmp_path / "mixed"
    (root / "sub").mkdir(parents=True)
    (root / "app.yaml").write_text(APP_YAML)
    (root / "list.json").write_text(json.dumps(LIST_JSON, indent=2))
    (root / "rbac.yaml").write_text(RBAC_LIST_YAML)
    (root / "sub" / "pod.yml").write_text(POD_YML)
    (root / "bad.yaml").write_text("kind: Pod\nmetadata: {name: x\nspec: [\n")
    (root / "bad-indent.yaml").write_text("kind: Pod\nmetadata:\n  name: a\n    labels: x\n")
    (root / "bad-tab.yaml").write_text("kind: Pod\nmetadata:\n\tname: a\n")
    (root / "bad.json").write_text('{"kind": "Pod",\n  "metadata": }\n')
    (root / "bomb.yaml").write_text(BILLION_LAUGHS)
    (root / "loop.yaml").write_text("kind: Pod\nspec: &a\n  x: *a\n")
    (root / "tags.yaml").write_text("kind: Pod\nmetadata: {name: t}\nspec: !!python/name:os.system\n")
    (root / "zz-after.yaml").write_text(POD_YML.replace("debug", "after-the-broken-ones"))
    return root


BILLION_LAUGHS = """\
kind: ConfigMap
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def without_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make PyYAML report what a build without libyaml reports."""
    monkeypatch.setattr(yaml, "__with_libyaml__", False)


def test_libyaml_is_used_here() -> None:
    # The parity tests below compare two paths only if the fast one exists on this machine.
    assert yaml.__with_libyaml__ and yamlload.libyaml()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("which", ["corpus", "scenarios", "mixed"])
def test_libyaml_path_prints_what_the_pure_python_path_prints(
    which: str, fmt: str, scenarios: Path, mixed: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = {"corpus": CORPUS, "scenarios": scenarios, "mixed": mixed}[which]
    args = ["scan", str(root), "--format", fmt, "--fail-on", "medium"]
    fast = run(args, capsys)
    without_libyaml(monkeypatch)
    slow = run(args, capsys)
    assert fast[0] == slow[0]
    assert fast[1] == slow[1]
    note, _, rest = slow[2].partition("\n")
    assert note.startswith("posture scan: PyYAML has no libyaml here") and len(note) < 120
    assert fast[2] == rest
    assert "libyaml" not in fast[2]
    assert len(fast[1]) > 1000


@pytest.mark.parametrize("fmt", FORMATS)
def test_jobs_print_what_one_process_prints(
    fmt: str, scenarios: Path, mixed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["scan", str(CORPUS), str(scenarios), str(mixed), "--format", fmt]
    one = run(args, capsys)
    assert one[0] == 3 and one[1]
    assert run([*args, "--jobs", "2"], capsys) == one
    assert run([*args, "--jobs", "0"], capsys) == one


def test_jobs_without_libyaml_print_the_same(
    mixed: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["scan", str(mixed), "--format", "json"]
    one = run(args, capsys)
    without_libyaml(monkeypatch)
    assert run([*args, "--jobs", "2"], capsys)[:2] == one[:2]


@pytest.mark.parametrize("value", ["-1", "two"])
def test_a_bad_jobs_value_is_a_usage_error(
    value: str, mixed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["scan", str(mixed), "--jobs", value], capsys)
    assert code == 2
    assert "--jobs" in err


# YAML the builder must hand back to PyYAML's constructor, or build as PyYAML does.
EDGE_DOCUMENTS = [
    "kind: Pod\nmetadata: {name: a, labels: {x: '1'}}\n",
    "a: 0x1F\nb: 0o17\nc: 1_000\nd: -0\ne: +12\nf: 190:20:30\n",
    "a: .inf\nb: -.Inf\nc: .nan\nd: 1.5e3\ne: 6.8523015e+5\n",
    "a: yes\nb: No\nc: on\nd: OFF\ne: true\nf: ~\ng: null\nh:\n",
    "a: 2001-12-14t21:59:43.10-05:00\nb: 2002-12-14\n",
    "a: !!binary aGVsbG8=\nb: !!str 123\nc: !!int '7'\nd: !!float '1'\n",
    "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
    "<<: {x: 1}\ny: 2\n",
    "s: !!set {a, b}\no: !!omap [{a: 1}, {b: 2}]\np: !!pairs [{a: 1}]\n",
    "? [a, b]\n: 1\n",
    "? {a: 1}\n: 1\n",
    "a: 1\na: 2\n",
    "!!map {a: 1}\n",
    "--- !!seq [1, 2]\n",
    "---\n...\n---\nkind: Pod\n--- ~\n--- 3\n",
    "a: &x [1, 2]\nb: *x\n",
    "a: !custom 1\n",
    "a: '*not an alias*'\nb: \"x\\ty\"\nc: |\n  block\n  text\nd: >\n  folded\n  text\n",
    "items:\n  - kind: Pod\n  -   kind: Service\n\n  - {kind: X}\n",
]


@pytest.mark.parametrize("content", EDGE_DOCUMENTS)
def test_the_fast_builder_gives_pyyaml_s_values_and_lines(content: str) -> None:
    def parse(fn: Any) -> Any:
        try:
            return ("ok", fn(content))
        except yaml.YAMLError as exc:
            return ("error", type(exc).__name__, str(exc))

    fast = parse(yamlload.documents)
    slow = parse(yamlload.python_documents)
    # nan is not equal to itself: compare the text of what came out.
    assert repr(fast) == repr(slow)


def test_an_alias_bomb_is_refused_quickly_with_a_clear_message(mixed: Path) -> None:
    start = time.process_time()
    objects, errors = read_file(str(mixed / "bomb.yaml"))
    assert time.process_time() - start < 2
    assert objects == []
    assert errors == [LoadError(
        str(mixed / "bomb.yaml"),
        f"invalid YAML: the document expands to more than {yamlload.MAX_NODES} YAML nodes")]


def test_an_alias_that_contains_itself_is_refused(mixed: Path) -> None:
    _, errors = read_file(str(mixed / "loop.yaml"))
    assert [e.message for e in errors] == [
        "invalid YAML: a YAML alias refers to a node that contains it"]


def test_the_node_bound_holds_for_documents_without_aliases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamlload, "MAX_NODES", 100)
    big = tmp_path / "big.yaml"
    big.write_text("kind: ConfigMap\ndata:\n" + "".join(f"  k{i}: v\n" for i in range(60)))
    small = tmp_path / "small.yaml"
    small.write_text("kind: ConfigMap\ndata:\n" + "".join(f"  k{i}: v\n" for i in range(40)))
    message = "invalid YAML: the document expands to more than 100 YAML nodes"
    assert [e.message for e in read_file(str(big))[1]] == [message]
    assert read_file(str(small))[1] == []
    # A merge key sends the document to PyYAML's constructor: still bounded.
    merged = tmp_path / "merged.yaml"
    merged.write_text("kind: ConfigMap\n<<: {a: 1}\ndata:\n"
                      + "".join(f"  k{i}: v\n" for i in range(60)))
    assert [e.message for e in read_file(str(merged))[1]] == [message]


def test_a_file_past_the_size_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from posture.checks import manifests

    monkeypatch.setattr(manifests, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.yaml"
    path.write_text(POD_YML * 3)
    assert [e.message for e in read_file(str(path))[1]] == ["larger than 100 bytes"]


MULTI = """\
# a comment first

apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
# the deployment
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: web, image: nginx, securityContext: {privileged: true}}]
--- !!map
kind: List
items:

  - kind: Pod
    metadata: {name: one, namespace: shop}
    spec: {containers: [{name: c, image: busybox}]}
  -   kind: Service
      metadata: {name: two, namespace: shop}
      spec: {type: NodePort}
"""


@pytest.mark.parametrize("libyaml", [True, False])
def test_objects_keep_the_exact_line_they_start_on(
    libyaml: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not libyaml:
        without_libyaml(monkeypatch)
    path = tmp_path / "multi.yaml"
    path.write_text(MULTI)
    result = scan([str(path)], Policy())
    lines = {(o.kind, o.name): o.line for o in result.objects if o.source}
    assert lines == {("Namespace", "shop"): 3, ("Deployment", "web"): 8, ("Pod", "one"): 19,
                     ("Service", "two"): 22}
    _, out, _ = run(["scan", str(path), "--format", "sarif"], capsys)
    regions = {r["ruleId"]: r["locations"][0]["physicalLocation"]["region"]["startLine"]
               for r in json.loads(out)["runs"][0]["results"]}
    assert regions["workload.privileged"] == 8
    assert regions["network.service-exposed"] == 22


@pytest.mark.parametrize("libyaml", [True, False])
@pytest.mark.parametrize(
    ("name", "line", "column", "problem"),
    [
        ("bad.yaml", 3, 5, "expected ',' or '}', but got ':'"),
        ("bad-indent.yaml", 4, 11, "mapping values are not allowed here"),
        ("bad-tab.yaml", 3, 1, "found character '\\t' that cannot start any token"),
    ],
)
def test_broken_yaml_is_reported_at_its_line_and_column(
    libyaml: bool, name: str, line: int, column: int, problem: str, mixed: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not libyaml:
        without_libyaml(monkeypatch)
    (error,) = read_file(str(mixed / name))[1]
    assert (error.line, error.column) == (line, column)
    assert error.message == f"invalid YAML: {problem}"


def test_broken_files_keep_the_others_findings_and_exit_3(
    mixed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["scan", str(mixed), "--format", "json", "--jobs", "2"], capsys)
    assert code == 3
    doc = json.loads(out)
    failed = sorted(Path(e["source"]).name for e in doc["errors"])
    assert failed == ["bad-indent.yaml", "bad-tab.yaml", "bad.json", "bad.yaml", "bomb.yaml",
                      "loop.yaml", "tags.yaml"]
    names = {o["name"] for o in doc["objects"] if o["findings"]}
    assert {"web", "debug", "after-the-broken-ones", "admins"} <= names
    assert "7 files could not be read" in err
    assert run(["scan", str(mixed), "--allow-errors"], capsys)[0] == 1


def test_objects_stream_file_by_file(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"{i}.yaml").write_text(POD_YML.replace("debug", f"pod-{i}"))
    errors: list[LoadError] = []
    objects = iter_objects([str(tmp_path)], errors)
    assert next(objects).name == "pod-0"
    # Read only when reached: a file changed after the first object came out is read as it is.
    (tmp_path / "2.yaml").write_text(POD_YML.replace("debug", "changed"))
    assert [o.name for o in objects] == ["pod-1", "changed"]
    assert errors == []


def _peak_while_iterating(root: Path, count: int) -> int:
    for i in range(count):
        (root / f"{i:05d}.yaml").write_text(APP_YAML.replace("web", f"web-{i}"))
    errors: list[LoadError] = []
    tracemalloc.start()
    try:
        seen = sum(1 for _ in iter_objects([str(root)], errors))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seen == 3 * count and errors == []
    return peak


def test_iterating_many_files_holds_no_more_than_a_few(tmp_path: Path) -> None:
    (tmp_path / "few").mkdir()
    (tmp_path / "many").mkdir()
    few = _peak_while_iterating(tmp_path / "few", 100)
    many = _peak_while_iterating(tmp_path / "many", 2000)
    # Twenty times the files: only the list of their names grows (about 200 bytes a file).
    assert many < few + 2000 * 400, (few, many)


@pytest.mark.parametrize("depth", [900, 1500])
def test_deep_nesting_is_read_or_refused_as_without_libyaml(
    depth: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # libyaml refuses more than 1,000 levels; the pure-Python parser then has the last word.
    path = tmp_path / "deep.yaml"
    path.write_text("kind: ConfigMap\ndata: " + "[" * depth + "]" * depth + "\n")
    fast = read_file(str(path))
    without_libyaml(monkeypatch)
    assert read_file(str(path)) == fast


def _surrogates_escaped(text: str) -> str:
    """A lone surrogate cannot be written as UTF-8: the output spells it as a JSON escape."""
    return re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_a_lone_surrogate_in_a_name_is_written_to_a_real_stdout(fmt: str, tmp_path: Path) -> None:
    odd = tmp_path / "odd.json"
    odd.write_text('{"kind": "Pod", "metadata": {"name": "x\\ud800"}, '
                   '"spec": {"containers": [{"name": "a", "image": "nginx"}]}}')
    done = subprocess.run([sys.executable, "-m", "posture.checks", "scan", str(odd),
                           "--format", fmt], capture_output=True, timeout=120,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    out = done.stdout.decode("utf-8")  # strict: the output is valid UTF-8
    if fmt == "text":
        assert "x\\ud800" in out
    else:
        assert "x\ud800" in json.dumps(json.loads(out), ensure_ascii=False)


@pytest.mark.parametrize("framework", [None, "cis"])
@pytest.mark.parametrize("which", ["corpus", "scenarios", "mixed", "clean", "surrogate"])
def test_streamed_sarif_is_the_whole_log_encoded_at_once(
    which: str, framework: str | None, scenarios: Path, mixed: Path, tmp_path: Path
) -> None:
    clean = tmp_path / "clean.yaml"
    clean.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: quiet\n  labels:\n"
                     "    pod-security.kubernetes.io/enforce: restricted\n")
    # orjson refuses a lone surrogate: that result (and only it) takes the standard library.
    odd = tmp_path / "odd.json"
    odd.write_text('{"kind": "Pod", "metadata": {"name": "x\\ud800"}, '
                   '"spec": {"containers": [{"name": "a", "image": "nginx"}]}}')
    root = {"corpus": CORPUS, "scenarios": scenarios, "mixed": mixed, "clean": clean,
            "surrogate": odd}[which]
    result = scan([str(root)], Policy())
    fw = frameworks.framework(framework) if framework else None
    if fw is not None:
        result = framework_scan.filtered(result, fw)
    code = result.exit_code(Severity.HIGH)
    whole = sarif.render(result, code, fw)
    expected = _surrogates_escaped(json.dumps(whole, indent=2, ensure_ascii=False)) + "\n"
    out = io.StringIO()
    sarif.write(result, code, out, fw)
    assert out.getvalue() == expected
    assert json.loads(out.getvalue()) == whole
    results = whole["runs"][0]["results"]
    assert bool(results) is (which != "clean")
    if which == "surrogate":
        assert any("\ud800" in r["message"]["text"] for r in results)


@pytest.mark.parametrize("framework", [None, "cis"])
@pytest.mark.parametrize("which", ["corpus", "mixed", "clean", "surrogate", "batches", "nothing"])
def test_streamed_json_is_the_whole_document_encoded_at_once(
    which: str, framework: str | None, mixed: Path, tmp_path: Path
) -> None:
    clean = tmp_path / "clean.yaml"
    clean.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: quiet\n")
    odd = tmp_path / "odd.json"
    odd.write_text('{"kind": "Pod", "metadata": {"name": "x\\ud800"}, '
                   '"spec": {"containers": [{"name": "a", "image": "nginx"}]}}')
    # Objects are encoded in batches: a few more than two batches' worth.
    (tmp_path / "batches").mkdir()
    for i in range(600):
        (tmp_path / "batches" / f"{i:03d}.yaml").write_text(APP_YAML.replace("web", f"w-{i}"))
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "values.yaml").write_text("replicas: 3\n")
    root = {"corpus": CORPUS, "mixed": mixed, "clean": clean, "surrogate": odd,
            "batches": tmp_path / "batches", "nothing": tmp_path / "nothing"}[which]
    result = scan([str(root)], Policy())
    fw = frameworks.framework(framework) if framework else None
    extra: dict[str, object] = {}
    if fw is not None:
        result = framework_scan.filtered(result, fw)
        extra["framework"] = framework_scan.to_dict(framework_scan.assess_scan(result, fw))
    code = result.exit_code(Severity.HIGH)
    whole = {**result.to_dict(code), **extra}
    expected = _surrogates_escaped(json.dumps(whole, indent=2, ensure_ascii=False)) + "\n"
    out = io.StringIO()
    write_json(result, code, out, extra)
    assert out.getvalue() == expected
    assert json.loads(out.getvalue()) == whole
    assert bool(whole["objects"]) is (which != "nothing")
