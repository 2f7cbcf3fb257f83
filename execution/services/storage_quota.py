"""Bounds on the async images kept in MEDIA_ROOT, in all and per client.

An image is stored while its job waits to run and, once the job failed, for the failed-image
retention; a job that ran or was cancelled frees it. Both count here.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Sum

from execution import exceptions
from execution.conf import execution_settings
from execution.models import Job, JobStatus

# Jobs of these statuses may hold an image; the others have released theirs (status is indexed).
_HOLDING = [JobStatus.PENDING, JobStatus.RUNNING, JobStatus.FAILED]


def stored_image_bytes(*, user: Any = None) -> int:
    """Bytes of stored job images, of ``user``'s jobs if given."""
    jobs = Job.objects.filter(status__in=_HOLDING).exclude(image="")
    if user is not None:
        jobs = jobs.filter(created_by=user)
    return int(jobs.aggregate(total=Sum("image_size"))["total"] or 0)


def storage_quota_check(*, user: Any, size: int) -> None:
    """Refuse to store ``size`` more bytes for ``user`` past their quota or the total.

    Concurrent submissions may pass together and overshoot by one image each: a bound on what
    is kept, not an exact ledger.
    """
    if getattr(user, "is_authenticated", False):
        limit = execution_settings.MAX_STORED_IMAGE_BYTES_PER_CLIENT
        stored = stored_image_bytes(user=user)
        if stored + size > limit:
            raise exceptions.ImageQuotaExceeded(
                details={"stored_bytes": stored, "limit_bytes": limit, "size": size}
            )
    limit = execution_settings.MAX_STORED_IMAGE_BYTES
    stored = stored_image_bytes()
    if stored + size > limit:
        raise exceptions.ImageStorageFull(
            details={"stored_bytes": stored, "limit_bytes": limit, "size": size}
        )
