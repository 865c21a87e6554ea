package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux ABI Go supports.
const clockTicks = 100

// procSample is what /proc says about one process at one instant.
type procSample struct {
	cpuTicks     uint64 // utime + stime, all threads
	rssKiB       uint64 // VmRSS
	syscr, syscw uint64 // read- and write-type syscalls (/proc/PID/io)
}

func readProc(pid int) (procSample, error) {
	var s procSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return s, fmt.Errorf("/proc/%d/stat: %v", pid, err)
	}
	s.cpuTicks = ut + st
	if v, err := procField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:"); err == nil {
		s.rssKiB = v
	}
	if v, err := procField(fmt.Sprintf("/proc/%d/io", pid), "syscr:"); err == nil {
		s.syscr = v
	}
	if v, err := procField(fmt.Sprintf("/proc/%d/io", pid), "syscw:"); err == nil {
		s.syscw = v
	}
	return s, nil
}

// cpuStat is one CPU's time from /proc/stat, in ticks.
type cpuStat struct{ busy, total uint64 }

// readCPUStats returns the times of the given CPUs.
func readCPUStats(cpus []int) ([]cpuStat, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	out := make([]cpuStat, len(cpus))
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil {
			continue
		}
		for i, c := range cpus {
			if c != n {
				continue
			}
			var st cpuStat
			for k, v := range f[1:] {
				x, _ := strconv.ParseUint(v, 10, 64)
				st.total += x
				if k != 3 && k != 4 { // idle, iowait
					st.busy += x
				}
			}
			out[i] = st
			found++
		}
	}
	if found < len(cpus) {
		return nil, fmt.Errorf("/proc/stat: no line for some of CPUs %v", cpus)
	}
	return out, nil
}

// procField reads the first number after key in a "Key: value" file.
func procField(file, key string) (uint64, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseUint(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", file, key)
}

// cpusAllowed returns the CPUs every thread of pid may run on, as in
// /proc/PID/status ("1", or "0-1"); threads that disagree are listed.
func cpusAllowed(pid int) string {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	seen := map[string]bool{}
	var out []string
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
				v := strings.TrimSpace(rest)
				if !seen[v] {
					seen[v] = true
					out = append(out, v)
				}
			}
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return strings.Join(out, " | ")
}

// schedPolicy names the scheduling policy of pid, with its nice level
// for the normal policies (/proc/PID/stat fields 19 and 41).
func schedPolicy(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "?"
	}
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(f) < 39 {
		return "?"
	}
	nice, policy := f[16], f[38]
	switch policy {
	case "0":
		return "SCHED_OTHER nice " + nice
	case "1":
		return "SCHED_FIFO"
	case "2":
		return "SCHED_RR"
	}
	return "policy " + policy
}

// syscallNames are the calls perf counts one by one, besides the total;
// the rest are "other". A name the kernel has no tracepoint for is dropped.
var syscallNames = []string{
	"read", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg", "sendmsg",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "futex", "nanosleep",
	"sched_yield", "getpid", "tgkill", "rt_sigreturn", "madvise", "mmap", "munmap",
	"clock_gettime", "accept4", "connect", "close",
}

// syscallCounter counts the syscalls of one process with `perf stat`,
// enabled and disabled through perf's control descriptors around the
// syscall window (the second half of the warmup), so the counts cover
// exactly that. Counting is far cheaper than strace's ptrace stops, but not
// free: every syscall runs the tracepoints, which slowed a saturated
// sidecar by about a quarter (T2 closed loop: 69k against 90k req/s), so
// the counters are off during the measured window.
type syscallCounter struct {
	cmd    *exec.Cmd
	ctl    *os.File
	ack    *bufio.Reader
	ackF   *os.File
	out    string
	events []string
	done   chan error

	interrupted bool
}

// tracefsMounts are where the kernel's tracepoints may be listed: tracefs
// itself, or under debugfs on systems that mount only that. Without either,
// perf counts the total alone and the table shows no per-call columns.
var tracefsMounts = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// perfEvents returns the events to count: the total and the per-call
// tracepoints that exist here.
func perfEvents() []string {
	ev := []string{"raw_syscalls:sys_enter"}
	for _, n := range syscallNames {
		for _, tracefs := range tracefsMounts {
			if _, err := os.Stat(tracefs + "/events/syscalls/sys_enter_" + n); err == nil {
				ev = append(ev, "syscalls:sys_enter_"+n)
				break
			}
		}
	}
	return ev
}

