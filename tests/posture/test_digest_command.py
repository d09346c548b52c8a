"""``manage.py send_digest``: preview with --dry-run, or send through the exactly-once path."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from posture.domain.models import DigestDelivery, DigestPreference
from tests.posture.test_digest import NOW, busy_week

pytestmark = pytest.mark.django_db
AT = ["--now", NOW.isoformat()]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The personas' passwords are hashed on creation; the production hasher takes a second.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def week(cluster_a, cluster_b):
    return busy_week(cluster_a, cluster_b)


def run(*args: str) -> str:
    out = StringIO()
    call_command("send_digest", *args, stdout=out)
    return out.getvalue()


def test_dry_run_prints_one_users_digest_and_sends_nothing(week, mailoutbox):
    out = run("--dry-run", "--user", "alice", *AT)
    assert out.startswith("To: alice@example.test\n"
                          "Subject: Posture weekly: 1 cluster, 1 new critical, 2 new high\n\n"
                          "POSTURE WEEKLY DIGEST\n")
    assert "* cluster-a: 81/100, grade B — +9 since last week (was 72, grade C)" in out
    assert "Deployment shop/payments" in out
    assert "bob-secret-app" not in out and "<html" not in out
    assert mailoutbox == []
    assert not DigestDelivery.objects.exists()


def test_dry_run_without_a_user_previews_every_recipient(week, mailoutbox):
    out = run("--dry-run", *AT)
    assert "To: alice@example.test" in out and "To: bob@example.test" in out
    assert mailoutbox == []
    assert not DigestDelivery.objects.exists()


def test_dry_run_says_when_the_user_would_not_receive_it(week, alice):
    DigestPreference.objects.create(user=alice, enabled=False)
    out = run("--dry-run", "--user", "alice", *AT)
    assert out.startswith("# alice would not receive it (digest off, no address, or inactive).")
    assert "Subject: Posture weekly" in out


def test_dry_run_for_someone_who_sees_nothing(db):
    from tests.factories import UserFactory

    UserFactory(username="carol")
    assert run("--dry-run", "--user", "carol", *AT) == "# carol: no clusters to report.\n"


def test_sending_to_one_user_goes_through_the_exactly_once_path(week, alice, mailoutbox):
    assert run("--user", "alice", *AT) == "1 digest(s) sent for the week of 2026-12-07.\n"
    assert run("--user", "alice", *AT) == "0 digest(s) sent for the week of 2026-12-07.\n"
    assert [m.to for m in mailoutbox] == [["alice@example.test"]]
    assert mailoutbox[0].alternatives[0].mimetype == "text/html"
    assert list(DigestDelivery.objects.values_list("user__username", "status")) == [
        ("alice", "sent")]


def test_sending_to_everyone(week, mailoutbox):
    assert run(*AT) == "2 digest(s) sent for the week of 2026-12-07.\n"
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.test", "bob@example.test"]


def test_a_time_without_offset_is_read_in_the_configured_zone(week, settings):
    settings.TIME_ZONE = "Pacific/Auckland"
    # Sunday 20:00 in Auckland is still the week of Monday 30 November there.
    assert run("--user", "alice", "--now", "2026-12-06T20:00").endswith(
        "week of 2026-11-30.\n")


@pytest.mark.parametrize(("args", "message"), [
    (["--user", "nobody"], "no user 'nobody'"),
    (["--now", "next monday"], "is not an ISO 8601 date and time"),
])
def test_bad_arguments_are_refused(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("--dry-run", *args)
