"""The admin site: Django's own, whose front page is the operator's dashboard above the usual list of models."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse


class ConsoleAdminSite(admin.AdminSite):
    site_header = "agentplatform"
    site_title = "agentplatform admin"
    index_title = "Operations"
    index_template = "admin/console/index.html"

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        from console.dashboard import dashboard_context  # the models are not ready when the site is created

        return super().index(request, {**dashboard_context(request.user), **(extra_context or {})})
