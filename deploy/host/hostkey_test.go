package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpandHome(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory") // nothing to expand against
	}
	cases := map[string]string{
		"~/.ssh/known_hosts": filepath.Join(home, ".ssh/known_hosts"),
		"~":                  home,
		"/etc/ssh/x":         "/etc/ssh/x",
		"~other/x":           "~other/x",
		"rel/~/x":            "rel/~/x",
	}
	for in, want := range cases {
		if got, err := expandHome(in); err != nil || got != want {
			t.Errorf("expandHome(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestAlgorithmsFor(t *testing.T) {
	cases := map[string]string{
		"ssh-ed25519":         "ssh-ed25519",
		"ecdsa-sha2-nistp256": "ecdsa-sha2-nistp256",
		"ssh-rsa":             "rsa-sha2-512 rsa-sha2-256",
	}
	for kt, want := range cases {
		if got := strings.Join(algorithmsFor(kt), " "); got != want {
			t.Errorf("algorithmsFor(%s) = %s, want %s", kt, got, want)
		}
	}
}
