package proc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/api/sidecar"
)

// Build compiles the octomesh binary into dir, or returns $OCTOMESH_BIN
// when set (a build system that provides the binary). A relative
// $OCTOMESH_BIN is taken from the runfiles root of a Bazel test when
// TEST_SRCDIR is set (it is then $(rootpath //cmd/octomesh)), else from the
// current directory; the path returned is absolute.
func Build(dir string) (string, error) {
	if bin := os.Getenv("OCTOMESH_BIN"); bin != "" {
		return binFromEnv(bin)
	}
	if os.Getenv("TEST_SRCDIR") != "" {
		return "", errors.New("a Bazel test has no go command to build octomesh with: " +
			`give the test data = ["//cmd/octomesh"] and env = {"OCTOMESH_BIN": "$(rootpath //cmd/octomesh)"} (see bazel/README.md)`)
	}
	bin := filepath.Join(dir, "octomesh")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/octomesh/octomesh/cmd/octomesh").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build octomesh: %v\n%s", err, out)
	}
	return bin, nil
}

// BuildPackage compiles the main package pkg into dir as name, or returns
// the binary $env names when set (a Bazel test's data, resolved as Build
// resolves $OCTOMESH_BIN).
func BuildPackage(dir, name, pkg, env string) (string, error) {
	if bin := os.Getenv(env); bin != "" {
		return binFromEnv(bin)
	}
	if os.Getenv("TEST_SRCDIR") != "" {
		return "", fmt.Errorf("a Bazel test has no go command to build %s with: give the test its binary as data and $%s", pkg, env)
	}
	bin := filepath.Join(dir, name)
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// binFromEnv resolves $OCTOMESH_BIN (see Build) and checks that it is there.
func binFromEnv(bin string) (string, error) {
	if !filepath.IsAbs(bin) {
		if root := os.Getenv("TEST_SRCDIR"); root != "" {
			bin = filepath.Join(root, os.Getenv("TEST_WORKSPACE"), bin)
		} else {
			abs, err := filepath.Abs(bin)
			if err != nil {
				return "", fmt.Errorf("OCTOMESH_BIN: %w", err)
			}
			bin = abs
		}
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("OCTOMESH_BIN: %w", err)
	}
	return bin, nil
}

// Sidecar is a running `octomesh proxy`.
type Sidecar struct {
	Ready sidecar.ReadyInfo
	cmd   *exec.Cmd
	logs  *SyncBuffer
	// logsEnd is closed when every writer of the stderr pipe has closed it
	// and Logs holds all of it (a successor may keep it open longer).
	logsEnd chan struct{}
	done    chan struct{}
	err     error // exit status, once done is closed
}

// StartSidecar runs `bin proxy --config file` and waits (up to 30s) until it
// serves. Its stderr is kept (see Logs) and, when echo is not nil, copied there.
func StartSidecar(bin, file string, echo io.Writer, extraArgs ...string) (*Sidecar, error) {
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	s := &Sidecar{logs: &SyncBuffer{}, logsEnd: make(chan struct{}), done: make(chan struct{})}
	args := append([]string{"proxy", "--config", file, "--ready-fd", "3"}, extraArgs...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.ExtraFiles = []*os.File{wr}
	// Its own process group: a terminal's Ctrl-C reaches only the parent,
	// which stops children in order. Pdeathsig: it never outlives us.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Stderr is a pipe of our own, not an io.Writer: exec.Cmd.Wait would
	// then also wait for every holder of the pipe, and a sidecar's hot
	// restart successor inherits it. Done must mean this process exited.
	logR, logW, err := os.Pipe()
	if err != nil {
		wr.Close()
		return nil, err
	}
	s.cmd.Stderr = logW
	var sink io.Writer = s.logs
	if echo != nil {
		sink = io.MultiWriter(s.logs, echo)
	}
	go func() { _, _ = io.Copy(sink, logR); logR.Close(); close(s.logsEnd) }()
	err = s.cmd.Start()
	logW.Close()
	wr.Close() // the child holds the only write ends now
	if err != nil {
		return nil, err
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()

	type result struct {
		info sidecar.ReadyInfo
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		r.err = json.NewDecoder(bufio.NewReader(rd)).Decode(&r.info)
		ch <- r
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			<-s.waitOrKill(5 * time.Second)
			select { // the copy of its last words may still be under way
			case <-s.logsEnd:
			case <-time.After(5 * time.Second):
			}
			return nil, fmt.Errorf("sidecar %s did not start: %v\n%s", file, s.err, s.Logs())
		}
		s.Ready = r.info
		return s, nil
	case <-time.After(30 * time.Second):
		s.Kill()
		return nil, fmt.Errorf("sidecar %s not ready after 30s:\n%s", file, s.Logs())
	}
}

// PID is the process id.
func (s *Sidecar) PID() int { return s.cmd.Process.Pid }

// Logs returns what the sidecar wrote to stderr so far.
func (s *Sidecar) Logs() string { return s.logs.String() }

// Stop asks the sidecar to exit (SIGTERM) and waits up to 10s, then kills
// it. It returns the exit error, if any.
func (s *Sidecar) Stop() error {
	select {
	case <-s.done:
		return s.err
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.waitOrKill(10 * time.Second)
	return s.err
}

// Kill ends the sidecar at once.
func (s *Sidecar) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Done is closed when the process has exited.
func (s *Sidecar) Done() <-chan struct{} { return s.done }

func (s *Sidecar) waitOrKill(d time.Duration) <-chan struct{} {
	select {
	case <-s.done:
	case <-time.After(d):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	return s.done
}

// Stats reads the sidecar's counters from its admin endpoint.
func (s *Sidecar) Stats(ctx context.Context) (map[string]uint64, error) {
	if s.Ready.Admin == "" {
		return nil, errors.New("sidecar has no admin endpoint")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Ready.Admin+"/stats", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /stats: %s", resp.Status)
	}
	m := map[string]uint64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("stat %s: %v", name, err)
		}
		m[name] = n
	}
	return m, sc.Err()
}

// SyncBuffer is a bytes.Buffer safe for one writer and concurrent
// readers: a child's output, read while it runs.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
