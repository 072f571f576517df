"""The Celery app: Redis is the broker; beat runs core.tasks.heartbeat every
BEAT_INTERVAL seconds. Debian's python3-celery has no `celery` executable:
run `python3 -m celery -A thebot worker` (or beat)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thebot.settings")

app = Celery("thebot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def setup_periodic_tasks(sender, **kwargs):
    from django.conf import settings

    sender.add_periodic_task(settings.BEAT_INTERVAL, sender.signature("core.tasks.heartbeat"), name="heartbeat")
