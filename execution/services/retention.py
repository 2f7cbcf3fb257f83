"""Retention of finished jobs: the sweep deletes rows past their age, a small batch at a time.

Each batch is its own short transaction found through the (status, finished_at) index, so
the table is never locked for long and web requests writing jobs interleave with the purge.
A sweep deletes at most ``max_rows``; whatever is left goes on the next run.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from execution.models import Job, JobStatus

BATCH_SIZE = 500
MAX_ROWS_PER_SWEEP = 20_000


def jobs_delete_expired(
    *,
    succeeded_older_than: timedelta | None,
    failed_older_than: timedelta | None,
    batch_size: int = BATCH_SIZE,
    max_rows: int = MAX_ROWS_PER_SWEEP,
) -> int:
    """Delete SUCCESS and CANCELLED jobs finished longer than ``succeeded_older_than`` ago and
    FAILED ones past ``failed_older_than`` (None keeps them for ever), with any image they still
    hold. Re-runs of a deleted job stay, with their ``rerun_of`` emptied. Returns the count."""
    now = timezone.now()
    groups = [
        ([JobStatus.SUCCESS, JobStatus.CANCELLED], succeeded_older_than),
        ([JobStatus.FAILED], failed_older_than),
    ]
    deleted = 0
    for statuses, age in groups:
        if age is None:
            continue
        expired = Job.objects.filter(status__in=statuses, finished_at__lt=now - age).order_by()
        while deleted < max_rows:
            batch = list(expired.values_list("pk", "image")[: min(batch_size, max_rows - deleted)])
            if not batch:
                break
            with transaction.atomic():
                Job.objects.filter(pk__in=[pk for pk, _ in batch]).delete()
            storage = Job._meta.get_field("image").storage
            for _, image in batch:
                if image:
                    storage.delete(image)
            deleted += len(batch)
    return deleted
