from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from agentplatform import system

handler400 = "agentplatform.api_errors.handler400"
handler403 = "agentplatform.api_errors.handler403"
handler404 = "agentplatform.api_errors.handler404"
handler500 = "agentplatform.api_errors.handler500"

urlpatterns = [
    path("", system.ok),
    path("ok", system.ok),
    path("info", system.info),
    path("metrics", system.metrics),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="schema"),  # JSON whatever the Accept header
    path("docs", SpectacularSwaggerView.as_view(url_name="schema")),
    path("", include("assistants.urls")),
    path("", include("threads.urls")),
    path("", include("runs.stream_urls")),
    path("", include("crons.urls")),  # before runs.urls: see crons/urls.py
    path("", include("runs.urls")),
    path("", include("store.urls")),
]
if settings.ADMIN_ENABLED:
    urlpatterns.insert(4, path(f"{settings.ADMIN_PATH}/", admin.site.urls))
