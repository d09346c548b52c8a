"""Changes to a registered cluster that leave an audit row: a poll asked for, the kubeconfig
replaced, the cluster deleted. Pages and commands call these; the audit row is written here.

Registering a cluster is ``clusters.registration.register``; its audit row is written by the
``cluster_registered`` receiver in ``posture.domain.signals``.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from clusters.kubeconfig import ClusterCredentials
from clusters.models import Cluster
from posture.domain.audit import Action, record
from posture.domain.models import Trigger
from posture.domain.polling import claim_first_poll
from posture.domain.polling_tasks import poll_cluster

Actor = User | AnonymousUser | None


def poll_now(cluster: Cluster, actor: Actor = None) -> None:
    """Queue a poll of ``cluster`` at once (a manual poll), and record who asked for it."""
    poll_cluster.delay(cluster.pk, Trigger.MANUAL)
    record(Action.POLL_NOW, actor=actor, cluster=cluster, target=cluster.name)


def queue_first_poll(cluster: Cluster) -> bool:
    """Queue a newly registered cluster's first poll, unless one is already claimed."""
    if not claim_first_poll(cluster):
        return False
    poll_cluster.delay(cluster.pk)
    return True


def replace_kubeconfig(cluster: Cluster, creds: ClusterCredentials, actor: Actor = None) -> None:
    """Seal ``creds`` as the cluster's kubeconfig (used from its next poll); record the server
    and context before and after, never the kubeconfig."""
    before = {"server": cluster.server, "context": cluster.context}
    with transaction.atomic():
        cluster.store_kubeconfig(creds)
        cluster.save(update_fields=["kubeconfig_sealed", "server", "context"])
        record(Action.KUBECONFIG_REPLACE, actor=actor, cluster=cluster, target=cluster.name,
               detail={"before": before, "after": {"server": cluster.server,
                                                   "context": cluster.context}})


def delete_cluster(cluster: Cluster, actor: Actor = None) -> None:
    """Delete ``cluster`` and its history; the audit row keeps its name, server and id."""
    with transaction.atomic():
        record(Action.DELETE, actor=actor, cluster=None, target=cluster.name,
               detail={"server": cluster.server, "id": cluster.pk})
        cluster.delete()
