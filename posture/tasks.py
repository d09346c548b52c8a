"""Celery tasks of the posture domain: thin wrappers around plain functions."""

from __future__ import annotations

from posture.celery import app


@app.task
def send_weekly_digests() -> int:
    from posture.digest import send_weekly

    return send_weekly()
