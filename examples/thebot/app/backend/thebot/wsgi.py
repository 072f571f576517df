"""WSGI entry point for gunicorn: thebot.wsgi:application."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thebot.settings")
application = get_wsgi_application()
