package registry

import (
	"encoding/json"
	"fmt"
	"time"
)

// HealthMark says that central health checking (the scanners, cp/scanner)
// found an instance down. It is kept beside the instance, without a lease,
// so that it survives a scanner's restart; no mark means healthy. A new
// registration of the instance (a new lease: the app started again) clears
// it, an update under the same lease keeps it.
type HealthMark struct {
	Service string `json:"service"`
	Address string `json:"address"`
	// Scanner saw the failures; Confirmer confirmed them (another scanner,
	// or Scanner itself on a second path when it was alone in its zone).
	Scanner   string    `json:"scanner"`
	Confirmer string    `json:"confirmer"`
	Since     time.Time `json:"since"`
	// Reason is the last failed check's error.
	Reason string `json:"reason,omitempty"`
}

// EncodeHealthMark validates m and encodes it for the store.
func EncodeHealthMark(m HealthMark) ([]byte, error) {
	if _, _, err := SplitAddress(m.Address); err != nil {
		return nil, invalidf("health mark: address: %v", err)
	}
	return json.Marshal(m)
}

// DecodeHealthMark reads a stored HealthMark.
func DecodeHealthMark(b []byte) (HealthMark, error) {
	var m HealthMark
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("registry: health mark: %v", err)
	}
	if _, _, err := SplitAddress(m.Address); err != nil {
		return m, fmt.Errorf("registry: health mark: address: %v", err)
	}
	return m, nil
}
