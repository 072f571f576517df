// Command demoapp is the small web application blueshift's tests, demo and
// benchmarks deploy. It stands in for the seed's Django app: it has the same
// endpoints the seed's health checks and smoke tests call, says in every
// response which version and colour answered, and can be told through its
// environment to fail in the ways a real release fails.
//
// Usage:
//
//	demoapp [serve]      serve HTTP on $PORT (default 8000)
//	demoapp migrate      "migrate": write a marker file into $MEDIA_DIR
//	demoapp break [PATH] make the running server answer 500 on PATH (all paths
//	                     when none) from now on: a release breaking after the switch
//	demoapp healthcheck  GET http://127.0.0.1:$PORT/api/health/, exit 0 or 1
//	                     (the image's HEALTHCHECK: a scratch image has no curl)
//
// Endpoints:
//
//	GET /                        HTML page naming version and colour
//	GET /api/health/             200 {"status":"ok",...}
//	GET /api/system/readiness/   200 {"ready":true,...}
//	GET /api/v1/auth/status/     200 {"authenticated":<Authorization header present>}
//	GET /admin/                  302 to /admin/login/
//	GET /api/version             200 {"version":...,"colour":...}
//	GET /api/slow/?ms=N          answers after N ms (at most 30000)
//	GET|PUT /media/<name>        read or write a file in $MEDIA_DIR
//
// Every response carries X-Blueshift-Colour ($BLUESHIFT_COLOUR) and
// X-App-Version ($APP_VERSION).
//
// Environment:
//
//	PORT=8000             port to listen on (all interfaces)
//	APP_VERSION=dev       version reported
//	BLUESHIFT_COLOUR=     colour reported
//	MEDIA_DIR=/media      directory behind /media/ and the migrate marker
//	FAIL_HEALTH=1         /api/health/ answers 500
//	FAIL_AFTER=10s        every endpoint answers 500 once this long has passed since start
//	START_DELAY=5s        listen only after this delay
//	FAIL_MIGRATE=1        `migrate` exits 1
//	FAIL_ENDPOINT=/admin/ that path answers 500
//
// On SIGTERM or SIGINT it stops accepting connections and finishes the
// requests in flight (for up to 25 seconds) before exiting.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
