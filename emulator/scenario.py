"""Scenarios: YAML descriptions of an emulated cluster and its history.

The format is documented in ``clusters/emulator/README.md``. A scenario's top level is the
cluster at the start of its history; each ``timeline`` change applies from its day on (days are
relative to today, so ``-30`` is a month ago). The state at a day is the top level plus every
change whose day is at or before it; objects created after that day are left out.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulator.objects import Builder, ClusterView, Entry, Provider, hex_id, number
from emulator.resources import BY_PLURAL

SCENARIO_DIR = Path(__file__).with_name("scenarios")


class ScenarioError(ValueError):
    """A scenario file is malformed; the message says where."""


def _ns_name(item: Mapping[str, Any]) -> str:
    return f"{item['namespace']}/{item['name']}"


def _name(item: Mapping[str, Any]) -> str:
    return str(item["name"])


# Each section: how its entries are identified (for timeline changes) and the keys they need.
SECTIONS: dict[str, tuple[Callable[[Mapping[str, Any]], str], tuple[str, ...]]] = {
    "nodes": (lambda e: str(e["pool"]),
              ("pool", "osImage", "kernelVersion", "containerRuntimeVersion")),
    "namespaces": (_name, ("name",)),
    "workloads": (_ns_name, ("kind", "namespace", "name", "template")),
    "pods": (_ns_name, ("namespace", "name", "spec")),
    "services": (_ns_name, ("namespace", "name")),
    "networkpolicies": (_ns_name, ("namespace", "name")),
    "serviceaccounts": (_ns_name, ("namespace", "name")),
    "roles": (_ns_name, ("namespace", "name")),
    "rolebindings": (_ns_name, ("namespace", "name", "roleRef")),
    "clusterroles": (_name, ("name",)),
    "clusterrolebindings": (_name, ("name", "roleRef")),
    "vulnerabilityreports": (lambda e: f"{e['namespace']}/{e['workload']}/{e['container']}",
                             ("namespace", "workload", "container")),
    "ingresses": (_ns_name, ("namespace", "name")),
    "resourcequotas": (_ns_name, ("namespace", "name")),
    "limitranges": (_ns_name, ("namespace", "name")),
    "configmaps": (_ns_name, ("namespace", "name")),
    "secrets": (_ns_name, ("namespace", "name")),
    "validatingadmissionpolicies": (_name, ("name", "spec")),
    "validatingadmissionpolicybindings": (_name, ("name", "spec")),
    "kyvernoclusterpolicies": (_name, ("name", "spec")),
    "kyvernopolicies": (_ns_name, ("namespace", "name", "spec")),
    "constrainttemplates": (lambda e: str(e["kind"]), ("kind",)),
    "gatekeeperconstraints": (lambda e: f"{e['kind']}/{e['name']}", ("kind", "name")),
}
# Sections that install an add-on when present, even empty (its CRDs exist).
ADD_ON_SECTIONS = ("vulnerabilityreports", "kyvernoclusterpolicies", "kyvernopolicies",
                   "constrainttemplates")

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet")

_TOP_LEVEL = {"name", "description", "provider", "region", "version", "versionInfo",
              "serviceAccount", "builtins", "created", "continueTTL", "denied", "faults",
              "generate", "timeline", *SECTIONS}
_CHANGE_KEYS = {"day", "note", "version", "denied", "add", "remove"}
_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(.*)$")

# Release dates and Go toolchains of Kubernetes minors, to fill in a believable VersionInfo.
_MINORS: dict[int, tuple[str, str]] = {
    19: ("2020-08-26", "go1.15"), 20: ("2020-12-08", "go1.15"), 21: ("2021-04-08", "go1.16"),
    22: ("2021-08-04", "go1.16"), 23: ("2021-12-07", "go1.17"), 24: ("2022-05-03", "go1.18"),
    25: ("2022-08-23", "go1.19"), 26: ("2022-12-08", "go1.19"), 27: ("2023-04-11", "go1.20"),
    28: ("2023-08-15", "go1.20"), 29: ("2023-12-13", "go1.21"), 30: ("2024-04-17", "go1.22"),
    31: ("2024-08-13", "go1.22"), 32: ("2024-12-11", "go1.23"), 33: ("2025-04-23", "go1.24"),
    34: ("2025-08-27", "go1.24"), 35: ("2025-12-17", "go1.25"), 36: ("2026-04-22", "go1.26"),
    37: ("2026-08-26", "go1.26"),
}


def version_info(git_version: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a complete ``/version`` body for ``git_version`` (e.g. ``v1.31.4-eks-2d5f260``).

    Managed providers report the minor with a ``+`` (``"31+"``), as EKS and GKE do.
    """
    match = _VERSION.match(git_version)
    if match is None:
        raise ScenarioError(f"version {git_version!r} is not like v1.31.4 or v1.31.4-eks-2d5f260")
    major, minor, patch, suffix = match.groups()
    released, go = _MINORS.get(int(minor), ("2026-08-26", "go1.26"))
    build = dt.date.fromisoformat(released) + dt.timedelta(days=28 * int(patch) + 2)
    info = {
        "major": major,
        "minor": minor + ("+" if suffix else ""),
        "gitVersion": git_version,
        "gitCommit": hex_id(40, git_version),
        "gitTreeState": "clean",
        "buildDate": f"{build.isoformat()}T{number(24, git_version):02d}:"
                     f"{number(60, git_version, 'm'):02d}:{number(60, git_version, 's'):02d}Z",
        "goVersion": f"{go}.{1 + int(patch) % 9}",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
    info.update(overrides or {})
    return info


@dataclass(frozen=True)
class Change:
    """One timeline entry: what changed on ``day``."""

    day: int
    note: str
    version: str | None
    denied: tuple[str, ...] | None
    add: Mapping[str, list[Mapping[str, Any]]]
    remove: Mapping[str, list[str]]


@dataclass(frozen=True)
class Scenario:
    """A loaded, validated scenario."""

    name: str
    description: str
    provider: Provider
    region: str
    version: str
    version_overrides: Mapping[str, str]
    service_account: tuple[str, str]
    builtins: bool
    created: int
    continue_ttl: float
    denied: tuple[str, ...]
    faults: tuple[Mapping[str, Any], ...]
    sections: Mapping[str, list[Mapping[str, Any]] | None]
    timeline: tuple[Change, ...] = field(default=())

    @property
    def first_day(self) -> int:
        """Return the earliest day the timeline changes something (0 without a timeline)."""
        return min([c.day for c in self.timeline] + [0])

    def view(self, day: int = 0) -> ClusterView:
        """Resolve the scenario at ``day``: top level plus every change up to that day."""
        if day > 0:
            raise ScenarioError(f"day {day} is in the future; days run up to 0 (today)")
        version, denied = self.version, self.denied
        state: dict[str, dict[str, Entry] | None] = {}
        for section, items in self.sections.items():
            if items is None:
                state[section] = None
                continue
            ident = SECTIONS[section][0]
            state[section] = {
                ident(i): Entry(i, int(i.get("created", self.created)),
                                int(i.get("created", self.created)))
                for i in items
            }
        for change in self.timeline:
            if change.day > day:
                break
            version = change.version or version
            denied = change.denied if change.denied is not None else denied
            for section, items in change.add.items():
                bucket = state.get(section)
                if bucket is None:
                    bucket = state[section] = {}
                ident = SECTIONS[section][0]
                for item in items:
                    key = ident(item)
                    old = bucket.get(key)
                    created = int(item.get("created", old.created if old else change.day))
                    if old is None:
                        bucket[key] = Entry(item, created, change.day)
                    elif old.spec.get("template") != item.get("template"):
                        history = old.history + ((old.since, old.spec["template"]),) \
                            if "template" in old.spec else old.history
                        bucket[key] = Entry(item, created, change.day, history)
                    else:
                        bucket[key] = Entry(item, created, old.since, old.history)
            for section, keys in change.remove.items():
                bucket = state.get(section) or {}
                for key in keys:
                    if bucket.pop(key, None) is None:
                        raise ScenarioError(
                            f"{self.name}: timeline day {change.day} removes {section} {key!r}, "
                            "which does not exist then")
        sections = {
            s: None if b is None else [e for e in b.values() if e.created <= day]
            for s, b in state.items()
        }
        info = version_info(version, self.version_overrides)
        return ClusterView(
            name=self.name, provider=self.provider, region=self.region, version=version,
            version_info=info, service_account=self.service_account, builtins=self.builtins,
            day=day, sections=sections, denied=frozenset(denied),
        )

    def objects(self, day: int = 0, now: dt.datetime | None = None) -> dict[str, list[Any]]:
        """Return every object of the cluster at ``day``, by resource plural."""
        return Builder(self.view(day), now or today()).build()


def today() -> dt.datetime:
    """Return the current UTC time to the second: the emulator's day 0."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def shipped() -> list[str]:
    """Return the names of the scenarios shipped with the emulator."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def _require(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise ScenarioError(f"{where}: {message}")


def _check_items(section: str, items: Any, where: str) -> list[Mapping[str, Any]]:
    _require(isinstance(items, list), where, f"{section} must be a list")
    required = SECTIONS[section][1]
    for i, item in enumerate(items):
        at = f"{where} {section}[{i}]"
        _require(isinstance(item, Mapping), at, "must be a mapping")
        missing = [k for k in required if k not in item]
        _require(not missing, at, f"missing {', '.join(missing)}")
        if section == "workloads":
            _require(item["kind"] in WORKLOAD_KINDS, at,
                     f"kind must be one of {', '.join(WORKLOAD_KINDS)}")
            _require(item["kind"] != "CronJob" or "schedule" in item, at,
                     "a CronJob needs schedule")
            _require(bool(item["template"].get("spec", {}).get("containers")), at,
                     "template.spec.containers is empty")
        if section == "pods":
            _require(bool(item["spec"].get("containers")), at, "spec.containers is empty")
        if "created" in item:
            _require(isinstance(item["created"], int) and item["created"] <= 0, at,
                     "created must be a day <= 0")
    return list(items)


def parse(data: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate parsed YAML and return the scenario it describes."""
    _require(isinstance(data, Mapping), source, "the document must be a mapping")
    # ``x-`` keys are free for YAML anchors, as in Compose files.
    unknown = {k for k in set(data) - _TOP_LEVEL if not str(k).startswith("x-")}
    _require(not unknown, source, f"unknown keys {sorted(unknown)}")
    name = str(data.get("name") or Path(source).stem)
    _require(re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) is not None, source,
             "name must be a DNS label")
    data = dict(data)
    if "generate" in data:
        from emulator.generator import generate

        params = {"readerNamespace": str(data.get("serviceAccount", "posture/")).split("/")[0],
                  **data["generate"]}
        for section, items in generate(name, params).items():
            data[section] = list(data.get(section) or []) + items
    try:
        provider = Provider(data.get("provider", "kubeadm"))
    except ValueError as exc:
        raise ScenarioError(f"{source}: provider must be one of "
                            f"{', '.join(p.value for p in Provider)}") from exc
    version = str(data.get("version", ""))
    version_info(version)
    sa = str(data.get("serviceAccount", "posture/posture-reader"))
    _require(sa.count("/") == 1, source, "serviceAccount must be namespace/name")
    sa_ns, sa_name = sa.split("/")
    sections = {s: _check_items(s, data[s], source) if data[s] is not None else None
                for s in SECTIONS if s in data}
    # An add-on's CRDs are installed when its section is present, even empty.
    for section in ADD_ON_SECTIONS:
        if section in data and data[section] is None:
            sections[section] = []
    denied = tuple(str(d) for d in data.get("denied") or ())
    for plural in denied:
        _require(plural in BY_PLURAL, source, f"denied: unknown resource {plural!r}")
    timeline = []
    for i, raw in enumerate(data.get("timeline") or []):
        at = f"{source} timeline[{i}]"
        _require(isinstance(raw, Mapping), at, "must be a mapping")
        _require(not set(raw) - _CHANGE_KEYS, at, f"unknown keys {sorted(set(raw) - _CHANGE_KEYS)}")
        _require(isinstance(raw.get("day"), int) and raw["day"] <= 0, at, "day must be <= 0")
        add = raw.get("add") or {}
        remove = raw.get("remove") or {}
        for section in list(add) + list(remove):
            _require(section in SECTIONS, at, f"unknown section {section!r}")
        if raw.get("version"):
            version_info(str(raw["version"]))
        timeline.append(Change(
            day=raw["day"], note=str(raw.get("note", "")),
            version=str(raw["version"]) if raw.get("version") else None,
            denied=tuple(raw["denied"]) if "denied" in raw else None,
            add={s: _check_items(s, items, at) for s, items in add.items()},
            remove={s: [str(k) for k in keys] for s, keys in remove.items()},
        ))
    timeline.sort(key=lambda c: c.day)
    scenario = Scenario(
        name=name,
        description=str(data.get("description", "")).strip(),
        provider=provider,
        region=str(data.get("region", "local")),
        version=version,
        version_overrides={str(k): str(v) for k, v in (data.get("versionInfo") or {}).items()},
        service_account=(sa_ns, sa_name),
        builtins=bool(data.get("builtins", True)),
        created=int(data.get("created", -365)),
        continue_ttl=float(data.get("continueTTL", 300)),
        denied=denied,
        faults=tuple(copy.deepcopy(list(data.get("faults") or ()))),
        sections=sections,
        timeline=tuple(timeline),
    )
    # Resolving today runs every timeline change once, so a bad removal fails at load time.
    scenario.view(0)
    return scenario


def load_scenario(scenario: str | Path) -> Scenario:
    """Load a shipped scenario by name (``"neglected"``) or a scenario file by path."""
    path = Path(scenario)
    if path.suffix not in (".yaml", ".yml"):
        path = SCENARIO_DIR / f"{scenario}.yaml"
        if not path.is_file():
            raise ScenarioError(f"no shipped scenario {scenario!r}; shipped: "
                                f"{', '.join(shipped())}")
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return parse(data, str(path))
