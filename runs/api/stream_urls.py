"""Streaming routes; included before runs.api.urls so these paths win."""

from django.urls import path

from runs.api import stream_views, thread_stream_views

urlpatterns = [
    path("threads/<str:thread_id>/runs/stream", stream_views.create_run_stream),
    path("runs/stream", stream_views.create_run_stream),
    path("threads/<str:thread_id>/runs/<str:run_id>/stream", stream_views.join_run_stream),
    # Not an official route, but the Location of a stateless stream points here: let reconnects work.
    path("runs/<str:run_id>/stream", stream_views.join_run_stream),
    path("threads/<str:thread_id>/stream", stream_views.join_thread_stream),
    path("threads/<str:thread_id>/stream/events", thread_stream_views.thread_event_stream),
    path("threads/<str:thread_id>/commands", thread_stream_views.thread_command),
]
