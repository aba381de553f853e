from django.urls import path

from runs.api import views

urlpatterns = [
    path("threads/<str:thread_id>/runs", views.thread_runs),
    path("threads/<str:thread_id>/runs/wait", views.thread_run_wait),
    path("threads/<str:thread_id>/runs/<str:run_id>", views.RunDetailView.as_view()),
    path("threads/<str:thread_id>/runs/<str:run_id>/join", views.run_join),
    path("threads/<str:thread_id>/runs/<str:run_id>/cancel", views.run_cancel),
    path("runs", views.stateless_runs),
    path("runs/wait", views.stateless_run_wait),
    path("runs/batch", views.RunBatchView.as_view()),
    path("runs/cancel", views.RunCancelManyView.as_view()),
]
