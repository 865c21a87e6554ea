package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// State is what the agent writes to its data dir (state.json) after every
// start or switch of the sidecar: enough for the next agent to adopt the
// process instead of starting another.
type State struct {
	PID int `json:"pid"`
	// StartTime is field 22 of /proc/<pid>/stat: a pid reused by another
	// process has another start time.
	StartTime uint64            `json:"start_time"`
	Binary    string            `json:"binary"`
	Version   string            `json:"version,omitempty"`
	Admin     string            `json:"admin,omitempty"`
	Listeners map[string]string `json:"listeners,omitempty"`
	StartedAt time.Time         `json:"started_at"`
	// Restarts counts crash restarts across agents.
	Restarts int `json:"restarts"`
}

const stateFile = "state.json"

// readState reads the state file in dir; no file is (State{}, nil).
func readState(dir string) (State, error) {
	var st State
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, fmt.Errorf("agent: %s: %v", filepath.Join(dir, stateFile), err)
	}
	return st, nil
}

// writeState replaces the state file in dir atomically (a rename), so an
// agent killed while writing leaves the old state or the new, never half.
func writeState(dir string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, stateFile+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, stateFile))
}
