package host

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeyVerifier checks the server's host key against known_hosts or the
// pinned keys, and chooses the host key algorithms to offer so that the
// server presents a key of a type we know (x/crypto prefers ECDSA; a
// known_hosts holding only the ed25519 line would otherwise "mismatch").
type hostKeyVerifier struct {
	addr string // host:port as dialled

	// known_hosts mode
	file    string
	known   ssh.HostKeyCallback
	algos   []string // from the entries for addr; nil = library default
	missing bool     // the file does not exist

	// pinned mode
	pinKeys  []ssh.PublicKey
	pinFPs   []string
	excluded map[string]bool // key types already tried (fingerprint pins)

	// per handshake
	verified bool
	err      error // the rejection, returned instead of the handshake error
	retry    bool  // try again with fewer algorithms
	lastErr  error
}

// preferredHostKeyAlgos is the order tried when only fingerprints are
// pinned: the key type is unknown until the server shows one.
var preferredHostKeyAlgos = []string{
	ssh.KeyAlgoED25519,
	ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

// algorithmsFor is the host key algorithms that present a key of keyType.
func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	}
	return []string{keyType}
}

func newHostKeyVerifier(cfg SSHConfig, addr string) (*hostKeyVerifier, error) {
	v := &hostKeyVerifier{addr: addr, excluded: map[string]bool{}}
	if strings.TrimSpace(cfg.PinnedHostKey) != "" {
		for _, line := range strings.Split(cfg.PinnedHostKey, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if strings.HasPrefix(line, "SHA256:") {
				v.pinFPs = append(v.pinFPs, line)
				continue
			}
			k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				return nil, fmt.Errorf("pinned host key %q: want an authorized_keys line (\"ssh-ed25519 AAAA...\") or a fingerprint (\"SHA256:...\"): %w", abbreviate(line), err)
			}
			v.pinKeys = append(v.pinKeys, k)
		}
		return v, nil
	}

	v.file = cfg.KnownHostsFile
	if v.file == "" {
		v.file = "~/.ssh/known_hosts"
	}
	file, err := expandHome(v.file)
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w (set KnownHostsFile to an absolute path, or PinnedHostKey)", err)
	}
	v.file = file
	cb, err := knownhosts.New(v.file)
	switch {
	case err == nil:
		v.known = cb
	case errors.Is(err, fs.ErrNotExist):
		// No known_hosts yet: every host is unknown, and the error says
		// how to add it (which creates the file).
		v.missing = true
		v.known = func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }
	default:
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	v.algos = v.knownAlgorithms()
	return v, nil
}

// knownAlgorithms asks the known_hosts callback which keys it holds for
// addr by showing it a key it cannot know.
func (v *hostKeyVerifier) knownAlgorithms() []string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := v.known(v.addr, zeroTCPAddr, probe); !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	for _, k := range ke.Want {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	return algos
}

var zeroTCPAddr = &net.TCPAddr{IP: net.IPv4zero}

func (v *hostKeyVerifier) reset() { v.verified, v.err, v.retry = false, nil, false }

// algorithms is the HostKeyAlgorithms for the next handshake; nil means
// the library default.
func (v *hostKeyVerifier) algorithms() []string {
	if v.known != nil {
		return v.algos
	}
	var algos []string
	add := func(as ...string) {
		for _, a := range as {
			if !slices.Contains(algos, a) && !v.excluded[a] {
				algos = append(algos, a)
			}
		}
	}
	for _, k := range v.pinKeys {
		add(algorithmsFor(k.Type())...)
	}
	if len(v.pinFPs) > 0 {
		add(preferredHostKeyAlgos...)
	}
	return algos
}

// check is the ssh.HostKeyCallback.
func (v *hostKeyVerifier) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := v.verify(remote, key)
	if err == nil {
		v.verified = true
		return nil
	}
	v.err = err
	return err
}

func (v *hostKeyVerifier) verify(remote net.Addr, key ssh.PublicKey) error {
	got := key.Type() + " " + ssh.FingerprintSHA256(key)
	if v.known != nil {
		err := v.known(v.addr, remote, key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &re):
			return fmt.Errorf("%w: %s offered %s, which %s marks @revoked (line %d): the server must get a new host key",
				ErrHostKeyMismatch, v.addr, got, re.Revoked.Filename, re.Revoked.Line)
		case errors.As(err, &ke) && len(ke.Want) == 0:
			which := v.file + " does not list"
			if v.missing {
				which = v.file + " (which does not exist) does not list"
			}
			return fmt.Errorf("%w: %s offered %s, which %s: if that is the server's key (compare `ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub` on the server), add it with `%s >> %s` or pin it in deploy.yml host.host_key",
				ErrUnknownHostKey, v.addr, got, which, keyFileKind(key), v.keyscan(), v.file)
		case errors.As(err, &ke):
			var want []string
			for _, k := range ke.Want {
				want = append(want, fmt.Sprintf("%s %s (%s:%d)", k.Key.Type(), ssh.FingerprintSHA256(k.Key), k.Filename, k.Line))
			}
			return fmt.Errorf("%w: %s offered %s but known_hosts expects %s: someone may be intercepting the connection; if the server was reinstalled and you checked the new key, replace the entry with `ssh-keygen -R '%s' -f %s` then `%s >> %s`",
				ErrHostKeyMismatch, v.addr, got, strings.Join(want, ", "), knownhosts.Normalize(v.addr), v.file, v.keyscan(), v.file)
		default:
			return fmt.Errorf("known_hosts %s: %w", v.file, err)
		}
	}
	for _, k := range v.pinKeys {
		if bytes.Equal(k.Marshal(), key.Marshal()) {
			return nil
		}
	}
	fp := ssh.FingerprintSHA256(key)
	if slices.Contains(v.pinFPs, fp) {
		return nil
	}
	var want []string
	for _, k := range v.pinKeys {
		want = append(want, k.Type()+" "+ssh.FingerprintSHA256(k))
	}
	want = append(want, v.pinFPs...)
	err := fmt.Errorf("%w: %s offered %s but host_key pins %s: someone may be intercepting the connection; if the server's key changed and you checked it, update the pin (`%s` prints the keys)",
		ErrHostKeyMismatch, v.addr, got, strings.Join(want, ", "), v.keyscan())
	if len(v.pinFPs) > 0 {
		// A fingerprint does not say its key type: ask again without
		// this one while other types remain.
		for _, a := range algorithmsFor(key.Type()) {
			v.excluded[a] = true
		}
		v.lastErr = err
		v.retry = len(v.algorithms()) > 0
	}
	return err
}

func (v *hostKeyVerifier) keyscan() string {
	host, port, _ := net.SplitHostPort(v.addr)
	if port == "22" {
		return "ssh-keyscan " + host
	}
	return "ssh-keyscan -p " + port + " " + host
}

// keyFileKind is the name part of the server's host key file for key.
func keyFileKind(key ssh.PublicKey) string {
	switch t := key.Type(); {
	case t == ssh.KeyAlgoED25519:
		return "ed25519"
	case strings.HasPrefix(t, "ecdsa-"):
		return "ecdsa"
	case t == ssh.KeyAlgoRSA:
		return "rsa"
	default:
		return "*"
	}
}

// expandHome replaces a leading "~/" with the user's home directory.
func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expand %s: %w", p, err)
	}
	return filepath.Join(home, p[1:]), nil
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
