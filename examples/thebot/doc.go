// Package thebot is the seed's own application, built for real: a Django
// backend served by gunicorn, a Celery worker and beat, a static frontend
// served by nginx in its container, PostgreSQL 15 and Redis, behind an
// nginx on the host that routes / to the frontend and /api, /admin, /static
// and /media to the backend. It is the reference stack blueshift is proven
// against: an application that was not written to suit blueshift (it sends
// no colour header, its / is not the backend, its database user is
// POSTGRES_USER).
//
// Nothing here can be pulled from a public registry, so Build makes every
// image from Debian packages: mmdebstrap writes a root filesystem holding
// the packages (BasePackages), `docker import` turns it into the base image
// thebot-base:<hash12>, named by a hash of the mmdebstrap command line, so
// a second run finds it and skips the ~2 minutes the first one takes. The
// application images are ordinary `docker build`s FROM that base (the
// Django project and the site are embedded in this package, app/), tagged
// v1.0.0 and v1.0.1 (v1.0.1 adds an expand-style migration, a static file
// and a changed frontend) and pushed, like a CI job would, to a real
// registry: Debian's docker-registry on 127.0.0.1 with htpasswd
// authentication. One shared base rather than one per service: the
// packages of all four overlap (libc, Python for the PostgreSQL tooling,
// …), one mmdebstrap run is one download and one dpkg run, and the
// registry and the engine store its single layer once for every image.
//
// Up brings the whole stack up on the local Docker Engine the way the seed
// did, with plain `docker compose` on the compose file the seed writes
// (WriteFiles): shared services and one colour in the project <App>, the
// migrations and collectstatic run in the backend, and the host nginx
// started with the upstream file blueshift's nginx switcher manages
// (traffic.Nginx's format, colour blue). Down removes it all but the
// images. `go tool mage thebot` and `thebot:down` are thin wrappers, and
// the tests drive the same functions.
//
// Like every blueshift library the package writes nothing to the terminal:
// progress goes to Options.Progress.
package thebot
