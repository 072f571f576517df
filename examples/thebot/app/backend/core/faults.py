"""Faults a release variant switches on with THEBOT_FAULT (see settings):
never active in a real release."""
import threading

from django.conf import settings
from django.http import HttpResponseServerError


class FailAfter:
    """THEBOT_FAULT=fail-after:N: this process answers 500 to every request
    after its first N, like a leak that exhausts a pool."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.limit = int(settings.FAULT.split(":", 1)[1])
        self.served = 0
        self.lock = threading.Lock()

    def __call__(self, request):
        with self.lock:
            self.served += 1
            served = self.served
        if served > self.limit:
            return HttpResponseServerError("fault: fail-after:%d (request %d)\n" % (self.limit, served))
        return self.get_response(request)
