// Command testserver is the tiny program inside the scratch images that
// deploy/container's tests build and run.
//
//	testserver serve            serve HTTP on $PORT (default 8080): / answers $MESSAGE, /healthz 200
//	testserver health           exit 0 if http://127.0.0.1:$PORT/healthz answers 200, else 1
//	testserver unhealthy        always exit 1 (a healthcheck that fails)
//	testserver echo OUT ERR N   print OUT to stdout, ERR to stderr, exit N
//	testserver env NAME         print the value of $NAME
//	testserver cat PATH         print the file at PATH
//	testserver log N            print N numbered lines to stdout, then serve
//	testserver get URL          print the body of URL; exit 1 unless it answers 200
//
// The server also answers /hostname with the container's hostname.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		serve()
		return
	}
	switch os.Args[1] {
	case "serve":
		serve()
	case "health":
		c := http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get("http://127.0.0.1:" + port() + "/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			os.Exit(1)
		}
	case "unhealthy":
		fmt.Fprintln(os.Stderr, "unhealthy on purpose")
		os.Exit(1)
	case "echo":
		if len(os.Args) != 5 {
			os.Exit(2)
		}
		fmt.Fprint(os.Stdout, os.Args[2])
		fmt.Fprint(os.Stderr, os.Args[3])
		code, _ := strconv.Atoi(os.Args[4])
		os.Exit(code)
	case "env":
		fmt.Print(os.Getenv(os.Args[2]))
	case "cat":
		f, err := os.Open(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		io.Copy(os.Stdout, f)
	case "get":
		c := http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		io.Copy(os.Stdout, resp.Body)
		if resp.StatusCode != http.StatusOK {
			os.Exit(1)
		}
	case "log":
		n, _ := strconv.Atoi(os.Args[2])
		for i := 1; i <= n; i++ {
			fmt.Printf("line %d\n", i)
		}
		serve()
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

func port() string {
	if p := os.Getenv("PORT"); p != "" {
		return p
	}
	return "8080"
}

func serve() {
	// As PID 1 in a container, SIGTERM is ignored unless handled: exit at
	// once so `docker stop` and `compose down` need not wait 10 seconds.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; os.Exit(0) }()
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/hostname", func(w http.ResponseWriter, r *http.Request) {
		h, _ := os.Hostname()
		fmt.Fprint(w, h)
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, os.Getenv("MESSAGE")) })
	if err := http.ListenAndServe(":"+port(), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
