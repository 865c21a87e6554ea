package release

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	api "github.com/octomesh/octomesh/api/release"
)

// MaxArtifact bounds an upload.
const MaxArtifact = 1 << 30

// ErrDigestMismatch: an upload's bytes do not have the digest given.
var ErrDigestMismatch = errors.New("release: digest mismatch")

// ErrNotFound: no such artifact, release or node.
var ErrNotFound = errors.New("release: not found")

// ErrConflict: the change contradicts what is stored (a digest uploaded
// under another version, a release name taken, a node in another active
// release, a state that does not allow the action).
var ErrConflict = errors.New("release: conflict")

// Artifacts stores binaries as <dir>/<sha256>, each with a <sha256>.json
// holding its version. It is safe for concurrent use.
type Artifacts struct {
	dir string
	mu  sync.Mutex
	all map[string]api.Artifact
}

// OpenArtifacts opens (or creates) the store in dir and reads its index.
func OpenArtifacts(dir string) (*Artifacts, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("release: artifacts: %w", err)
	}
	a := &Artifacts{dir: dir, all: map[string]api.Artifact{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("release: artifacts: %w", err)
	}
	for _, e := range entries {
		sum, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || api.ValidSHA256("", sum) != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("release: artifacts: %w", err)
		}
		var art api.Artifact
		if err := json.Unmarshal(b, &art); err != nil || art.SHA256 != sum {
			return nil, fmt.Errorf("release: artifact record %s: not a record of %s (%v)", filepath.Join(dir, e.Name()), sum, err)
		}
		if _, err := os.Stat(filepath.Join(dir, sum)); err != nil {
			return nil, fmt.Errorf("release: artifact record %s has no binary: %w", e.Name(), err)
		}
		a.all[sum] = art
	}
	return a, nil
}

// Put stores body as version if its SHA-256 is sum; a mismatch is an
// error wrapping ErrDigestMismatch and stores nothing. The same bytes
// uploaded again under the same version are no error.
func (a *Artifacts) Put(body io.Reader, version, sum string, now time.Time) (api.Artifact, error) {
	if err := api.ValidSHA256("sha256", sum); err != nil {
		return api.Artifact{}, err
	}
	if strings.TrimSpace(version) == "" || strings.ContainsAny(version, "\n\r\t ") {
		return api.Artifact{}, fmt.Errorf("%w: version %q: want a non-empty string without spaces", api.ErrInvalid, version)
	}
	a.mu.Lock()
	old, had := a.all[sum]
	a.mu.Unlock()
	if had && old.Version != version {
		return api.Artifact{}, fmt.Errorf("%w: sha256 %s is stored already as version %q, not %q", ErrConflict, sum, old.Version, version)
	}
	tmp, err := os.CreateTemp(a.dir, ".upload-*")
	if err != nil {
		return api.Artifact{}, err
	}
	defer os.Remove(tmp.Name()) // after the rename: a no-op
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, MaxArtifact+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return api.Artifact{}, fmt.Errorf("release: reading the upload: %w", err)
	}
	if n > MaxArtifact {
		return api.Artifact{}, fmt.Errorf("%w: the upload is larger than %d bytes", api.ErrInvalid, MaxArtifact)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return api.Artifact{}, fmt.Errorf("%w: sha256: the %d bytes uploaded have SHA-256 %s, not the %s given", ErrDigestMismatch, n, got, sum)
	}
	if had {
		return old, nil
	}
	art := api.Artifact{SHA256: sum, Version: version, Size: n, UploadedAt: now.UTC()}
	if err := os.Rename(tmp.Name(), filepath.Join(a.dir, sum)); err != nil {
		return api.Artifact{}, err
	}
	b, _ := json.MarshalIndent(art, "", "  ")
	if err := writeFileAtomic(filepath.Join(a.dir, sum+".json"), b); err != nil {
		return api.Artifact{}, err
	}
	a.mu.Lock()
	a.all[sum] = art
	a.mu.Unlock()
	return art, nil
}

// Get returns the artifact with digest sum.
func (a *Artifacts) Get(sum string) (api.Artifact, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	art, ok := a.all[sum]
	return art, ok
}

// Open opens the binary with digest sum.
func (a *Artifacts) Open(sum string) (*os.File, error) {
	if _, ok := a.Get(sum); !ok {
		return nil, fmt.Errorf("%w: no artifact %s", ErrNotFound, sum)
	}
	return os.Open(filepath.Join(a.dir, sum))
}

// ByVersion returns the artifacts carrying version.
func (a *Artifacts) ByVersion(version string) []api.Artifact {
	var out []api.Artifact
	for _, art := range a.List() {
		if art.Version == version {
			out = append(out, art)
		}
	}
	return out
}

// List returns every artifact, oldest upload first.
func (a *Artifacts) List() []api.Artifact {
	a.mu.Lock()
	out := make([]api.Artifact, 0, len(a.all))
	for _, art := range a.all {
		out = append(out, art)
	}
	a.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].UploadedAt.Equal(out[j].UploadedAt) {
			return out[i].UploadedAt.Before(out[j].UploadedAt)
		}
		return out[i].SHA256 < out[j].SHA256
	})
	return out
}

// writeFileAtomic replaces file with b through a rename.
func writeFileAtomic(file string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), file)
}
