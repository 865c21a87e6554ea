package server

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ReleaseStartupMemory gives back, once the sidecar serves, the memory
// that only its start-up used (octomesh proxy --release-startup-memory, on
// by default), and makes each release after a burst of connections
// (memory.go) do the same for what the burst touched:
//
//   - the heap's garbage from parsing and building the config: a GC, then
//     free pages returned to the kernel (the runtime alone keeps them
//     until its scavenger gets there);
//   - the executable's read-only pages (text, rodata) that package
//     initialisation and config parsing touched: MADV_DONTNEED drops them
//     from this process's page tables. They are file-backed and clean, so
//     nothing is lost: they stay in the page cache, and a page used again
//     comes back with a minor fault (mapping up to 64 KiB around it, the
//     kernel's fault-around). Start-up leaves most of the binary's 22 MiB
//     of text and rodata mapped; serving needs a few MiB of it
//     (docs/performance.md, "Sidecar memory").
//
// MADV_RANDOM instead, before start-up, changes nothing: it stops
// readahead from disk, not fault-around from the page cache.
func (s *Server) ReleaseStartupMemory() error {
	s.dropText.Store(true)
	return releaseMemory(true)
}

// releaseMemory collects and returns free memory to the operating system
// (freeOSMemory), then, with dropText, drops the executable's read-only
// pages from the page tables.
func releaseMemory(dropText bool) error {
	freeOSMemory()
	if !dropText {
		return nil
	}
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return fmt.Errorf("release memory: %w", err)
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return fmt.Errorf("release memory: %w", err)
	}
	defer f.Close()
	_, err = dropReadOnlyMappings(bufio.NewScanner(f), exe, madvise)
	return err
}

func madvise(start, length uintptr) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, start, length, syscall.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}

// dropReadOnlyMappings calls drop on every mapping of file in maps (the
// format of /proc/PID/maps) that is private and not writable. Writable
// ones (the data segment) hold changes that dropping would lose.
func dropReadOnlyMappings(maps *bufio.Scanner, file string, drop func(start, length uintptr) error) (int, error) {
	total := 0
	for maps.Scan() {
		// 00400000-00f8b000 r-xp 00000000 fd:01 1234  /path/to/exe
		fields := strings.Fields(maps.Text())
		if len(fields) < 6 || strings.Join(fields[5:], " ") != file {
			continue
		}
		perms := fields[1]
		if len(perms) != 4 || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p' {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			return total, fmt.Errorf("release memory: maps line %q: no address range", maps.Text())
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			return total, fmt.Errorf("release memory: maps line %q: bad address range", maps.Text())
		}
		if err := drop(uintptr(start), uintptr(end-start)); err != nil {
			return total, fmt.Errorf("release memory: madvise %s: %w", fields[0], err)
		}
		total += int(end - start)
	}
	return total, maps.Err()
}
