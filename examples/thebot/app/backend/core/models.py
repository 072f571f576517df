from django.db import models


class TaskRun(models.Model):
    """A row a Celery task wrote: kind "beat" for the periodic heartbeat,
    "ping" for a task a client triggered (token names it)."""

    kind = models.CharField(max_length=16)
    token = models.CharField(max_length=64, blank=True, db_index=True)
    version = models.CharField(max_length=32)
    worker = models.CharField(max_length=128)
    created = models.DateTimeField(auto_now_add=True)