// startSyscallCounter attaches perf to pid with counting disabled, and
// returns once perf is ready to take commands. start runs the exec (so the
// caller can pin it).
func startSyscallCounter(pid int, dir string, events []string, start func(*exec.Cmd) error) (*syscallCounter, error) {
	perf, err := exec.LookPath("perf")
	if err != nil {
		return nil, err
	}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ackR, ackW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	out := filepath.Join(dir, fmt.Sprintf("perf-%d-%d.csv", pid, time.Now().UnixNano()))
	c := &syscallCounter{ctl: ctlW, ack: bufio.NewReader(ackR), ackF: ackR, out: out, events: events, done: make(chan error, 1)}
	c.cmd = exec.Command(perf, "stat", "-x", ",", "-o", out, "-D", "-1", "--control", "fd:3,4",
		"-e", strings.Join(events, ","), "-p", strconv.Itoa(pid))
	c.cmd.ExtraFiles = []*os.File{ctlR, ackW}
	var stderr bytes.Buffer
	c.cmd.Stderr = &stderr
	err = start(c.cmd)
	ctlR.Close()
	ackW.Close()
	if err != nil {
		c.closeFiles()
		return nil, err
	}
	go func() { c.done <- c.cmd.Wait() }()
	// A command perf answers proves it has opened its counters.
	if err := c.command("disable"); err != nil {
		c.kill()
		return nil, fmt.Errorf("perf stat: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return c, nil
}

// command sends "enable" or "disable" and waits for perf's ack.
func (c *syscallCounter) command(cmd string) error {
	if _, err := c.ctl.WriteString(cmd + "\n"); err != nil {
		return err
	}
	ch := make(chan error, 1)
	go func() {
		line, err := c.ack.ReadString('\n')
		if err == nil && strings.Trim(line, "\x00 \n") != "ack" {
			err = fmt.Errorf("perf answered %q", line)
		}
		ch <- err
	}()
	select {
	case err := <-ch:
		return err
	case err := <-c.done:
		c.done <- err
		return fmt.Errorf("perf exited: %v", err)
	case <-time.After(10 * time.Second):
		return errors.New("perf did not answer in 10s")
	}
}

// interrupt asks perf to stop and write its counts (it takes up to a
// second: stop several at once, then collect them with stop).
func (c *syscallCounter) interrupt() {
	if !c.interrupted {
		c.interrupted = true
		_ = c.cmd.Process.Signal(syscall.SIGINT)
	}
}

// stop ends perf and returns the counts by event.
func (c *syscallCounter) stop() (map[string]uint64, error) {
	defer c.closeFiles()
	c.interrupt()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.kill()
		return nil, errors.New("perf did not stop in 10s")
	}
	defer os.Remove(c.out)
	return parsePerfCSV(c.out)
}

func (c *syscallCounter) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
	c.closeFiles()
	os.Remove(c.out)
}

func (c *syscallCounter) closeFiles() {
	c.ctl.Close()
	c.ackF.Close()
}

// parsePerfCSV reads `perf stat -x ,` output: count,unit,event,...
func parsePerfCSV(file string) (map[string]uint64, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 || strings.HasPrefix(line, "#") {
			continue
		}
		ev := f[2]
		if strings.HasPrefix(f[0], "<") { // <not counted>, <not supported>
			m[ev] = 0
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		m[ev] = n
	}
	if _, ok := m["raw_syscalls:sys_enter"]; !ok {
		return nil, fmt.Errorf("perf stat output has no syscall count:\n%s", b)
	}
	return m, nil
}

// syscallBreakdown turns perf counts into per-request numbers by call name,
// with "other" for calls without their own tracepoint.
func syscallBreakdown(counts map[string]uint64, requests int64) (total float64, by map[string]float64) {
	if requests <= 0 {
		return 0, nil
	}
	per := func(n uint64) float64 { return round2(float64(n) / float64(requests)) }
	all := counts["raw_syscalls:sys_enter"]
	by = map[string]float64{}
	var named uint64
	for ev, n := range counts {
		name, ok := strings.CutPrefix(ev, "syscalls:sys_enter_")
		if !ok || n == 0 {
			continue
		}
		named += n
		by[name] = per(n)
	}
	if all > named {
		by["other"] = per(all - named)
	}
	return per(all), by
}
