package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Request is one request the server received.
type Request struct {
	// Method and Path ("/api/repos/acme/shop/deployments"); Path carries
	// the query of a GET ("?environment=production&per_page=100").
	Method, Path string
	Header       http.Header
	Body         []byte
}

// Server implements the deployment endpoints under /api (the client's
// base URL is what Start returns): POST and GET .../deployments, POST
// .../deployments/{id}/statuses and POST .../statuses/{sha} (commit
// statuses). The zero value is ready; serve it with
// Handler or Start.
type Server struct {
	mu          sync.Mutex
	nextID      int64
	requests    []Request
	deployments []map[string]any // created, oldest first
	// Fail, when non-zero, is the status answered to every request, with
	// GitHub's "Bad credentials" body.
	Fail int
}

// TB is the part of testing.TB Start uses.
type TB interface {
	Cleanup(func())
}

// Start serves s on a loopback HTTP server closed when t ends and returns
// the API base URL to configure (".../api").
func (s *Server) Start(t TB) string {
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL + "/api"
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	// handle serves pattern: it records the request, answers s.Fail when
	// set, and otherwise calls fn with the JSON body decoded, under s.mu.
	handle := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, req map[string]any)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			defer s.mu.Unlock()
			var body json.RawMessage
			_ = json.NewDecoder(r.Body).Decode(&body)
			path := r.URL.Path
			if r.URL.RawQuery != "" {
				path += "?" + r.URL.RawQuery
			}
			s.requests = append(s.requests, Request{Method: r.Method, Path: path, Header: r.Header.Clone(), Body: body})
			if s.Fail != 0 {
				w.WriteHeader(s.Fail)
				fmt.Fprint(w, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`)
				return
			}
			var req map[string]any
			_ = json.Unmarshal(body, &req)
			w.Header().Set("Content-Type", "application/json")
			fn(w, r, req)
		})
	}
	handle("POST /api/repos/{owner}/{repo}/deployments", func(w http.ResponseWriter, r *http.Request, req map[string]any) {
		s.nextID++
		d := map[string]any{
			"url": "https://api.github.com/repos/o/r/deployments/" + fmt.Sprint(s.nextID), "id": s.nextID,
			"sha": req["ref"], "ref": req["ref"], "task": "deploy", "payload": req["payload"],
			"environment": req["environment"], "description": req["description"],
			"creator":    map[string]any{"login": "github-actions[bot]", "id": 41898282},
			"created_at": "2024-12-27T18:30:50Z", "updated_at": "2024-12-27T18:30:50Z",
		}
		s.deployments = append(s.deployments, d)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(d)
	})
	// GET lists the deployments to ?environment=, newest first, as GitHub does.
	handle("GET /api/repos/{owner}/{repo}/deployments", func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		list := []map[string]any{}
		for i := len(s.deployments) - 1; i >= 0; i-- {
			if env := r.URL.Query().Get("environment"); env == "" || s.deployments[i]["environment"] == env {
				list = append(list, s.deployments[i])
			}
		}
		json.NewEncoder(w).Encode(list)
	})
	handle("POST /api/repos/{owner}/{repo}/deployments/{id}/statuses", func(w http.ResponseWriter, r *http.Request, req map[string]any) {
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{
			"id": 100 + len(s.requests), "state": req["state"], "description": req["description"],
			"environment": req["environment"], "environment_url": req["environment_url"], "log_url": req["log_url"],
			"created_at": "2024-12-27T18:31:00Z",
		})
	})
	handle("POST /api/repos/{owner}/{repo}/statuses/{sha}", func(w http.ResponseWriter, r *http.Request, req map[string]any) {
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{
			"id": 200 + len(s.requests), "state": req["state"], "description": req["description"],
			"target_url": req["target_url"], "context": req["context"],
			"created_at": "2024-12-27T18:31:00Z", "updated_at": "2024-12-27T18:31:00Z",
		})
	})
	return mux
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Calls renders the requests received so far as one line each, the
// sequence a test pins: "METHOD path" relative to the repository
// ("/deployments/2/statuses"), then from a JSON body its state=,
// auto_inactive=, context= (commit statuses) or env=, and ref=
// ("POST /deployments/1/statuses state=success auto_inactive=true
// env=production").
func (s *Server) Calls() []string {
	var out []string
	for _, r := range s.Requests() {
		path := r.Path
		if _, rest, ok := strings.Cut(path, "/repos/"); ok { // past owner/name
			if parts := strings.SplitN(rest, "/", 3); len(parts) == 3 {
				path = "/" + parts[2]
			}
		}
		line := r.Method + " " + path
		var b map[string]any
		if json.Unmarshal(r.Body, &b) == nil {
			if v, ok := b["state"]; ok {
				line += fmt.Sprintf(" state=%v", v)
			}
			if v, ok := b["auto_inactive"]; ok {
				line += fmt.Sprintf(" auto_inactive=%v", v)
			}
			if v, ok := b["context"]; ok {
				line += fmt.Sprintf(" context=%v", v)
			} else {
				line += fmt.Sprintf(" env=%v", b["environment"])
			}
			if v, ok := b["ref"]; ok {
				line += fmt.Sprintf(" ref=%v", v)
			}
		}
		out = append(out, line)
	}
	return out
}
