from __future__ import annotations

import functools
import logging
import os
import socket
from datetime import timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.tasks import async_task

from execution import exceptions
from execution.deferred_writes import DATABASE_UNAVAILABLE, write_later
from execution.envelope import build_envelope, public_envelope
from execution.logs import bind
from execution.models import FINISHED_STATUSES, Job, JobMode, JobStatus
from execution.services.job_statements import (
    job_insert,
    job_transition,
    job_transition_statement,
    job_write,
)
from execution.services.plugin_execution import PluginExecutionService
from execution.tool_runner import ExecutionOutcome, interruption_failure
from execution.validation import ExecutionRequest, ValidatedInput, storable_text, unstorable
from registry import services as registry_services
from registry.models import Outcome, PluginState

logger = logging.getLogger(__name__)

RUN_JOB_TASK = "execution.tasks.run_job"


@functools.cache
def queue_broker() -> Any:
    """One broker per process: django-q2 builds a new one (a new Redis connection) per call."""
    return get_broker()


def enqueue_job(job_id: Any) -> None:
    # save=False: the Job row is the record of the run; django-q2 still keeps failed tasks.
    async_task(RUN_JOB_TASK, str(job_id), broker=queue_broker(), save=False)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _failed_outcome(
    job: Job, failure: exceptions.ExecutionFailure, *, cause: BaseException | None = None
) -> ExecutionOutcome:
    """The outcome of a run that failed outside the ToolRunner."""
    envelope = build_envelope(failure, job_id=str(job.pk), plugin=job.plugin, cause=cause)
    return ExecutionOutcome(plugin=job.plugin, error=envelope)


def _not_recorded(job: Job) -> exceptions.ServiceUnavailable:
    return exceptions.ServiceUnavailable(
        "The database is unavailable; the job is recorded as soon as it is back.",
        job_id=str(job.pk),
        details={"job_id": str(job.pk)},
    )


def _new_job(*, request: ExecutionRequest, mode: JobMode, user: Any, status: JobStatus) -> Job:
    """An unsaved job for ``request``: what cannot be stored as given is stored cut or not at
    all, so a request with a garbage plugin name or options is still recorded as refused."""
    return Job(
        plugin=storable_text(request.plugin, limit=100),
        mode=mode,
        status=status,
        mime_type=storable_text(request.mime_type or "", limit=100),
        options=request.options
        if isinstance(request.options, dict) and not unstorable(request.options)
        else None,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )


def _failure_fields(envelope: dict[str, Any]) -> dict[str, Any]:
    """The columns a FAILED job stores from its envelope."""
    return {
        "status": JobStatus.FAILED,
        "error": public_envelope(envelope),
        "error_code": envelope["error"]["code"],
        "error_traceback": envelope.get("_internal", {}).get("traceback", ""),
        "finished_at": timezone.now(),
    }


