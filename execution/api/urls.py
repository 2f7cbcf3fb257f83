from django.urls import path, re_path

from execution.api import views

urlpatterns = [
    path("analyze-execution", views.AnalyzeExecutionView.as_view(), name="analyze-execution"),
    path(
        "analyze-execution/async",
        views.AnalyzeExecutionAsyncView.as_view(),
        name="analyze-execution-async",
    ),
    path("analyze-execution/jobs", views.JobListView.as_view(), name="job-list"),
    path("analyze-execution/jobs/<str:job_id>", views.JobDetailView.as_view(), name="job-detail"),
    path(
        "analyze-execution/jobs/<str:job_id>/result",
        views.JobResultView.as_view(),
        name="job-result",
    ),
    path("plugins", views.PluginListView.as_view(), name="plugin-list"),
    path("plugins/<str:name>", views.PluginDetailView.as_view(), name="plugin-detail"),
    # Last: any other /v1 path gets the envelope, even with DEBUG on (whose 404 page is HTML).
    re_path(r"^.*$", views.not_found),
]
