from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/", include("execution.api.urls")),
]

# Unmatched paths and crashes outside DRF answer with the error envelope too.
handler404 = "execution.api.views.not_found"
handler500 = "execution.api.views.server_error"
