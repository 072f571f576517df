"""The seed's API endpoints, small but real: each one touches what it
claims to check."""
import os
import secrets

import redis
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .models import TaskRun
from .tasks import ping


def _redis():
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def _check_database():
    with connection.cursor() as c:
        c.execute("SELECT 1")
        c.fetchone()


@require_GET
def health(request):
    """200 {"status": "ok"} when the database answers SELECT 1 and Redis
    answers PING; 503 naming what failed otherwise."""
    checks, ok = {}, True
    for name, check in (("database", _check_database), ("redis", lambda: _redis().ping())):
        try:
            check()
            checks[name] = "ok"
        except Exception as e:  # noqa: BLE001 - a health check reports every failure
            checks[name] = "error: %s" % type(e).__name__
            ok = False
    body = {"status": "ok" if ok else "error", "version": settings.APP_VERSION, **checks}
    return JsonResponse(body, status=200 if ok else 503)


@require_GET
def readiness(request):
    """200 when every migration this release knows is applied."""
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as e:  # noqa: BLE001
        return JsonResponse({"ready": False, "error": type(e).__name__}, status=503)
    if pending:
        return JsonResponse({"ready": False, "pending_migrations": len(pending)}, status=503)
    return JsonResponse({"ready": True, "version": settings.APP_VERSION})


@require_GET
def auth_status(request):
    """401 for an anonymous client, 200 with the user name otherwise."""
    if not request.user.is_authenticated:
        return JsonResponse({"authenticated": False}, status=401)
    return JsonResponse({"authenticated": True, "user": request.user.get_username()})


@require_GET
def version(request):
    return JsonResponse({"version": settings.APP_VERSION})


@csrf_exempt
@require_POST
def upload(request):
    """Stores the request body (or the multipart field "file") under
    MEDIA_ROOT/uploads/ and answers its /media/ URL."""
    name = os.path.basename(request.GET.get("name", "")) or secrets.token_hex(8) + ".bin"
    data = request.FILES["file"].read() if "file" in request.FILES else request.body
    directory = os.path.join(settings.MEDIA_ROOT, "uploads")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)
    return JsonResponse({"url": settings.MEDIA_URL + "uploads/" + name, "bytes": len(data)}, status=201)


@csrf_exempt
@require_POST
def enqueue(request):
    """Sends core.tasks.ping to the worker; GET /api/v1/tasks/<token>/ says
    whether it ran."""
    token = secrets.token_hex(8)
    ping.delay(token)
    return JsonResponse({"token": token}, status=202)


@require_GET
def task_status(request, token):
    run = TaskRun.objects.filter(kind="ping", token=token).first()
    if run is None:
        return JsonResponse({"done": False}, status=404)
    return JsonResponse({"done": True, "version": run.version, "worker": run.worker})
