"""Idempotency-Key: a retried POST gets the first response back and creates nothing new.

A key is claimed by inserting its row (the unique constraint decides between racing requests),
completed with the response, or released when the request produced nothing worth replaying.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from execution import exceptions
from execution.conf import execution_settings
from execution.models import IdempotencyRecord


@dataclass(frozen=True)
class IdempotencyClaim:
    """Either a fresh record to complete, or the stored response to replay."""

    record: IdempotencyRecord
    replay: bool


def idempotency_claim(*, user: Any, key: str, fingerprint: str) -> IdempotencyClaim:
    _expire(user=user, key=key)
    for _ in range(2):  # the holder may release its claim between our insert and our read
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user, key=key, fingerprint=fingerprint
                )
            return IdempotencyClaim(record=record, replay=False)
        except IntegrityError:
            found = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if found is not None:
            record = found
            break
    else:
        raise exceptions.IdempotentRequestInProgress(details={"idempotency_key": key})
    if record.fingerprint != fingerprint:
        raise exceptions.IdempotencyKeyReused(details={"idempotency_key": key})
    if record.response_status is None:
        raise exceptions.IdempotentRequestInProgress(details={"idempotency_key": key})
    return IdempotencyClaim(record=record, replay=True)


def idempotency_complete(
    *, record: IdempotencyRecord, status: int, body: Any, headers: dict[str, str]
) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        response_status=status, response_body=body, response_headers=headers
    )


def idempotency_release(*, record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, response_status__isnull=True).delete()


def _expire(*, user: Any, key: str) -> None:
    """Forget a key past its lifetime, and an in-progress claim whose request must have died
    (it outlived any run): the client may use the key again."""
    now = timezone.now()
    expired = IdempotencyRecord.objects.filter(user=user, key=key)
    stale_claim = expired.filter(
        response_status__isnull=True,
        created_at__lt=now - timedelta(seconds=execution_settings.LOST_JOB_AFTER_SECONDS),
    )
    (stale_claim | expired.filter(created_at__lt=_forgotten_before())).delete()


def idempotency_purge_expired() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=_forgotten_before()).delete()
    return deleted


def _forgotten_before() -> datetime:
    """Keys first seen before this moment are past their lifetime."""
    return timezone.now() - timedelta(hours=execution_settings.IDEMPOTENCY_KEY_TTL_HOURS)
