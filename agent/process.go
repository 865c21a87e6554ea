package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/api/sidecar"
)

// process is a running sidecar the agent watches: its child, or one a
// previous agent started and this one adopted.
type process struct {
	pid       int
	startTime uint64 // /proc/<pid>/stat starttime: guards against pid reuse
	binary    string
	ready     sidecar.ReadyInfo
	startedAt time.Time
	adopted   bool
	cmd       *exec.Cmd // nil when adopted

	done    chan struct{} // closed when the process has exited
	exitErr error         // why, once done is closed
}

// errNotReady is the kind of every failure of a process to become ready.
var errNotReady = errors.New("agent: sidecar did not become ready")

// startProcess runs bin with args plus --ready-fd 3, its output on out,
// in its own process group (a terminal's Ctrl-C reaches the agent, which
// stops the sidecar in order) and not tied to the agent's life (an agent
// that dies leaves it serving, for the next agent to adopt). It returns
// once the process said it serves, or an error wrapping errNotReady when
// it exits first or is not ready within timeout (it is killed then).
func startProcess(bin string, args []string, out *os.File, timeout time.Duration) (*process, error) {
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	cmd := exec.Command(bin, append(append([]string(nil), args...), "--ready-fd", "3")...)
	cmd.ExtraFiles = []*os.File{wr}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	wr.Close() // the child holds the only write end now
	if err != nil {
		return nil, fmt.Errorf("%w: starting %s: %v", errNotReady, bin, err)
	}
	p := &process{pid: cmd.Process.Pid, binary: bin, startedAt: time.Now(), cmd: cmd, done: make(chan struct{})}
	go func() { p.exitErr = cmd.Wait(); close(p.done) }()

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
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		if r.err == nil {
			p.ready = r.info
			if st, _, err := procStat(p.pid); err == nil {
				p.startTime = st
			}
			return p, nil
		}
		<-p.done // it closed the pipe without a word: it is exiting
		return nil, fmt.Errorf("%w: %s exited: %v", errNotReady, bin, p.exitErr)
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-p.done
		return nil, fmt.Errorf("%w: %s not ready after %v (killed)", errNotReady, bin, timeout)
	}
}

// adoptProcess watches the sidecar a state file names, if it still runs:
// same pid, same start time, not a zombie. It polls, since it is not
// this process's child; stop ends the polling.
func adoptProcess(st State, stop <-chan struct{}) (*process, error) {
	start, state, err := procStat(st.PID)
	if err != nil {
		return nil, fmt.Errorf("agent: sidecar pid %d from the state file is gone", st.PID)
	}
	if start != st.StartTime {
		return nil, fmt.Errorf("agent: pid %d is another process now (start time %d, the sidecar's was %d)", st.PID, start, st.StartTime)
	}
	if state == "Z" {
		return nil, fmt.Errorf("agent: sidecar pid %d has exited", st.PID)
	}
	p := &process{pid: st.PID, startTime: st.StartTime, binary: st.Binary, startedAt: st.StartedAt, adopted: true, done: make(chan struct{}),
		ready: sidecar.ReadyInfo{PID: st.PID, Listeners: st.Listeners, Admin: st.Admin, Version: st.Version}}
	go func() {
		t := time.NewTicker(pollInterval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if !p.running() {
				p.exitErr = errors.New("exited (adopted: no exit status)")
				close(p.done)
				return
			}
		}
	}()
	return p, nil
}

// pollInterval is how often an adopted process is looked at.
const pollInterval = 50 * time.Millisecond

// running reports whether the process is still the one started (pid and
// start time) and not a zombie.
func (p *process) running() bool {
	start, state, err := procStat(p.pid)
	return err == nil && start == p.startTime && state != "Z"
}

// exited reports whether done is closed.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process if it is still the one started.
func (p *process) signal(sig syscall.Signal) error {
	if p.cmd != nil {
		return p.cmd.Process.Signal(sig)
	}
	if !p.running() {
		return os.ErrProcessDone
	}
	return syscall.Kill(p.pid, sig)
}

// stop sends SIGTERM (the sidecar drains), waits up to grace, then kills.
func (p *process) stop(ctx context.Context, grace time.Duration) {
	if p.signal(syscall.SIGTERM) != nil && p.cmd == nil {
		return
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	case <-ctx.Done():
	}
	_ = p.signal(syscall.SIGKILL)
	if p.cmd != nil {
		<-p.done
	}
}

// procStat reads a process's start time (clock ticks after boot) and state
// letter from /proc/<pid>/stat.
func procStat(pid int) (startTime uint64, state string, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, "", err
	}
	// "pid (comm) S ppid ...": comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, "", fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, "", fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// f[0] is field 3 (state); starttime is field 22.
	startTime, err = strconv.ParseUint(f[19], 10, 64)
	return startTime, f[0], err
}
