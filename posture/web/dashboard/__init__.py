"""What the dashboard pages show, computed from stored rows: the views only parse and render.

``overview`` (the fleet), ``scorecard`` (one cluster now), ``trends`` (one cluster over time),
``checklist`` (what to fix, grouped by fix). Fleet-wide queries read snapshot aggregates, never
a cluster's findings one cluster at a time, and run a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from django.db.models import Expression, FloatField, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KT, KeyTransform
from django.db.models.functions import Cast
from django.utils import timezone

from clusters.models import Cluster
from posture.checks.vocabulary import Category
from posture.domain.models import Snapshot


def today(now: datetime) -> date:
    """Return the calendar day of ``now`` in the site's time zone (the lifecycle's clock)."""
    return timezone.localdate(now)


def latest_successful_ids(clusters: QuerySet[Cluster]) -> QuerySet[Any]:
    """Annotate each cluster with ``latest_id``, its newest successful snapshot's pk (the rows
    are Clusters with that attribute, hence ``Any``)."""
    newest = Snapshot.objects.successful_of(OuterRef("pk")).values("pk")[:1]
    return clusters.annotate(latest_id=Subquery(newest))


def _score_key(category: Category) -> str:
    return f"{category}_score"


# A snapshot's category scores come with every deduction behind them (about 6 kB of JSON a
# snapshot); the pages read only these parts of its aggregates, so only they leave the database.
def aggregate_parts() -> dict[str, Expression]:
    """Return annotations for the parts of a snapshot's JSON aggregates the pages read.

    ``severity_counts`` (open findings by severity), ``platform_counts`` (platform-managed ones,
    not in ``severity_counts``), ``os_images`` (nodes by OS image), and per category its
    ``<category>_score`` and whether it was evaluated; read them back with ``category_scores``
    and ``not_evaluated``.
    """
    return {
        "severity_counts": KeyTransform("severity", "finding_counts"),
        # Open platform-managed findings by severity, left out of ``severity_counts``.
        "platform_counts": KeyTransform("platform_severity", "finding_counts"),
        "os_images": KeyTransform("os_images", "node_summary"),
        # Scores arrive as numbers, not as JSON text to decode one by one.
        **{_score_key(c): Cast(KT(f"category_scores__{c}__score"), FloatField())
           for c in Category},
        # "false" for a category none of whose checks ran; absent from older snapshots, whose
        # every category has a score.
        **{_evaluated_key(c): KT(f"category_scores__{c}__evaluated") for c in Category},
    }


def _evaluated_key(category: Category) -> str:
    return f"{category}_evaluated"


def category_scores(row: Mapping[str, Any]) -> dict[str, float]:
    """Return the category scores of a row annotated with ``aggregate_parts``.

    Categories that were not evaluated have no score and are left out (``not_evaluated``):
    asked by their flag, not by a null score, because SQLite casts a JSON null to 0.0.
    """
    skipped = not_evaluated(row)
    return {str(c): row[_score_key(c)] for c in Category
            if row[_score_key(c)] is not None and str(c) not in skipped}


def not_evaluated(row: Mapping[str, Any]) -> set[str]:
    """Return the categories of an annotated row none of whose checks could run."""
    return {str(c) for c in Category if row.get(_evaluated_key(c)) == "false"}
