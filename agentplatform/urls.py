from importlib import import_module

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from agentplatform import system
from agentplatform.http_options import HttpOptions, http_options
from agentplatform.langgraph_config import ConfigError

handler400 = "agentplatform.api_errors.handler400"
handler403 = "agentplatform.api_errors.handler403"
handler404 = "agentplatform.api_errors.handler404"
handler500 = "agentplatform.api_errors.handler500"

# The apps' URLconfs, by name (the wiring imports no app), in the order their routes are tried.
API_URLCONFS = (
    "assistants.urls",
    "threads.urls",
    "runs.api.stream_urls",
    "crons.urls",  # before runs.api.urls: see crons/urls.py
    "runs.api.urls",
    "store.urls",
    "protocols.urls",
)


def _options() -> HttpOptions:
    try:
        return http_options()
    except ConfigError:  # start-up refuses it, and manage.py check (which imports this) says why: agentplatform.E002
        return HttpOptions()


def _meta(options: HttpOptions) -> list:
    if "meta" in options.disabled:  # officially /ok still answers, without its database check
        return [path("ok", system.ok, {"disabled": True})]
    return [
        path("", system.ok),
        path("ok", system.ok),
        path("ready", system.ready),
        path("info", system.info),
        path("metrics", system.metrics),
        path("openapi.json", SpectacularJSONAPIView.as_view(), name="schema"),  # JSON whatever the Accept header
        path("docs", SpectacularSwaggerView.as_view(url_name="schema")),
    ]


def _api(urlconf: str, options: HttpOptions):
    """One app's routes, less those `http.disable_<group>` turns off: they answer 404 like any unknown path."""
    patterns = import_module(urlconf).urlpatterns
    return path("", include([p for p in patterns if options.serves(str(p.pattern))]))


def url_patterns(options: HttpOptions) -> list:
    admin_routes = [path(f"{settings.ADMIN_PATH}/", admin.site.urls)] if settings.ADMIN_ENABLED else []
    return [*_meta(options), *admin_routes, *(_api(urlconf, options) for urlconf in API_URLCONFS)]


urlpatterns = url_patterns(_options())
