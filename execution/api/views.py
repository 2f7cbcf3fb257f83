from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from execution import exceptions, selectors
from execution.api.serializers import (
    AnalyzeRequestSerializer,
    JobSerializer,
    PluginSerializer,
    SyncResultSerializer,
)
from execution.envelope import build_envelope, public_envelope
from execution.models import JobStatus
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


class JobDetailView(APIView):
    def get(self, request: Request, job_id: str) -> Response:
        job = selectors.job_get(job_id=job_id, user=request.user)
        if job is None:
            raise exceptions.JobNotFound(details={"job_id": job_id})
        return Response(JobSerializer(job).data)


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
