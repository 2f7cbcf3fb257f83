from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found as django_page_not_found
from django.views.defaults import server_error as django_server_error
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions as drf_exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from execution import exceptions, selectors
from execution.api.idempotency import idempotent
from execution.api.middleware import API_PREFIX, envelope_response
from execution.api.pagination import JobPagination
from execution.api.schema import (
    ACCEPTED_EXAMPLE,
    ANALYZE_REQUEST_EXAMPLE,
    IDEMPOTENCY_KEY,
    LOCATION,
    REPLAYED,
    RETRY_AFTER,
    SYNC_RESULT_EXAMPLE,
    error_responses,
)
from execution.api.serializers import (
    AcceptedJobSerializer,
    AnalyzeMultipartSerializer,
    AnalyzeRequestSerializer,
    JobFilterSerializer,
    JobPageSerializer,
    JobResultSerializer,
    JobSerializer,
    JobSummarySerializer,
    PluginSerializer,
    SyncResultSerializer,
)
from execution.api.throttling import FailedAuthenticationThrottle
from execution.models import Job, JobStatus
from execution.pagination import JOB_COUNT_LIMIT
from execution.services import AnalysisExecutionService, PluginExecutionService
from execution.validation import ExecutionRequest
from registry import selectors as registry_selectors


