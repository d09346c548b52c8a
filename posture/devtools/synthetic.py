"""Synthetic fleet history for benchmarks and load tests (``manage.py seed_history``).

Builds clusters with a year of snapshots and realistic finding lifetimes — problems appear, get
fixed, come back — without polling anything, so page timings can be measured at fleet scale. The
findings come from the real catalog and the scores from the real scoring model, recomputed only
on the days a cluster's findings change.

Rows go in through PostgreSQL's COPY (a thousand clusters' year is about 1.5 million snapshots):
each cluster's snapshots and findings in one COPY each, their JSON encoded once per change rather
than once per poll, then the rollups rebuilt set-based (``posture.domain.rollups.rebuild``), as
the migration that introduced them did.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from clusters.models import Cluster
from posture.checks import CATALOG, CHECKSET_VERSION
from posture.domain import rollups, scoring
from posture.domain.models import Finding, Snapshot, SnapshotStatus, Trigger

_VERSIONS = ("v1.31.6", "v1.32.9", "v1.33.5", "v1.34.4", "v1.35.7")
_OS = ("Ubuntu 22.04.5 LTS", "Ubuntu 24.04.3 LTS", "Bottlerocket OS 1.40.0 (aws-k8s-1.33)",
       "Amazon Linux 2", "Container-Optimized OS from Google")
_NAMESPACES = ("shop", "payments", "search", "data", "ingress", "monitoring", "batch", "auth")
_PREVIOUS_CHECKSET = "0.9.0+seeded"


# A problem is what scoring sees of a finding: (check, severity, category, kind, ns, name, ...).
_Problem = scoring.Scored


def _problems(rng: random.Random, workloads: int) -> list[_Problem]:
    checks = [c for c in CATALOG.values() if str(c.category) in ("workloads", "images",
                                                                   "network", "nodes")]
    out = []
    for i in range(workloads):
        namespace = _NAMESPACES[i % len(_NAMESPACES)]
        for check in rng.sample(checks, k=rng.randint(0, 4)):
            kind = "Node" if str(check.category) == "nodes" else "Deployment"
            name = f"node-{i:03d}" if kind == "Node" else f"svc-{i:03d}"
            out.append(_Problem(check.id, str(check.severity), str(check.category), kind,
                                "" if kind == "Node" else namespace, name,
                                "" if kind == "Node" else "app"))
    return out


def seed(clusters: int, days: int, polls_per_day: int, *, seed_value: int = 7,
         now: datetime | None = None, progress: Callable[[str], None] = lambda _: None,
         prefix: str = "synthetic") -> list[Cluster]:
    """Create ``clusters`` synthetic clusters named ``prefix-NNN`` with history."""
    now = now or timezone.now()
    rng = random.Random(seed_value)  # noqa: S311  (reproducible test data, not secrets)
    start = Cluster.objects.filter(name__startswith=f"{prefix}-").count()
    made = []
    for index in range(start, start + clusters):
        made.append(_seed_cluster(f"{prefix}-{index:03d}", index, days, polls_per_day, rng, now))
        progress(f"cluster {index + 1 - start}/{clusters}")
    # In batches, so one transaction never holds a thousand clusters' rollups.
    for batch in range(0, len(made), _ROLLUP_BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            rollups.rebuild(cursor, settings.TIME_ZONE,
                            [c.pk for c in made[batch:batch + _ROLLUP_BATCH]])
        progress(f"rollups {min(batch + _ROLLUP_BATCH, len(made))}/{len(made)}")
    return made


_ROLLUP_BATCH = 100
_SNAPSHOT_COLUMNS = [str(f.column) for f in Snapshot._meta.concrete_fields]
_FINDING_COLUMNS = [str(f.column) for f in Finding._meta.concrete_fields if f.column != "id"]


def _reserve_ids(count: int) -> list[int]:
    """Return ``count`` snapshot ids from the table's own sequence (findings point at them)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('posture_snapshot', 'id')) "
                       "FROM generate_series(1, %s)", [count])
        return [row[0] for row in cursor.fetchall()]


