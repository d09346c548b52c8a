"""Kubeconfigs at rest: encrypted, rotated, never readable from the database."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from clusters import vault
from clusters.models import Cluster
from tests import kubeconfigs


def raw_column(cluster: Cluster) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute("SELECT kubeconfig_sealed FROM clusters_cluster WHERE id = %s",
                       [cluster.pk])
        return bytes(cursor.fetchone()[0])


@pytest.mark.threat('A stolen database or backup reveals cluster credentials',
                     'Kubeconfigs sealed with Fernet; keys only in the environment')
def test_raw_column_holds_no_token_or_ca(cluster_a):
    stored = raw_column(cluster_a)
    assert kubeconfigs.TOKEN.encode() not in stored
    assert kubeconfigs.b64(kubeconfigs.TOKEN).encode() not in stored
    assert b"BEGIN CERTIFICATE" not in stored
    assert b"certificate-authority-data" not in stored
    assert cluster_a.credentials().token == kubeconfigs.TOKEN


@pytest.mark.threat('A leaked encryption key stays useful',
                     'MultiFernet rotation: rotate_kubeconfig_key re-encrypts everything with the newest key')
def test_rotation_re_encrypts_with_the_newest_key(cluster_a, settings, capsys):
    old_key = settings.POSTURE_KUBECONFIG_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.POSTURE_KUBECONFIG_KEYS = [new_key, old_key]
    before = raw_column(cluster_a)
    call_command("rotate_kubeconfig_key")
    assert "re-encrypted 1 kubeconfig(s)" in capsys.readouterr().out
    after = raw_column(cluster_a)
    assert after != before
    # The old key can now be dropped: the new key alone decrypts.
    settings.POSTURE_KUBECONFIG_KEYS = [new_key]
    assert Cluster.objects.get(pk=cluster_a.pk).credentials().token == kubeconfigs.TOKEN
    Fernet(new_key.encode()).decrypt(after)


def test_rotation_without_the_old_key_changes_nothing(cluster_a, settings):
    before = raw_column(cluster_a)
    settings.POSTURE_KUBECONFIG_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_kubeconfig_key")
    assert raw_column(cluster_a) == before


def test_unseal_with_a_wrong_key_says_so(settings):
    sealed = vault.seal("kind: Config")
    settings.POSTURE_KUBECONFIG_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(vault.VaultError, match="POSTURE_KUBECONFIG_KEYS"):
        vault.unseal(sealed)


def test_only_the_chosen_context_is_stored(db):
    from clusters.kubeconfig import credentials

    document = kubeconfigs.kubeconfig(contexts=("one", "two"), current="one")
    cluster = Cluster(name="x")
    cluster.store_kubeconfig(credentials(kubeconfigs.text(document), "two"))
    cluster.save()
    stored = vault.unseal(raw_column(cluster))
    assert "two" in stored and "one" not in stored


@pytest.mark.threat('The admin shows stored credentials',
                     'The sealed kubeconfig is excluded from the admin')
def test_admin_never_shows_the_kubeconfig(cluster_a, sam):
    from django.test import Client

    sam.is_superuser = True
    sam.save()
    client = Client()
    client.force_login(sam)
    page = client.get(f"/admin/clusters/cluster/{cluster_a.pk}/change/").content.decode()
    assert "kubeconfig_sealed" not in page
    assert kubeconfigs.TOKEN not in page
