from __future__ import annotations

import logging
import time
from typing import Any

from django_q.brokers import get_broker
from django_q.management.commands.qcluster import Command as DjangoQClusterCommand

logger = logging.getLogger("execution.worker")

# The first retry after 1 s, doubling up to 30 s between tries.
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0


def wait_for_broker() -> None:
    """Return once the broker answers, retrying with backoff meanwhile (it may be starting, or
    restarting): django-q2's cluster pings it once and exits if it does not answer."""
    delay = BACKOFF_FIRST
    broker = get_broker()
    while True:
        try:
            broker.ping()
        except Exception as error:  # each broker raises its own client's errors
            logger.warning("The task broker is unreachable (%s); retrying in %g s.", error, delay)
        else:
            return
        time.sleep(delay)
        delay = min(delay * 2, BACKOFF_MAX)


class Command(DjangoQClusterCommand):
    help = (
        "Start a django-q2 cluster once its broker answers, retrying with backoff meanwhile; "
        "start it again if the broker goes away before the cluster is up."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            wait_for_broker()
            try:
                super().handle(*args, **options)
            except RuntimeError as error:
                # "failed to start: sentinel exited": the broker went away between our ping
                # and the sentinel's own. Anything else is not ours to retry.
                if "failed to start" not in str(error):
                    raise
                logger.warning("The cluster did not start (%s); waiting for the broker.", error)
                continue
            return
