//go:build race

package proc

// raceBuilt: this program was built with -race.
const raceBuilt = true
