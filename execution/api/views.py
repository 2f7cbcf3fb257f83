from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from execution import exceptions, selectors
from execution.api.serializers import (
    AcceptedJobSerializer,
    AnalyzeRequestSerializer,
    JobFilterSerializer,
    JobResultSerializer,
    JobSerializer,
    PluginSerializer,
    SyncResultSerializer,
)
from execution.envelope import build_envelope, public_envelope
from execution.models import Job, JobStatus
from execution.services import AnalysisExecutionService
from registry import selectors as registry_selectors


class AnalyzeExecutionView(APIView):
    """Run one plugin on one image now, through the whole governed path."""

    def post(self, request: Request) -> Response:
        serializer = AnalyzeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = AnalysisExecutionService().execute(
            request=serializer.to_execution_request(), user=request.user
        )
        if job.status != JobStatus.SUCCESS:
            return Response(job.error, status=exceptions.status_for_code(job.error_code))
        return Response(SyncResultSerializer(job).data)


class AnalyzeExecutionAsyncView(APIView):
    """Accept a job for a worker: 202 with the job's URL in Location."""

    def post(self, request: Request) -> Response:
        serializer = AnalyzeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = AnalysisExecutionService().submit(
            request=serializer.to_execution_request(), user=request.user
        )
        if job.status == JobStatus.FAILED:
            return Response(job.error, status=exceptions.status_for_code(job.error_code))
        location = reverse("job-detail", kwargs={"job_id": str(job.pk)})
        return Response(
            AcceptedJobSerializer(job).data,
            status=202,
            headers={"Location": request.build_absolute_uri(location)},
        )


class JobListView(APIView):
    def get(self, request: Request) -> Response:
        filters = JobFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        jobs = selectors.job_list(user=request.user, **filters.validated_data)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(JobSerializer(page, many=True).data)


def _job_or_404(request: Request, job_id: str) -> Job:
    job = selectors.job_get(job_id=job_id, user=request.user)
    if job is None:
        raise exceptions.JobNotFound(details={"job_id": job_id})
    return job


class JobDetailView(APIView):
    def get(self, request: Request, job_id: str) -> Response:
        return Response(JobSerializer(_job_or_404(request, job_id)).data)

    def delete(self, request: Request, job_id: str) -> Response:
        """Cancel a PENDING job; 409 when it is already running or finished."""
        job = AnalysisExecutionService().cancel(job=_job_or_404(request, job_id))
        return Response(JobSerializer(job).data)


class JobResultView(APIView):
    def get(self, request: Request, job_id: str) -> Response:
        job = _job_or_404(request, job_id)
        if not job.is_finished:
            raise exceptions.JobNotFinished(
                f"The job is {job.status}.", details={"job_id": str(job.pk), "status": job.status}
            )
        return Response(JobResultSerializer(job).data)


class PluginListView(APIView):
    def get(self, request: Request) -> Response:
        return Response(PluginSerializer(registry_selectors.plugin_list(), many=True).data)


class PluginDetailView(APIView):
    def get(self, request: Request, name: str) -> Response:
        plugin = registry_selectors.plugin_get(name=name)
        if plugin is None:
            raise exceptions.PluginNotFound(plugin=name, status_code=404)
        return Response(PluginSerializer(plugin).data)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's 404 for paths no view matches: the envelope, as for every other API error."""
    failure = exceptions.RequestRejected(
        "No endpoint at this path.", code="NOT_FOUND", status_code=404
    )
    return JsonResponse(public_envelope(build_envelope(failure)), status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(public_envelope(build_envelope(exceptions.InternalError())), status=500)
