"""Record a poll's vulnerabilities: images, the workloads that run them, their CVEs.

Diffed like findings: by identity against what is open, so an unchanged cluster polled again
writes no row here at all. An image seen for the first time is inserted with its workloads and
vulnerabilities; one no longer run is resolved together with its open vulnerabilities (its
workload links are deleted: they describe the present only). For an image still run, a new
vulnerability is inserted, a vanished one resolved, and one whose fixed version, severity,
title, link or score changed (a fix was published, the database re-rated it) is updated in
place; its counts and rank are updated when they change.

What a cluster can make us store is bounded: the most urgent ``IMAGES_PER_CLUSTER`` images,
``STORED_PER_IMAGE`` vulnerabilities per image and ``STORED_PER_CLUSTER`` in all (given out in
image order), each image's counts still covering everything read.

When the reports could not be read this time (Trivy Operator gone, forbidden, an error), what
is stored stays as it was, as findings of checks that could not run stay open.
"""

from __future__ import annotations

from posture.checks.trivy import ImageReport, Vulnerability, VulnerabilityScan
from posture.domain.models import Image, ImageVulnerability, ImageWorkload, Snapshot

IMAGES_PER_CLUSTER = 2_000
STORED_PER_IMAGE = 1_000
STORED_PER_CLUSTER = 20_000

_UPDATED = ("fixed_version", "severity", "title", "link", "score", "priority")
_IMAGE_UPDATED = ("registry", "repository", "tag", "digest", "os", "counts", "stored",
                  "more_workloads", "rank")
_BATCH = 1000


def _image_fields(image: ImageReport, rank: int, stored: int) -> dict[str, object]:
    # Keys as _IMAGE_UPDATED lists them.
    return {"registry": image.registry, "repository": image.repository, "tag": image.tag,
            "digest": image.digest, "os": image.os[:160], "counts": image.counts_dict(),
            "stored": stored, "more_workloads": image.more_workloads, "rank": rank}


def _vuln_fields(v: Vulnerability) -> dict[str, object]:
    return {"fixed_version": v.fixed, "severity": str(v.severity), "title": v.title,
            "link": v.link, "score": v.score, "priority": v.priority}


def _kept(scan: VulnerabilityScan) -> list[tuple[ImageReport, list[Vulnerability]]]:
    """Return the images and vulnerabilities to store, within the limits, most urgent first."""
    budget = STORED_PER_CLUSTER
    kept = []
    for image in scan.images[:IMAGES_PER_CLUSTER]:
        vulns = image.vulnerabilities[:min(STORED_PER_IMAGE, budget)]
        budget -= len(vulns)
        kept.append((image, vulns))
    return kept


