from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from operations import health, metrics

urlpatterns = [
    # Operations: outside /v1, no token, no envelope; for load balancers and orchestrators.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.ReadinessView.as_view(), name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # A page of links, so "/" and the admin's "View site" lead somewhere.
    path("", TemplateView.as_view(template_name="landing.html"), name="landing"),
    path("admin/", admin.site.urls),
    path("v1/", include("execution.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"),
        name="redoc",
    ),
]

# Unmatched paths and crashes answer with the error envelope under /v1.
handler400 = "execution.api.views.bad_request"
handler404 = "execution.api.views.not_found"
handler500 = "execution.api.views.server_error"
