"""The app's own tests (the seed's Phase 3): they need a PostgreSQL and a
Redis, given by DATABASE_URL and REDIS_URL. Run: python3 manage.py test."""
from django.test import TestCase

from .models import TaskRun
from .tasks import heartbeat


class EndpointTests(TestCase):
    def test_health_ok(self):
        r = self.client.get("/api/health/")
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(r.json()["status"], "ok")

    def test_auth_status_anonymous_is_401(self):
        self.assertEqual(self.client.get("/api/v1/auth/status/").status_code, 401)

    def test_admin_redirects_to_login(self):
        r = self.client.get("/admin/")
        self.assertEqual(r.status_code, 302)
        self.assertIn("/admin/login/", r["Location"])

    def test_readiness(self):
        self.assertEqual(self.client.get("/api/system/readiness/").status_code, 200)


class TaskTests(TestCase):
    def test_heartbeat_writes_a_row(self):
        heartbeat()
        self.assertEqual(TaskRun.objects.filter(kind="beat").count(), 1)