def record(snapshot: Snapshot, scan: VulnerabilityScan | None) -> None:
    """Bring the cluster's stored images and vulnerabilities in line with ``scan``.

    Runs inside ``snapshots.record``'s transaction; ``scan`` None leaves everything as it was.
    """
    if scan is None:
        return
    cluster_id, at = snapshot.cluster_id, snapshot.taken_at
    current = {image.ref: (rank, image, vulns)
               for rank, (image, vulns) in enumerate(_kept(scan))}
    open_images = {i.ref: i for i in Image.objects.filter(cluster_id=cluster_id,
                                                          resolved_at__isnull=True)}
    gone = [i.pk for ref, i in open_images.items() if ref not in current]
    if gone:
        ImageVulnerability.objects.filter(image_id__in=gone, resolved_at__isnull=True).update(
            resolved_in=snapshot, resolved_at=at)
        ImageWorkload.objects.filter(image_id__in=gone).delete()
        Image.objects.filter(pk__in=gone).update(resolved_in=snapshot, resolved_at=at)
    kept_open = {ref: i for ref, i in open_images.items() if ref in current}
    new_images = [Image(cluster_id=cluster_id, ref=ref, first_seen=snapshot, first_seen_at=at,
                        **_image_fields(image, rank, len(vulns)))
                  for ref, (rank, image, vulns) in current.items() if ref not in kept_open]
    Image.objects.bulk_create(new_images, batch_size=_BATCH)
    changed_images = []
    for ref, row in kept_open.items():
        rank, image, vulns = current[ref]
        fields = _image_fields(image, rank, len(vulns))
        if any(getattr(row, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(row, k, v)
            changed_images.append(row)
    if changed_images:
        Image.objects.bulk_update(changed_images, list(_IMAGE_UPDATED), batch_size=_BATCH)
    rows = {row.ref: row for row in [*kept_open.values(), *new_images]}
    _update_links(rows, current, fresh={i.ref for i in new_images})
    _update_vulnerabilities(snapshot, rows, current, fresh={i.ref for i in new_images})


def _update_links(rows: dict[str, Image],
                  current: dict[str, tuple[int, ImageReport, list[Vulnerability]]],
                  fresh: set[str]) -> None:
    existing: dict[int, dict[tuple[str, str, str, str], int]] = {}
    old = [row.pk for ref, row in rows.items() if ref not in fresh]
    for link in ImageWorkload.objects.filter(image_id__in=old).only(
            "pk", "image_id", "kind", "namespace", "name", "container"):
        existing.setdefault(link.image_id, {})[link.identity] = link.pk
    stale: list[int] = []
    added: list[ImageWorkload] = []
    for ref, row in rows.items():
        wanted = {tuple(w) for w in current[ref][1].workloads}
        have = existing.get(row.pk, {})
        stale += [pk for key, pk in have.items() if key not in wanted]
        added += [ImageWorkload(image=row, kind=k, namespace=ns, name=n, container=c)
                  for (k, ns, n, c) in sorted(wanted) if (k, ns, n, c) not in have]
    if stale:
        ImageWorkload.objects.filter(pk__in=stale).delete()
    ImageWorkload.objects.bulk_create(added, batch_size=_BATCH)


def _update_vulnerabilities(snapshot: Snapshot, rows: dict[str, Image],
                            current: dict[str, tuple[int, ImageReport, list[Vulnerability]]],
                            fresh: set[str]) -> None:
    at = snapshot.taken_at
    old = [row.pk for ref, row in rows.items() if ref not in fresh]
    open_rows: dict[int, dict[tuple[str, str, str], ImageVulnerability]] = {}
    for v in ImageVulnerability.objects.filter(image_id__in=old, resolved_at__isnull=True).only(
            "pk", "image_id", "vulnerability_id", "package", "installed_version", *_UPDATED):
        open_rows.setdefault(v.image_id, {})[v.identity] = v
    resolved: list[int] = []
    changed: list[ImageVulnerability] = []
    added: list[ImageVulnerability] = []
    for ref, row in rows.items():
        wanted = {v.key: v for v in current[ref][2]}
        have = open_rows.get(row.pk, {})
        resolved += [v.pk for key, v in have.items() if key not in wanted]
        for key, vuln in wanted.items():
            stored = have.get(key)
            fields = _vuln_fields(vuln)
            if stored is None:
                added.append(ImageVulnerability(
                    cluster_id=row.cluster_id, image=row, vulnerability_id=vuln.id,
                    package=vuln.package, installed_version=vuln.installed, first_seen=snapshot,
                    first_seen_at=at, **fields))
            elif any(getattr(stored, k) != v for k, v in fields.items()):
                for k, value in fields.items():
                    setattr(stored, k, value)
                changed.append(stored)
    if resolved:
        ImageVulnerability.objects.filter(pk__in=resolved).update(resolved_in=snapshot,
                                                                   resolved_at=at)
    if changed:
        ImageVulnerability.objects.bulk_update(changed, list(_UPDATED), batch_size=_BATCH)
    ImageVulnerability.objects.bulk_create(added, batch_size=_BATCH)