def _copy(table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
    """COPY ``rows`` into ``table`` on Django's connection (inside its transaction)."""
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


@transaction.atomic
def _seed_cluster(name: str, index: int, days: int, polls_per_day: int, rng: random.Random,
                  now: datetime) -> Cluster:
    workloads, nodes, namespaces = rng.randint(40, 300), rng.randint(3, 60), len(_NAMESPACES)
    cluster = Cluster.objects.create(
        name=name, server=f"https://10.{index // 250}.{index % 250}.1:6443",
        context="synthetic", kubeconfig_sealed=b"", poll_interval_minutes=24 * 60 // polls_per_day,
        labels={"env": rng.choice(["prod", "staging", "dev"]),
                "provider": rng.choice(["eks", "gke", "aks", "on-prem"])})
    pool = _problems(rng, workloads)
    open_now: set[_Problem] = set(rng.sample(pool, k=len(pool) // 2))
    version_index = rng.randrange(len(_VERSIONS) - 1)
    os_image = rng.choice(_OS)
    size = scoring.Size(workloads=workloads, nodes=nodes, namespaces=namespaces)
    step = timedelta(hours=24 / polls_per_day)
    first = now - timedelta(days=days)
    # Snapshot rows as column values (``_SNAPSHOT_COLUMNS``' order), JSON already encoded.
    snapshots: list[dict[str, Any]] = []
    # (problem, day index it opened, day index it resolved or None)
    lifetimes: list[list[Any]] = [[p, 0, None] for p in open_now]
    open_index = {p: i for i, p in enumerate(open_now)}
    card = None
    encoded_counts = encoded_categories = "{}"
    for day in range(days):
        changed = day == 0
        if day and rng.random() < 0.25:  # someone fixes a few things
            for problem in rng.sample(sorted(open_now, key=str), k=min(len(open_now),
                                                                        rng.randint(1, 6))):
                open_now.discard(problem)
                lifetimes[open_index.pop(problem)][2] = day
                changed = True
        if rng.random() < 0.2:  # and new problems arrive
            for problem in rng.sample(pool, k=rng.randint(1, 5)):
                if problem not in open_now:
                    open_now.add(problem)
                    open_index[problem] = len(lifetimes)
                    lifetimes.append([problem, day, None])
                    changed = True
        if rng.random() < 0.01 and version_index < len(_VERSIONS) - 1:
            version_index += 1
            changed = True
        if changed or card is None:
            card = scoring.score(list(open_now), size, control_plane_eol=False)
            # Scored by today's model, which the history says like a poll would.
            counts: dict[str, Any] = {"severity": {}, "category": {},
                                      "scoring_version": scoring.SCORING_VERSION}
            for p in open_now:
                counts["severity"][p.severity] = counts["severity"].get(p.severity, 0) + 1
                counts["category"][p.category] = counts["category"].get(p.category, 0) + 1
            encoded_counts = json.dumps(counts)
            encoded_categories = json.dumps(card.to_dict()["categories"])
        version = _VERSIONS[version_index]
        for poll in range(polls_per_day):
            taken = first + timedelta(days=day) + step * poll
            snapshots.append({
                "cluster_id": cluster.pk, "taken_at": taken,
                "finished_at": taken + timedelta(seconds=2), "trigger": str(Trigger.SCHEDULE),
                "status": str(SnapshotStatus.OK), "error_kind": "", "error": "",
                "duration_ms": 2000, "attempt": 1, "kubernetes_version": version,
                "kubernetes_minor": version[1:5], "provider": "", "coverage": "{}",
                "node_count": nodes, "namespace_count": namespaces, "workload_count": workloads,
                "pod_count": workloads * 3,
                "node_summary": json.dumps({
                    "os_images": {os_image: nodes}, "kubelet_minors": {version[1:5]: nodes},
                    "oldest_node_created": (taken - timedelta(days=40)).isoformat(),
                    "eol_os_nodes": nodes if os_image == "Amazon Linux 2" else 0}),
                "nodes": None, "pod_security": None,
                "checkset_version": CHECKSET_VERSION if day > days // 2 else _PREVIOUS_CHECKSET,
                "finding_counts": encoded_counts, "open_findings": len(open_now),
                "score": card.score, "grade": str(card.grade),
                "category_scores": encoded_categories})
    ids = _reserve_ids(len(snapshots))
    for pk, row in zip(ids, snapshots, strict=True):
        row["id"] = pk
    _copy("posture_snapshot", _SNAPSHOT_COLUMNS,
          (tuple(row[c] for c in _SNAPSHOT_COLUMNS) for row in snapshots))
    first_of_day = snapshots[::polls_per_day]

    def finding_rows() -> Iterator[tuple[Any, ...]]:
        for p, opened, resolved in lifetimes:
            seen, gone = first_of_day[opened], (first_of_day[resolved] if resolved is not None
                                                else None)
            row = {"cluster_id": cluster.pk, "check_id": p.check, "kind": p.kind,
                   "namespace": p.namespace, "name": p.name, "container": p.container,
                   "severity": p.severity, "category": p.category,
                   "message": f"{CATALOG[p.check].title} ({p.name})", "evidence": "{}",
                   "first_seen_id": seen["id"], "first_seen_at": seen["taken_at"],
                   "resolved_in_id": gone["id"] if gone else None,
                   "resolved_at": gone["taken_at"] if gone else None}
            yield tuple(row[c] for c in _FINDING_COLUMNS)

    _copy("posture_finding", _FINDING_COLUMNS, finding_rows())
    return cluster
