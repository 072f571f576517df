package host

import (
	"strings"
	"testing"
)

func TestFileArgv(t *testing.T) {
	cases := map[string]struct {
		got  []string
		want string
	}{
		"write": {writeFileArgv("/srv/app/state.json", WriteOptions{Mode: 0o600}),
			"sh -c " + writeFileScript + " sh /srv/app state.json 0600  "},
		"write in new dir, if unchanged": {writeFileArgv("/srv/app/state.json", WriteOptions{Mode: 0o640, DirMode: 0o700, IfSHA256: "ab12"}),
			"sh -c " + writeFileScript + " sh /srv/app state.json 0640 0700 ab12"},
		"read":      {readArgv("/a/-x"), "sh -c " + readScript + " sh /a/-x"},
		"exists":    {existsArgv("/a"), "test -e /a"},
		"remove":    {removeArgv("/a"), "rm -f -- /a"},
		"removeAll": {removeAllArgv("/a"), "rm -rf -- /a"},
		"mkdir":     {mkdirArgv("/a/b", 0o750), "mkdir -p -m 0750 -- /a/b"},
		"df":        {freeDiskArgv("/srv"), "df -P -k -- /srv"},
		"meminfo":   {memoryArgv(), "cat /proc/meminfo"},
	}
	for name, tc := range cases {
		if got := strings.Join(tc.got, " "); got != tc.want {
			t.Errorf("%s: %s, want %s", name, got, tc.want)
		}
	}
}

func TestParseDF(t *testing.T) {
	cases := map[string]uint64{
		"Filesystem     1024-blocks      Used Available Capacity Mounted on\n/dev/sda1        102400000  50000000  52400000      49% /\n": 52400000 * 1024,
		// Names with spaces and a line wrapped by an old df.
		"Filesystem 1024-blocks Used Available Capacity Mounted on\nmy share 100 40 60 40% /mnt/my share\n":          60 * 1024,
		"Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/mapper/very-long-name\n  100 40 60 40% /\n": 60 * 1024,
	}
	for out, want := range cases {
		got, err := parseDF([]byte(out))
		if err != nil || got != want {
			t.Errorf("parseDF(%q) = %d, %v; want %d", out, got, err, want)
		}
	}
	for _, bad := range []string{"", "Filesystem\n", "Filesystem 1 2 3\nx y z\n"} {
		if _, err := parseDF([]byte(bad)); err == nil {
			t.Errorf("parseDF(%q) succeeded", bad)
		}
	}
}

func TestParseMeminfo(t *testing.T) {
	m, err := parseMeminfo([]byte("MemTotal:        8000000 kB\nMemFree:          1000000 kB\nMemAvailable:    5000000 kB\nBuffers: 1 kB\n"))
	if err != nil || m.Total != 8000000*1024 || m.Available != 5000000*1024 {
		t.Errorf("got %+v, %v", m, err)
	}
	// Kernels before 3.14: free + buffers + cached.
	m, err = parseMeminfo([]byte("MemTotal: 100 kB\nMemFree: 10 kB\nBuffers: 5 kB\nCached: 20 kB\n"))
	if err != nil || m.Available != 35*1024 {
		t.Errorf("old kernel: got %+v, %v", m, err)
	}
	if _, err := parseMeminfo([]byte("nothing")); err == nil {
		t.Error("no MemTotal accepted")
	}
}