class JobRecord:
    """A run's record on its job: the UPDATE that moves the job on from RUNNING (its result or
    its envelope), which the ToolRunner has the registry write with the run's count, then the
    same values on the instance. A job that is no longer RUNNING keeps its verdict (the sweep's)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.changes: dict[str, Any] = {}

    def __call__(self, outcome: ExecutionOutcome) -> registry_services.Precondition:
        # A run refused before validation knows nothing of the input; keep what submission saw.
        changes: dict[str, Any] = {
            "execution_time_ms": outcome.elapsed_ms or None,
            "image_size": outcome.image_size
            if outcome.image_size is not None
            else self.job.image_size,
            "image_sha256": outcome.image_sha256 or self.job.image_sha256,
        }
        if outcome.succeeded:
            # A job that succeeded no longer needs its stored image: run_job deletes it once
            # recorded (one recorded later leaves it to the sweep's purge).
            changes |= {
                "status": JobStatus.SUCCESS,
                "result": outcome.result,
                "finished_at": timezone.now(),
                "image": "",
            }
        else:
            changes |= _failure_fields(outcome.error or {})
        self.changes = changes
        return job_transition_statement(self.job.pk, from_status=JobStatus.RUNNING, **changes)

    def write(self, outcome: ExecutionOutcome) -> None:
        """Write the record now, on its own: an outcome that never reached the ToolRunner, so
        nothing is counted with it."""
        outcome.superseded = not job_write(self(outcome))
        outcome.recorded = True

    def written(self, *, moved: bool) -> None:
        """Show on the instance what the database holds now."""
        if not moved:
            self.job.refresh_from_db()
            return
        for name, value in self.changes.items():
            setattr(self.job, name, value)


class JobExecutionService:
    """Owns the Job rows: PENDING → RUNNING → SUCCESS | FAILED, or PENDING → CANCELLED.

    Every transition goes through ``job_transition``, an UPDATE conditional on the current status,
    so two processes can never both move the same job (a redelivered task, a cancel racing a
    worker, the sweep racing a late finish), and a finished job never moves again.
    """

    def __init__(self, *, plugins: PluginExecutionService | None = None) -> None:
        self.plugins = plugins or PluginExecutionService()

    def create_job(
        self,
        *,
        request: ExecutionRequest,
        mode: JobMode,
        user: Any = None,
        validated: ValidatedInput | None = None,
    ) -> Job:
        """A PENDING job; given the ``validated`` input, its image is stored for a worker."""
        job = _new_job(request=request, mode=mode, user=user, status=JobStatus.PENDING)
        if validated is not None:
            job.image_size, job.image_sha256 = validated.size, validated.sha256
            job.image.save(str(job.pk), ContentFile(validated.payload["image"]), save=False)
        if mode == JobMode.ASYNC:
            job.queued_at, job.enqueue_count = timezone.now(), 1
        job_insert(job)
        return job

    def run_sync(self, *, request: ExecutionRequest, user: Any = None) -> Job:
        """Run a job in this request. It is born RUNNING, claimed by the request that creates
        it: no other process could see it PENDING, so one statement fewer than a claim."""
        job = _new_job(request=request, mode=JobMode.SYNC, user=user, status=JobStatus.RUNNING)
        job.started_at, job.worker = job.created_at, _worker_name()
        job_insert(job)
        return self._run_claimed(job=job, request=request)

    def fail_job(self, *, job: Job, failure: exceptions.ExecutionFailure) -> Job:
        """Fail a job that never ran: refused at the door, or its queue was lost."""
        envelope = build_envelope(failure, job_id=str(job.pk), plugin=job.plugin)
        job_transition(job.pk, from_status=JobStatus.PENDING, **_failure_fields(envelope))
        job.refresh_from_db()
        return job

    def run_job(self, *, job: Job, request: ExecutionRequest) -> Job:
        """Claim a PENDING job (a queued one, on a worker), then run and record it."""
        started_at = timezone.now()
        try:
            claimed = job_transition(
                job.pk,
                from_status=JobStatus.PENDING,
                status=JobStatus.RUNNING,
                started_at=started_at,
                worker=_worker_name(),
            )
        except DATABASE_UNAVAILABLE as error:
            raise _not_recorded(job) from error
        if not claimed:
            raise exceptions.JobStateConflict(
                "The job is no longer PENDING.", job_id=str(job.pk), details={"job_id": str(job.pk)}
            )
        job.status, job.started_at = JobStatus.RUNNING, started_at
        return self._run_claimed(job=job, request=request)

    def _run_claimed(self, *, job: Job, request: ExecutionRequest) -> Job:
        """Run a RUNNING job and record it. The record and the run's count are written together
        (the ToolRunner's ``finally`` hands the job's UPDATE to the registry, which writes it
        first, in the count's transaction), so a run is counted once whatever ends it; when the
        database is away at that moment the record waits for it (``execution.deferred_writes``)
        and the caller gets 503 with the job id."""
        started_at = job.started_at or timezone.now()
        record = JobRecord(job)
        with bind(job_id=job.pk, plugin=job.plugin, mode=job.mode):
            image = job.image.name
            try:
                outcome = self.plugins.execute(request=request, job_id=str(job.pk), record=record)
            except exceptions.ExecutionFailure as failure:
                # Refused before the ToolRunner (unknown or unavailable plugin).
                outcome = self._finish(record, _failed_outcome(job, failure))
            except DATABASE_UNAVAILABLE as error:
                # The registry's gate could not read its row: nothing ran.
                unavailable = exceptions.ServiceUnavailable()
                outcome = self._finish(record, _failed_outcome(job, unavailable, cause=error))
            except Exception as error:
                logger.exception("Job %s failed outside the ToolRunner", job.pk)
                internal = exceptions.InternalError()
                outcome = self._finish(record, _failed_outcome(job, internal, cause=error))
            except BaseException as stop:
                # django-q2's time limit or a shutdown stopped this process. Inside the ToolRunner
                # the job is recorded already (and this changes nothing); before it, record why now,
                # not minutes later as a lost worker. Then let the stop go on.
                stopped = _failed_outcome(job, interruption_failure(stop), cause=stop)
                stopped.elapsed_ms = (timezone.now() - started_at).total_seconds() * 1000
                self._finish(record, stopped)
                raise
        if not outcome.recorded:
            raise _not_recorded(job)
        record.written(moved=not outcome.superseded)
        if job.status == JobStatus.SUCCESS and image:
            job.image.storage.delete(image)
        return job

    def _finish(self, record: JobRecord, outcome: ExecutionOutcome) -> ExecutionOutcome:
        """Record an outcome that never reached the ToolRunner (so nothing is counted)."""
        try:
            record.write(outcome)
        except DATABASE_UNAVAILABLE:
            outcome.recorded = False
            write_later(functools.partial(record.write, outcome), what=f"the job {record.job.pk}")
        return outcome

    def cancel_job(self, *, job: Job) -> Job:
        image = job.image.name
        cancelled = job_transition(
            job.pk,
            from_status=JobStatus.PENDING,
            status=JobStatus.CANCELLED,
            finished_at=timezone.now(),
            image="",
        )
        job.refresh_from_db()
        if not cancelled:
            # Only a PENDING job can be cancelled; say what it is instead.
            failure_class = (
                exceptions.JobAlreadyFinished
                if job.status in FINISHED_STATUSES
                else exceptions.JobStateConflict
            )
            raise failure_class(
                f"The job is {job.status} and can no longer be cancelled.",
                job_id=str(job.pk),
                details={"job_id": str(job.pk), "status": job.status},
            )
        if image:
            job.image.storage.delete(image)
        return job

    def fail_lost_jobs(self, *, older_than: timedelta) -> list[str]:
        """Jobs RUNNING for longer than any run may last lost their worker, and so did sync jobs
        still PENDING (sync jobs are born RUNNING now; older releases created them PENDING, and
        a process that died before claiming one left it so): fail them."""
        cutoff = timezone.now() - older_than
        lost_running = Job.objects.filter(status=JobStatus.RUNNING).filter(
            Q(started_at__lt=cutoff) | Q(started_at__isnull=True)
        )
        lost_pending = Job.objects.filter(
            status=JobStatus.PENDING, mode=JobMode.SYNC, created_at__lt=cutoff
        )
        failed = []
        for job in [*lost_running, *lost_pending]:
            failure = exceptions.WorkerLost(
                details={"running_for_more_than_seconds": int(older_than.total_seconds())}
            )
            envelope = build_envelope(failure, job_id=str(job.pk), plugin=job.plugin)
            envelope["_internal"] = {"traceback": f"No result from worker {job.worker or '?'}."}
            with transaction.atomic():
                # The job's verdict and its count in one transaction: a run is counted once.
                if not job_transition(job.pk, from_status=job.status, **_failure_fields(envelope)):
                    continue
                if job.started_at is not None:
                    # The run's finally never ran: count it here, once, as the ToolRunner would.
                    elapsed = (timezone.now() - job.started_at).total_seconds() * 1000
                    registry_services.update_execution_metrics(
                        plugin_name=job.plugin,
                        outcome=Outcome.PLUGIN_FAULT,
                        elapsed_ms=elapsed,
                        state=PluginState.FAILED,
                        reason="last execution failed: WORKER_LOST",
                        error_code=failure.code,
                    )
            failed.append(str(job.pk))
            logger.warning("Job %s lost its worker %s", job.pk, job.worker or "(none)")
        return failed

    def requeue_lost_tasks(self, *, older_than: timedelta, max_enqueues: int) -> dict[str, list]:
        """Async jobs still PENDING long after they were queued: their task was lost (a broker
        restarted without persistence). Queue them again; a job queued ``max_enqueues`` times
        fails with QUEUE_LOST. A task delivered twice is harmless: the claim runs a job once."""
        cutoff = timezone.now() - older_than
        stale = Job.objects.filter(
            status=JobStatus.PENDING, mode=JobMode.ASYNC, queued_at__lt=cutoff
        )
        report: dict[str, list] = {"requeued": [], "queue_lost": []}
        for job in stale:
            if job.enqueue_count >= max_enqueues:
                self.fail_job(job=job, failure=exceptions.QueueLost())
                report["queue_lost"].append(str(job.pk))
                continue
            moved = Job.objects.filter(
                pk=job.pk, status=JobStatus.PENDING, enqueue_count=job.enqueue_count
            ).update(queued_at=timezone.now(), enqueue_count=F("enqueue_count") + 1)
            if moved:
                enqueue_job(job.pk)
                report["requeued"].append(str(job.pk))
        return report

    def purge_expired_images(self, *, failed_older_than: timedelta) -> int:
        """Remove stored images no job needs any more: failed jobs past retention, and finished
        jobs whose file outlived them (a worker died between finishing and deleting)."""
        cutoff = timezone.now() - failed_older_than
        stale = (
            Job.objects.finished()
            .exclude(image="")
            .exclude(status=JobStatus.FAILED, finished_at__gte=cutoff)
        )
        purged = 0
        for job in stale:
            self._delete_image(job)
            purged += 1
        return purged

    def _delete_image(self, job: Job) -> None:
        if job.image:
            job.image.delete(save=False)
            Job.objects.filter(pk=job.pk).update(image="")
