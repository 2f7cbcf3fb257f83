"""The project's URLs plus the benchmark's bare endpoint: DRF with the same authentication,
throttle and parsers as /v1, which parses the body and answers 200, and nothing else."""

from typing import Any

from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

BARE_PATH = "v1/bench-bare"


class BareView(APIView):
    def post(self, request: Request) -> Response:
        return Response({"parsed": sorted(request.data)})


urlpatterns: list[Any] = [
    # Before the project's /v1 catch-all, under /v1 so the same middleware applies.
    path(BARE_PATH, BareView.as_view(), name="bench-bare"),
    path("", include("execution_project.urls")),
]
