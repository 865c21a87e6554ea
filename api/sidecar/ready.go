package sidecar

// ReadyInfo says where a started sidecar serves.
type ReadyInfo struct {
	PID int `json:"pid"`
	// Listeners maps listener names to bound addresses, as config
	// addresses ("unix:///path", "tcp://127.0.0.1:7001").
	Listeners map[string]string `json:"listeners"`
	Admin     string            `json:"admin,omitempty"`
	// Version is the build that serves (`octomesh version`), so that a
	// supervisor knows what runs after an upgrade.
	Version string `json:"version,omitempty"`
}
