"""Fork Celery workers from a process that has already imported Posture.

    python -m tests.reliability.zygote

Starting a worker costs seconds of imports; the crash test kills one every second. This
process imports Django, Posture and the Celery app once, then forks a fresh solo worker — its
own process, with its own broker and database connections — for every line read on stdin, and
prints the new worker's pid. Each worker is an ordinary ``celery worker --pool solo``.
"""

from __future__ import annotations

import os
import signal
import sys

WORKER_ARGS = ["worker", "--pool", "solo", "--loglevel", "CRITICAL", "--without-heartbeat",
               "--without-gossip", "--without-mingle"]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posture.site.settings")
    import django

    django.setup()
    import posture.domain.polling_tasks  # noqa: F401 — registers the tasks before any fork
    from posture.site.celery import app

    # Killed workers are reaped by the kernel; nobody waits for them here.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print("ready", flush=True)
    for _ in sys.stdin:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            # The worker's banner and logs must not mix with the pids written to stdout.
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            try:
                app.worker_main(WORKER_ARGS)
            finally:
                os._exit(0)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
