"""The admin site of the dashboard: Django's own, with the operator's overview on its index."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse


class DashboardAdminSite(admin.AdminSite):
    site_header = "Execution governance"
    site_title = "Execution governance"
    index_title = "Overview"
    index_template = "admin/dashboard_index.html"
    # The app list is on the index and in the breadcrumbs; a sidebar on every page would take
    # the width the plugin list's figures need at 1400 px.
    enable_nav_sidebar = False

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        from execution.dashboard import dashboard_overview

        return super().index(request, {"overview": dashboard_overview(), **(extra_context or {})})


class DashboardAdminConfig(AdminConfig):
    """Django's admin app with this site class as ``admin.site`` (named in INSTALLED_APPS)."""

    default_site = "execution.admin_site.DashboardAdminSite"
