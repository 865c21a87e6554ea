package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Target is a sidecar build to run: where to get it and how to know it is
// the one meant. An operator gives one to `octomesh agent upgrade`; a
// release follower would take it from the control plane.
type Target struct {
	// From is a file path or an http(s) URL.
	From string `json:"to"`
	// SHA256 is the binary's digest, hex.
	SHA256 string `json:"sha256"`
	// Signature is an ed25519 signature (hex or base64) of the binary's
	// SHA-256 digest (the 32 bytes); required when the agent has a public
	// key.
	Signature string `json:"signature,omitempty"`
}

// ErrBadTarget is the kind of every error in a Target: the agent changed
// nothing.
var ErrBadTarget = errors.New("agent: bad upgrade target")

// artifact is a verified binary in the data dir.
type artifact struct {
	path, sha256, version string
}

// maxBinary bounds a download.
const maxBinary = 1 << 30

// fetch gets t's binary, checks its digest (and signature), stores it as
// <dataDir>/bin/sha256-<hex> (mode 0755) and asks it for its version. Any
// error wraps ErrBadTarget and leaves nothing new behind but a stored
// binary whose digest matched.
func fetch(ctx context.Context, dataDir string, t Target, pub ed25519.PublicKey) (artifact, error) {
	bad := func(format string, a ...any) (artifact, error) {
		return artifact{}, fmt.Errorf("%w: "+format, append([]any{ErrBadTarget}, a...)...)
	}
	want, err := hex.DecodeString(strings.TrimSpace(t.SHA256))
	if err != nil || len(want) != sha256.Size {
		return bad("--sha256 %q is not a SHA-256 digest in hex (64 characters)", t.SHA256)
	}
	var sig []byte
	if pub != nil {
		if t.Signature == "" {
			return bad("this agent has a public key: the target needs a signature")
		}
		if sig, err = decodeSignature(t.Signature); err != nil {
			return bad("signature: %v", err)
		}
	}
	if t.From == "" {
		return bad("no binary given (--to)")
	}
	src, err := open(ctx, t.From)
	if err != nil {
		return bad("%v", err)
	}
	defer src.Close()

	dir := filepath.Join(dataDir, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return artifact{}, err
	}
	tmp, err := os.CreateTemp(dir, ".download-*")
	if err != nil {
		return artifact{}, err
	}
	defer os.Remove(tmp.Name()) // after the rename: a no-op
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(src, maxBinary+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return bad("reading %s: %v", t.From, err)
	}
	if n > maxBinary {
		return bad("%s is larger than %d bytes", t.From, maxBinary)
	}
	got := h.Sum(nil)
	if !bytes.Equal(got, want) {
		return bad("%s has SHA-256 %x, not the %x given", t.From, got, want)
	}
	if pub != nil && !ed25519.Verify(pub, got, sig) {
		return bad("the signature of %s does not verify with the agent's public key", t.From)
	}
	path := filepath.Join(dir, "sha256-"+hex.EncodeToString(got))
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return artifact{}, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return artifact{}, err
	}
	version, err := binaryVersion(ctx, path)
	if err != nil {
		return bad("%s: %v", t.From, err)
	}
	return artifact{path: path, sha256: hex.EncodeToString(got), version: version}, nil
}

// open opens a local file or starts a download.
func open(ctx context.Context, from string) (io.ReadCloser, error) {
	if strings.HasPrefix(from, "http://") || strings.HasPrefix(from, "https://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, from, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("downloading: %v", err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("downloading %s: %s", from, resp.Status)
		}
		return resp.Body, nil
	}
	if strings.Contains(from, "://") {
		return nil, fmt.Errorf("%s: only file paths and http(s) URLs are supported", from)
	}
	fi, err := os.Stat(from)
	if err != nil {
		return nil, fmt.Errorf("binary %s: %v", from, errors.Unwrap(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("binary %s is not a regular file", from)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("binary %s is not executable (mode %v)", from, fi.Mode().Perm())
	}
	return os.Open(from)
}

// binaryVersion runs `bin version`: a file that cannot be executed is an
// error; one that runs but has no version command is "unknown".
func binaryVersion(ctx context.Context, bin string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return "unknown", nil
	case err != nil:
		return "", fmt.Errorf("not executable: %v", err)
	}
	v := strings.TrimSpace(string(out))
	v = strings.TrimPrefix(v, "octomesh ")
	if v == "" || strings.ContainsAny(v, "\n") {
		return "unknown", nil
	}
	return v, nil
}

func decodeSignature(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == ed25519.SignatureSize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == ed25519.SignatureSize {
		return b, nil
	}
	return nil, fmt.Errorf("want %d bytes of ed25519 signature, hex or base64", ed25519.SignatureSize)
}

// ReadPublicKey reads an ed25519 public key file: 32 bytes, or their hex
// or base64 form.
func ReadPublicKey(file string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if len(b) == ed25519.PublicKeySize {
		return ed25519.PublicKey(b), nil
	}
	s := strings.TrimSpace(string(b))
	if k, err := hex.DecodeString(s); err == nil && len(k) == ed25519.PublicKeySize {
		return ed25519.PublicKey(k), nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == ed25519.PublicKeySize {
		return ed25519.PublicKey(k), nil
	}
	return nil, fmt.Errorf("public key %s: want %d bytes of ed25519 key, raw, hex or base64", file, ed25519.PublicKeySize)
}
