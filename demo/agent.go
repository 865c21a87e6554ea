package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/agent"
)

// agentSidecar is a sidecar that a node agent keeps running (package
// agent, in this process as `octomesh agent` runs it in its own): the demo
// kills it, and the agent starts it again.
type agentSidecar struct {
	sup    *agent.Supervisor
	cancel context.CancelFunc
	done   chan error
	log    string // the sidecar's output
}

// startAgentSidecar writes yaml as the config of sidecar name and has an
// agent start it; it returns once the sidecar serves.
func startAgentSidecar(bin, dir, name, yaml string) (*agentSidecar, error) {
	file := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		return nil, err
	}
	s := &agentSidecar{done: make(chan error, 1), log: filepath.Join(dir, name+".log")}
	out, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	s.sup, err = agent.New(agent.Config{Binary: bin, Args: []string{"proxy", "--config", file},
		DataDir: filepath.Join(dir, "agent-"+name), Output: out,
		Backoff: agent.Backoff{Initial: 50 * time.Millisecond}, StopGrace: 10 * time.Second})
	if err != nil {
		out.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		err := s.sup.Run(ctx)
		out.Close()
		s.done <- err
	}()
	select {
	case <-s.sup.Started():
		return s, nil
	case err := <-s.done:
		cancel()
		return nil, fmt.Errorf("agent of %s: %v (its output: %s)", name, err, s.log)
	case <-time.After(time.Minute):
		_ = s.Stop()
		return nil, fmt.Errorf("agent of %s: its sidecar did not serve within a minute (its output: %s)", name, s.log)
	}
}

// PID is the sidecar's process now (0 while there is none).
func (s *agentSidecar) PID() int {
	if sc := s.sup.Status().Sidecar; sc != nil {
		return sc.PID
	}
	return 0
}

// Listener is the address the sidecar serves listener name on.
func (s *agentSidecar) Listener(name string) string {
	if sc := s.sup.Status().Sidecar; sc != nil {
		return sc.Listeners[name]
	}
	return ""
}

// Stop has the agent stop the sidecar (it drains) and stops the agent. A
// data race the sidecar reported (a race-built one) is an error.
func (s *agentSidecar) Stop() error {
	s.cancel()
	err := <-s.done
	s.done <- err // for a second Stop
	if out, rerr := os.ReadFile(s.log); rerr == nil && strings.Contains(string(out), "WARNING: DATA RACE") {
		return errors.Join(err, fmt.Errorf("the sidecar reported a data race (%s)", s.log))
	}
	return err
}

// Logs is the sidecar's output.
func (s *agentSidecar) Logs() string {
	out, _ := os.ReadFile(s.log)
	return string(out)
}

// killAndWait kills the sidecar with SIGKILL, as a crash would, and waits
// for its agent to have started another: the old and new pids, and how
// long the sidecar was away.
func (s *agentSidecar) killAndWait(ctx context.Context) (oldPID, newPID int, away time.Duration, err error) {
	oldPID = s.PID()
	if oldPID == 0 {
		return 0, 0, 0, errors.New("no sidecar to kill")
	}
	killed := time.Now()
	if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
		return oldPID, 0, 0, err
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		st := s.sup.Status()
		if st.State == agent.StateRunning && st.Sidecar != nil && st.Sidecar.PID != oldPID {
			return oldPID, st.Sidecar.PID, time.Since(killed), nil
		}
		select {
		case <-ctx.Done():
			return oldPID, 0, 0, fmt.Errorf("the agent had not restarted the sidecar after %s (state %s)", time.Since(killed).Round(time.Millisecond), st.State)
		case <-t.C:
		}
	}
}
