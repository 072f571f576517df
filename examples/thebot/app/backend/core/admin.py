from django.contrib import admin

from .models import TaskRun

admin.site.register(TaskRun)
