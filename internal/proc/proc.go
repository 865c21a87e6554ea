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

// Race says whether Build compiles with the race
// detector: when this program is race-built itself (the tests under `go
// test -race`), so that the race detector sees the sidecars as well as
// the tests; $OCTOMESH_RACE=1 turns it on for any build, =0 off.
func Race() bool {
	switch os.Getenv("OCTOMESH_RACE") {
	case "1":
		return true
	case "0":
		return false
	}
	return raceBuilt
}

// Build compiles the octomesh binary into dir (with -race when Race says
// so), or returns $OCTOMESH_BIN when set (a build system that provides the
// binary). A relative $OCTOMESH_BIN is taken from the runfiles root of a
// Bazel test when TEST_SRCDIR is set (it is then $(rootpath
// //cmd/octomesh)), else from the current directory; the path returned is
// absolute.
func Build(dir string) (string, error) {
	return build(dir, "octomesh", "github.com/octomesh/octomesh/cmd/octomesh", "OCTOMESH_BIN", Race())
}

// BuildForSpeed is Build without the race detector, whatever Race says:
// for benchmarks, which measure the sidecar.
func BuildForSpeed(dir string) (string, error) {
	return build(dir, "octomesh", "github.com/octomesh/octomesh/cmd/octomesh", "OCTOMESH_BIN", false)
}

// BuildPackage compiles the main package pkg into dir as name (with -race
// if race: pass Race() for a program whose races the tests should see,
// false for one that must keep a pace), or returns the binary $env names
// when set (a Bazel test's data, resolved as Build resolves $OCTOMESH_BIN).
func BuildPackage(dir, name, pkg, env string, race bool) (string, error) {
	return build(dir, name, pkg, env, race)
}

func build(dir, name, pkg, env string, race bool) (string, error) {
	if bin := os.Getenv(env); bin != "" {
		return binFromEnv(env, bin)
	}
	if os.Getenv("TEST_SRCDIR") != "" {
		return "", fmt.Errorf("a Bazel test has no go command to build %s with: give the test its binary as data and $%s "+
			`(for octomesh: data = ["//cmd/octomesh"] and env = {"OCTOMESH_BIN": "$(rootpath //cmd/octomesh)"}; see bazel/README.md)`, pkg, env)
	}
	bin := filepath.Join(dir, name)
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, pkg)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(append(args, pkg), " "), err, out)
	}
	return bin, nil
}

// binFromEnv resolves $env, bin (see Build) and checks that it is there.
func binFromEnv(env, bin string) (string, error) {
	if !filepath.IsAbs(bin) {
		if root := os.Getenv("TEST_SRCDIR"); root != "" {
			bin = filepath.Join(root, os.Getenv("TEST_WORKSPACE"), bin)
		} else {
			abs, err := filepath.Abs(bin)
			if err != nil {
				return "", fmt.Errorf("%s: %w", env, err)
			}
			bin = abs
		}
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%s: %w", env, err)
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
	all.mu.Lock()
	all.sidecars = append(all.sidecars, s)
	all.mu.Unlock()

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
// it. It returns the exit error, if any, or else an error if the race
// detector reported a data race in it (see RaceReports).
func (s *Sidecar) Stop() error {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		<-s.waitOrKill(10 * time.Second)
	}
	if s.err != nil {
		return s.err
	}
	if r := raceReports(s.Logs()); len(r) > 0 {
		return fmt.Errorf("sidecar %d: the race detector reported %d data races; the first:\n%s", s.PID(), len(r), r[0])
	}
	return nil
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

// Counters are a sidecar's counters as its admin endpoint listed them.
// A counter is read by name, and a name the sidecar did not list is an
// error: a renamed or removed counter fails the test that reads it rather
// than reading as 0.
type Counters struct{ m map[string]uint64 }

// Get returns the counter name, or an error if the sidecar has none.
func (c Counters) Get(name string) (uint64, error) {
	v, ok := c.m[name]
	if !ok {
		return 0, fmt.Errorf("the sidecar has no counter %q (it has %d others)", name, len(c.m))
	}
	return v, nil
}

// Len is the number of counters.
func (c Counters) Len() int { return len(c.m) }

// Stats reads the sidecar's counters from its admin endpoint.
func (s *Sidecar) Stats(ctx context.Context) (Counters, error) {
	if s.Ready.Admin == "" {
		return Counters{}, errors.New("sidecar has no admin endpoint")
	}
	return ReadStats(ctx, "http://"+s.Ready.Admin+"/stats")
}

// Stat reads one counter: an error if the sidecar cannot be asked or has
// no counter of that name.
func (s *Sidecar) Stat(ctx context.Context, name string) (uint64, error) {
	st, err := s.Stats(ctx)
	if err != nil {
		return 0, err
	}
	return st.Get(name)
}

// ReadStats reads counters from url, "name value" lines (a sidecar's GET
// /stats). A line that is not a name and a number is an error.
func ReadStats(ctx context.Context, url string) (Counters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Counters{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Counters{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Counters{}, fmt.Errorf("GET /stats: %s", resp.Status)
	}
	m := map[string]uint64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == "" {
			continue
		}
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			return Counters{}, fmt.Errorf("GET /stats: line %q is not \"name value\"", sc.Text())
		}
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return Counters{}, fmt.Errorf("stat %s: %v", name, err)
		}
		m[name] = n
	}
	return Counters{m: m}, sc.Err()
}

// all is every sidecar started, for RaceReports.
var all struct {
	mu       sync.Mutex
	sidecars []*Sidecar
}

// raceWarning opens each report of the race detector, between lines of
// '=' (runtime/race).
const raceWarning = "WARNING: DATA RACE"

// RaceReports returns the reports the race detector wrote to the stderr of
// every sidecar started so far (hot restart successors included: they
// write to their predecessor's stderr). Sidecars are race-built when the
// tests are (see Race); a test binary must fail when there are reports,
// whichever test's sidecar had them: see ExitCode.
func RaceReports() []string {
	all.mu.Lock()
	list := append([]*Sidecar(nil), all.sidecars...)
	all.mu.Unlock()
	var out []string
	for _, s := range list {
		for _, r := range raceReports(s.Logs()) {
			out = append(out, fmt.Sprintf("sidecar pid %d (or its successor): %s", s.PID(), r))
		}
	}
	return out
}

func raceReports(logs string) []string {
	var out []string
	for {
		i := strings.Index(logs, raceWarning)
		if i < 0 {
			return out
		}
		logs = logs[i:]
		end := strings.Index(logs, "\n==================")
		if end < 0 {
			end = len(logs)
		}
		out = append(out, logs[:end])
		logs = logs[end:]
	}
}

// ExitCode is the exit code of a test binary whose tests returned code
// (testing.M.Run): 1 instead of 0 if a sidecar reported a data race, which
// it then prints. Use it in TestMain: os.Exit(proc.ExitCode(m.Run())).
func ExitCode(code int) int { return exitCode(code, os.Stderr) }

func exitCode(code int, w io.Writer) int {
	r := RaceReports()
	if len(r) == 0 {
		return code
	}
	fmt.Fprintf(w, "FAIL: the race detector reported %d data races in sidecars:\n", len(r))
	for _, rep := range r {
		fmt.Fprintf(w, "==================\n%s\n", rep)
	}
	if code == 0 {
		code = 1
	}
	return code
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
