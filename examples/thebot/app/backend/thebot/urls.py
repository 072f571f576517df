"""URLs of the thebot backend. /static/ and /media/ are served by Django
itself (the public proxy routes them here); a bigger site would let its
proxy serve the volumes."""
from django.conf import settings
from django.contrib import admin
from django.urls import path, re_path
from django.views.static import serve

from core import views

urlpatterns = [
    path("api/health/", views.health),
    path("api/system/readiness/", views.readiness),
    path("api/v1/auth/status/", views.auth_status),
    path("api/v1/version/", views.version),
    path("api/v1/upload/", views.upload),
    path("api/v1/tasks/", views.enqueue),
    path("api/v1/tasks/<str:token>/", views.task_status),
    path("admin/", admin.site.urls),
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]
