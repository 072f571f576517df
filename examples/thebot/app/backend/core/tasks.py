"""Celery tasks: each writes one TaskRun row, naming the release and the
worker that ran it."""
import socket

from celery import shared_task
from django.conf import settings

from .models import TaskRun


@shared_task(name="core.tasks.heartbeat")
def heartbeat():
    TaskRun.objects.create(kind="beat", version=settings.APP_VERSION, worker=socket.gethostname())


@shared_task(name="core.tasks.ping")
def ping(token):
    TaskRun.objects.create(kind="ping", token=token, version=settings.APP_VERSION, worker=socket.gethostname())