class ApiView(APIView):
    """Every /v1 view: counts each failed authentication against its address, and answers 429
    instead of 401 once the address is past its rate. Requests that authenticate are never
    refused for those failures."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
            throttle = FailedAuthenticationThrottle()
            if not throttle.allow_request(self.request, self):
                exc = drf_exceptions.Throttled(throttle.wait())
        return super().handle_exception(exc)


ANALYZE_REQUEST = {
    "application/json": AnalyzeRequestSerializer,
    "multipart/form-data": AnalyzeMultipartSerializer,
}


def _execution_request(request: Request) -> ExecutionRequest:
    serializer = AnalyzeRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.to_execution_request()


def _failed_job_response(job: Job) -> Response:
    """A job that failed answers with its stored envelope and the status of its code."""
    return Response(job.error, status=exceptions.status_for_code(job.error_code))


class AnalyzeExecutionView(ApiView):
    @extend_schema(
        operation_id="analyze_execution",
        summary="Run one plugin on one image now",
        description=(
            "Runs the plugin on the image through the whole governed path and answers with its "
            "result. The body is JSON with the image in base64, or `multipart/form-data` with the "
            "image as a file part. Every request of that shape (a `plugin` name, `options` that "
            "can be stored) becomes a job, failed ones included: a failure answers with the "
            "error envelope and its `job_id`. A body of another shape is refused with no job. "
            "Send an `Idempotency-Key` to make a retry safe."
        ),
        request=ANALYZE_REQUEST,
        parameters=[IDEMPOTENCY_KEY, REPLAYED, RETRY_AFTER],
        responses={200: SyncResultSerializer, **error_responses(400, 408, 409, 413, 415, 422)},
        examples=[ANALYZE_REQUEST_EXAMPLE, SYNC_RESULT_EXAMPLE],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        job = AnalysisExecutionService().execute(
            request=_execution_request(request), user=request.user
        )
        if job.status != JobStatus.SUCCESS:
            return _failed_job_response(job)
        return Response(SyncResultSerializer(job).data)


class AnalyzeExecutionAsyncView(ApiView):
    @extend_schema(
        operation_id="analyze_execution_async",
        summary="Accept a job for a worker",
        description="202 with the job's URL in `Location`; poll it, then read `/result`.",
        request=ANALYZE_REQUEST,
        parameters=[IDEMPOTENCY_KEY, LOCATION, REPLAYED, RETRY_AFTER],
        responses={
            202: OpenApiResponse(AcceptedJobSerializer, description="Accepted: see Location."),
            **error_responses(400, 408, 409, 413, 415, 422),
        },
        examples=[ANALYZE_REQUEST_EXAMPLE, ACCEPTED_EXAMPLE],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        job = AnalysisExecutionService().submit(
            request=_execution_request(request), user=request.user
        )
        if job.status == JobStatus.FAILED:
            return _failed_job_response(job)
        location = reverse("job-detail", kwargs={"job_id": str(job.pk)})
        return Response(
            AcceptedJobSerializer(job).data,
            status=202,
            headers={"Location": request.build_absolute_uri(location)},
        )


class JobListView(ApiView):
    @extend_schema(
        operation_id="jobs_list",
        summary="Jobs, newest first",
        description=(
            "Your jobs (staff see every job), newest first, 50 a page. Filter by `plugin` and by "
            "`status`, in any case (`success`, `FAILED`). Follow `next` to walk the whole list; "
            f"`count` stops at {JOB_COUNT_LIMIT:,} (`count_exact` false), and page numbers reach "
            "that far."
        ),
        parameters=[
            JobFilterSerializer,
            OpenApiParameter(
                "page",
                OpenApiTypes.INT,
                description=(
                    "Page number, from 1, within the first "
                    f"{JOB_COUNT_LIMIT:,} jobs. A page past the end answers 404; past "
                    "that depth, 400 `PAGE_TOO_DEEP`: follow `next` instead."
                ),
            ),
            OpenApiParameter(
                "cursor",
                OpenApiTypes.STR,
                description=(
                    "Where a page starts, as the `next` and `previous` links give it: opaque, "
                    "not to be built. Not with `page`. An invalid cursor answers 404."
                ),
            ),
        ],
        responses={200: JobPageSerializer, **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        filters = JobFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        jobs = selectors.job_list(user=request.user, **filters.validated_data)
        paginator = JobPagination()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(JobSummarySerializer(page, many=True).data)


def _job_or_404(request: Request, job_id: str) -> Job:
    job = selectors.job_get(job_id=job_id, user=request.user)
    if job is None:
        raise exceptions.JobNotFound(details={"job_id": job_id})
    return job


class JobDetailView(ApiView):
    @extend_schema(
        operation_id="jobs_retrieve",
        parameters=[RETRY_AFTER],
        summary="One job",
        description=(
            "One of your jobs: its status (PENDING, RUNNING, SUCCESS, FAILED, CANCELLED), input "
            "metadata, timings, and the error envelope if it failed. Another client's job answers "
            "404, as an unknown id does."
        ),
        responses={200: JobSerializer, **error_responses(404)},
    )
    def get(self, request: Request, job_id: str) -> Response:
        return Response(JobSerializer(_job_or_404(request, job_id)).data)

    @extend_schema(
        operation_id="jobs_cancel",
        parameters=[RETRY_AFTER],
        summary="Cancel a job that has not started",
        description="PENDING → CANCELLED. 409 once the job is running or finished.",
        responses={200: JobSerializer, **error_responses(404, 409)},
    )
    def delete(self, request: Request, job_id: str) -> Response:
        job = AnalysisExecutionService().cancel(job=_job_or_404(request, job_id))
        return Response(JobSerializer(job).data)


class JobResultView(ApiView):
    @extend_schema(
        operation_id="jobs_result",
        parameters=[RETRY_AFTER],
        summary="The result, or the error, of a finished job",
        description=(
            "The result, or the error envelope, of a job that is SUCCESS, FAILED or CANCELLED. "
            "While it is PENDING or RUNNING this answers 409 `JOB_NOT_FINISHED`: poll again later."
        ),
        responses={
            200: OpenApiResponse(JobResultSerializer, description="The job finished."),
            **error_responses(404, 409),
        },
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = _job_or_404(request, job_id)
        if not job.is_finished:
            raise exceptions.JobNotFinished(
                f"The job is {job.status}.",
                job_id=str(job.pk),
                details={"job_id": str(job.pk), "status": job.status},
            )
        return Response(JobResultSerializer(job).data)


class PluginListView(ApiView):
    @extend_schema(
        operation_id="plugins_list",
        parameters=[RETRY_AFTER],
        summary="Plugins with state, reason, schemas and metrics",
        description=(
            "Every plugin the registry knows: its state and the reason for it, its options and "
            "output schemas, and its metrics. An UNAVAILABLE plugin cannot be run; its reason says "
            "why."
        ),
        responses={200: PluginSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        return Response(PluginSerializer(registry_selectors.plugin_list(), many=True).data)


class PluginDetailView(ApiView):
    @extend_schema(
        operation_id="plugins_retrieve",
        parameters=[RETRY_AFTER],
        summary="One plugin",
        description="One plugin, as in the list. An unknown name answers 404 `PLUGIN_NOT_FOUND`.",
        responses={200: PluginSerializer, **error_responses(404)},
    )
    def get(self, request: Request, name: str) -> Response:
        plugin = registry_selectors.plugin_get(name=name)
        if plugin is None:
            raise PluginExecutionService().not_found(name=name, status_code=404)
        return Response(PluginSerializer(plugin).data)


def _in_api(request: HttpRequest) -> bool:
    """Under /v1, or /v1 itself: a client of the API gets the envelope."""
    return request.path.startswith(API_PREFIX) or request.path == API_PREFIX.rstrip("/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 for paths no view matches: the envelope under /v1, the usual page elsewhere."""
    if not _in_api(request):
        return django_page_not_found(request, exception or Http404())
    return envelope_response(
        exceptions.RequestRejected("No endpoint at this path.", code="NOT_FOUND", status_code=404)
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 (a bad Host header, a refused upload) outside any view."""
    if not _in_api(request):
        return django_bad_request(request, exception or Exception())
    return envelope_response(exceptions.RequestInvalid("The request was refused."))


def server_error(request: HttpRequest) -> HttpResponse:
    if not _in_api(request):
        return django_server_error(request)
    return envelope_response(exceptions.InternalError())
