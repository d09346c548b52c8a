import io

import pytest
from django.urls import reverse

from clusters.models import Cluster
from tests import kubeconfigs

URL = reverse("clusters:register")


def post(client, **data):
    payload = {"name": "prod-eu-1", "poll_interval_minutes": "15", "action": "register"}
    payload.update(data)
    return client.post(URL, payload)


def test_login_required(anon):
    response = anon.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_shows_the_reader_manifest(as_alice):
    page = as_alice.get(URL).content.decode()
    assert "kind: ClusterRole" in page
    assert "posture-reader" in page


def test_paste_registers_with_the_user_as_owner(as_alice, alice):
    response = post(as_alice, kubeconfig=kubeconfigs.text(kubeconfigs.kubeconfig()))
    cluster = Cluster.objects.get(name="prod-eu-1")
    assert response.status_code == 302
    assert response.url == cluster.get_absolute_url()
    assert list(cluster.owners.all()) == [alice]
    assert cluster.poll_interval_minutes == 15


def test_upload_registers(as_alice):
    upload = io.BytesIO(kubeconfigs.text(kubeconfigs.kubeconfig()).encode())
    upload.name = "cluster.kubeconfig"
    response = post(as_alice, kubeconfig_file=upload)
    assert response.status_code == 302
    assert Cluster.objects.filter(name="prod-eu-1").exists()


@pytest.mark.threat('A pasted kubeconfig makes the worker run a command, read a file, skip TLS or send credentials in clear',
                     'Only inline credentials: exec, auth-provider, file paths, insecure-skip-tls-verify, proxy-url, http and link-local servers, YAML aliases and files over 1 MiB are refused with a specific message')
@pytest.mark.parametrize(("case", "text", "context", "message"), kubeconfigs.rejections(),
                         ids=[r[0] for r in kubeconfigs.rejections()])
def test_each_rejection_is_shown_on_the_form(as_alice, case, text, context, message):
    data = {"kubeconfig": text if isinstance(text, str) else text.decode()}
    if context:
        data["context"] = context
    response = post(as_alice, **data)
    assert response.status_code == 200
    page = response.content.decode()
    from django.utils.html import escape

    assert escape(message) in page
    assert "Traceback" not in page
    assert not Cluster.objects.exists()


@pytest.mark.threat('A kubeconfig is shown back in a page',
                     'Never rendered: between form steps it travels as a sealed token valid one hour')
def test_kubeconfig_is_never_echoed_back(as_alice):
    """A refused or half-finished form re-renders without the pasted token."""
    text = kubeconfigs.text(kubeconfigs.kubeconfig(contexts=("one", "two"), current=None))
    page = post(as_alice, kubeconfig=text).content.decode()
    assert "choose one of: one, two" in page
    assert kubeconfigs.TOKEN not in page
    assert 'name="draft"' in page


def test_context_picked_on_the_second_step_registers(as_alice):
    text = kubeconfigs.text(kubeconfigs.kubeconfig(contexts=("one", "two"), current=None))
    page = post(as_alice, kubeconfig=text)
    draft = page.context["form"].data["draft"]
    assert draft
    response = post(as_alice, draft=draft, context="two")
    assert response.status_code == 302
    assert Cluster.objects.get(name="prod-eu-1").context == "two"


def test_invalid_name_is_refused(as_alice):
    page = post(as_alice, name="Prod EU!", kubeconfig=kubeconfigs.text(kubeconfigs.kubeconfig()))
    assert "lower-case letters" in page.content.decode()
    assert not Cluster.objects.exists()


def test_missing_kubeconfig_is_refused(as_alice):
    page = post(as_alice)
    assert "Paste a kubeconfig or upload one." in page.content.decode()


SECRET_MARKER = "tok-do-not-echo-" + "9f3c"


