package server

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestDropReadOnlyMappings(t *testing.T) {
	const exe = "/usr/local/bin/octomesh proxy" // a path with a space
	maps := strings.Join([]string{
		"00400000-00f8b000 r-xp 00000000 fd:01 1234 " + exe,               // text: dropped
		"00f8b000-01e00000 r--p 00b8b000 fd:01 1234 " + exe,               // rodata: dropped
		"01e00000-01e90000 rw-p 01a00000 fd:01 1234 " + exe,               // data: kept
		"01e90000-01f00000 rw-p 00000000 00:00 0",                         // bss, heap: kept
		"7f0000000000-7f0000100000 r-xp 00000000 fd:01 99 /lib/libc.so.6", // another file: kept
		"7f0000200000-7f0000201000 r--s 00000000 fd:01 1234 " + exe,       // shared: kept
	}, "\n")
	var got [][2]uintptr
	total, err := dropReadOnlyMappings(bufio.NewScanner(strings.NewReader(maps)), exe, func(start, length uintptr) error {
		got = append(got, [2]uintptr{start, length})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]uintptr{{0x400000, 0xb8b000}, {0xf8b000, 0xe75000}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("dropped %x, want %x", got, want)
	}
	if total != 0xb8b000+0xe75000 {
		t.Errorf("total %d, want %d", total, 0xb8b000+0xe75000)
	}

	_, err = dropReadOnlyMappings(bufio.NewScanner(strings.NewReader("zz-00f8b000 r-xp 0 fd:01 1 "+exe)), exe, func(uintptr, uintptr) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "bad address range") {
		t.Errorf("a bad maps line: error %v, want one naming the bad address range", err)
	}
}

// The real thing, on this test binary: its text is dropped and the process
// runs on (the pages come back from the page cache when used).
func TestReleaseMemoryDropsText(t *testing.T) {
	if err := releaseMemory(true); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	n, err := dropReadOnlyMappings(bufio.NewScanner(bytes.NewReader(maps)), exe, func(uintptr, uintptr) error { return nil })
	if err != nil || n <= 0 {
		t.Errorf("found %d bytes of read-only mappings of %s (error %v): the test binary's text should be there", n, exe, err)
	}
	if got := strings.Repeat("x", 3); got != "xxx" { // code still runs after its pages were dropped
		t.Fatalf("strings.Repeat after dropping text: %q", got)
	}
}