def huge_kubeconfig(size: int) -> str:
    """A kubeconfig carrying a secret, padded with a comment to ``size`` bytes."""
    text = kubeconfigs.text(kubeconfigs.kubeconfig(token=SECRET_MARKER))
    return text + "# " + "x" * (size - len(text) - 3) + "\n"


@pytest.mark.parametrize("size", [3 * 1024 * 1024, 1536 * 1024])
def test_an_oversized_paste_shows_the_form_with_the_reason(as_alice, size):
    """3 MB is past what Django parses at all (DATA_UPLOAD_MAX_MEMORY_SIZE); 1.5 MB is past
    the kubeconfig limit only. Either way: the form again, the reason, no echo of the paste."""
    response = post(as_alice, kubeconfig=huge_kubeconfig(size))
    page = response.content.decode()
    assert response.status_code in (200, 413)
    assert "The kubeconfig is larger than 1 MiB" in page
    assert 'name="kubeconfig"' in page and 'name="name"' in page
    assert SECRET_MARKER not in page and "xxxxxxxx" not in page
    assert not Cluster.objects.exists()


def test_an_oversized_upload_is_refused_and_never_written_to_disk(as_alice, settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    upload = io.BytesIO(huge_kubeconfig(3 * 1024 * 1024).encode())
    upload.name = "cluster.kubeconfig"
    page = post(as_alice, kubeconfig_file=upload).content.decode()
    assert "The kubeconfig is larger than 1 MiB (3,145,728 bytes)" in page
    assert "prod-eu-1" in page  # the other fields are kept
    assert list(tmp_path.iterdir()) == []
    assert not Cluster.objects.exists()


def test_registration_still_needs_the_csrf_token(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(URL, {"name": "prod-eu-1", "poll_interval_minutes": "15",
                                 "kubeconfig": kubeconfigs.text(kubeconfigs.kubeconfig())})
    assert response.status_code == 403
    assert not Cluster.objects.exists()


def test_registering_queues_the_first_poll_once(as_alice):
    from posture.site.celery import app

    queue = app.conf.task_default_queue
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)
        response = post(as_alice, kubeconfig=kubeconfigs.text(kubeconfigs.kubeconfig()))
        queued = conn.default_channel.queue_purge(queue)
    cluster = Cluster.objects.get(name="prod-eu-1")
    assert response.status_code == 302 and queued == 1
    # Beat will not hand the same poll out again: the cluster's next poll is an interval away.
    from posture.domain.polling import claim_due_clusters

    assert claim_due_clusters() == []
    assert cluster.next_poll_at is not None


def test_a_new_clusters_page_follows_its_first_poll(as_alice, alice):
    """Without a finished poll the page says the first poll is queued, tells poll.js to follow
    it, and refreshes itself without JavaScript; once the poll is done, it does neither."""
    from posture.domain.models import Snapshot, SnapshotStatus

    post(as_alice, kubeconfig=kubeconfigs.text(kubeconfigs.kubeconfig()))
    cluster = Cluster.objects.get(name="prod-eu-1")
    page = as_alice.get(cluster.get_absolute_url()).content.decode()
    assert 'data-follow="first-poll"' in page and 'data-after="0"' in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert "First poll queued; waiting for a worker…" in page
    assert "Not scored yet: the first poll is queued" in page

    from django.utils import timezone

    running = Snapshot.objects.create(cluster=cluster, status=SnapshotStatus.RUNNING,
                                      taken_at=timezone.now())
    page = as_alice.get(cluster.get_absolute_url()).content.decode()
    assert 'data-follow="first-poll"' in page and 'data-after="0"' in page
    assert "Not scored yet: the first poll is running" in page
    assert 'http-equiv="refresh"' in page

    Snapshot.objects.filter(pk=running.pk).update(status=SnapshotStatus.FAILED, error="401")
    page = as_alice.get(cluster.get_absolute_url()).content.decode()
    assert "data-follow" not in page and 'http-equiv="refresh"' not in page
    assert "Not scored yet: no successful poll." in page
