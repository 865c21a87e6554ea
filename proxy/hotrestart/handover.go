package hotrestart

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// State is what the old process passes to the new one besides sockets.
type State struct {
	ConfigVersion string   `json:"config_version,omitempty"`
	Subscriptions []string `json:"subscriptions,omitempty"`
}

// Offer is what the old process hands over: its listening sockets by name
// and its state.
type Offer struct {
	Listeners map[string]*os.File
	State     State
}

// message is one protocol message. Files ride with the "offer" message, in
// the order of Names.
type message struct {
	Type  string   `json:"type"` // hello, offer, ready, failed
	PID   int      `json:"pid,omitempty"`
	Names []string `json:"names,omitempty"`
	State *State   `json:"state,omitempty"`
	Error string   `json:"error,omitempty"`
}

const maxMessage = 1 << 20

// ErrNoPeer means no process is listening on the hand-over socket.
var ErrNoPeer = errors.New("hotrestart: no running process to take over from")

// Control is the old process's end: the hand-over socket it listens on.
type Control struct {
	ln *net.UnixListener
	// owned: Close may remove the path. False for an inherited socket
	// until Own: the process that bound it may still be serving.
	owned bool
}

// Listen opens the hand-over socket at path, replacing a stale file.
func Listen(path string) (*Control, error) {
	if c, err := net.DialTimeout("unix", path, 100*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("hotrestart: %s: another process listens on it", path)
	}
	_ = os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("hotrestart: %w", err)
	}
	ln.SetUnlinkOnClose(false) // the path outlives us when handed over
	return &Control{ln: ln, owned: true}, nil
}

// FromFile serves a hand-over socket inherited in an Offer.
func FromFile(f *os.File) (*Control, error) {
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("hotrestart: inherited hand-over socket: %w", err)
	}
	ul, ok := ln.(*net.UnixListener)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("hotrestart: inherited hand-over socket is %T, not a Unix listener", ln)
	}
	ul.SetUnlinkOnClose(false)
	return &Control{ln: ul}, nil
}

// Path is the socket's path.
func (c *Control) Path() string { return c.ln.Addr().String() }

// File duplicates the socket, to hand it over with the listeners.
func (c *Control) File() (*os.File, error) { return c.ln.File() }

// Own makes an inherited socket this process's, once the hand-over that
// brought it has completed.
func (c *Control) Own() { c.owned = true }

// Close stops listening; with remove, the path goes too, if it is ours.
func (c *Control) Close(remove bool) error {
	err := c.ln.Close()
	if remove && c.owned {
		_ = os.Remove(c.Path())
	}
	return err
}

// Accept waits for a new process to ask for the sockets.
func (c *Control) Accept() (*Handover, error) {
	conn, err := c.ln.AcceptUnix()
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var hello message
	if err := readMessage(conn, &hello, nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("hotrestart: reading hello: %w", err)
	}
	if hello.Type != "hello" {
		conn.Close()
		return nil, fmt.Errorf("hotrestart: expected hello, got %q", hello.Type)
	}
	return &Handover{conn: conn, PID: hello.PID}, nil
}

// Handover is one hand-over in progress, seen from the old process.
type Handover struct {
	conn *net.UnixConn
	// PID is the new process.
	PID int
}

// Send hands the sockets and state over. The files stay open here; the old
// process keeps accepting until WaitReady succeeds.
func (h *Handover) Send(o Offer) error {
	m := message{Type: "offer", State: &o.State}
	var fds []int
	for name, f := range o.Listeners {
		m.Names = append(m.Names, name)
		fds = append(fds, int(f.Fd()))
	}
	if err := writeMessage(h.conn, &m, syscall.UnixRights(fds...)); err != nil {
		return fmt.Errorf("hotrestart: sending sockets to pid %d: %w", h.PID, err)
	}
	return nil
}

// WaitReady waits until the new process says it is serving. Any other
// outcome (it failed, it died, timeout) is an error, and the caller, which
// never stopped serving, just carries on: that is the rollback.
func (h *Handover) WaitReady(timeout time.Duration) error {
	_ = h.conn.SetDeadline(time.Now().Add(timeout))
	var m message
	if err := readMessage(h.conn, &m, nil); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("hotrestart: new process %d exited before it was ready", h.PID)
		}
		return fmt.Errorf("hotrestart: waiting for new process %d: %w", h.PID, err)
	}
	switch m.Type {
	case "ready":
		return nil
	case "failed":
		return fmt.Errorf("hotrestart: new process %d failed: %s", h.PID, m.Error)
	}
	return fmt.Errorf("hotrestart: new process %d sent %q", h.PID, m.Type)
}

// Close ends the hand-over connection.
func (h *Handover) Close() error { return h.conn.Close() }

// Taken is the new process's end of a hand-over.
type Taken struct {
	conn  *net.UnixConn
	Offer Offer
}

// Take connects to the running process's hand-over socket and receives its
// sockets and state.
func Take(path string, timeout time.Duration) (*Taken, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, fmt.Errorf("%w (%s: %v)", ErrNoPeer, path, err)
	}
	conn := c.(*net.UnixConn)
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if err := writeMessage(conn, &message{Type: "hello", PID: os.Getpid()}, nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("hotrestart: hello: %w", err)
	}
	var m message
	var fds []int
	if err := readOffer(conn, &m, &fds); err != nil {
		for _, fd := range fds {
			syscall.Close(fd)
		}
		conn.Close()
		return nil, err
	}
	t := &Taken{conn: conn, Offer: Offer{Listeners: map[string]*os.File{}}}
	if m.State != nil {
		t.Offer.State = *m.State
	}
	for i, name := range m.Names {
		t.Offer.Listeners[name] = os.NewFile(uintptr(fds[i]), name)
	}
	return t, nil
}

// readOffer reads the old process's offer: one descriptor per name, each
// name once. Descriptors that came with it are in fds even when it fails,
// for the caller to close.
func readOffer(conn *net.UnixConn, m *message, fds *[]int) error {
	if err := readMessage(conn, m, fds); err != nil {
		return fmt.Errorf("hotrestart: receiving sockets: %w", err)
	}
	if m.Type != "offer" || len(*fds) != len(m.Names) {
		return fmt.Errorf("hotrestart: expected an offer of %d sockets, got %q with %d", len(m.Names), m.Type, len(*fds))
	}
	seen := make(map[string]bool, len(m.Names))
	for _, name := range m.Names {
		if seen[name] {
			return fmt.Errorf("hotrestart: the offer names socket %q twice", name)
		}
		seen[name] = true
	}
	return nil
}

// Ready tells the old process this one is serving; it stops accepting.
func (t *Taken) Ready() error {
	defer t.conn.Close()
	if err := writeMessage(t.conn, &message{Type: "ready"}, nil); err != nil {
		return fmt.Errorf("hotrestart: the old process is gone before we were ready: %w", err)
	}
	return nil
}

// Fail tells the old process this one gives up; it keeps serving.
func (t *Taken) Fail(cause error) {
	_ = writeMessage(t.conn, &message{Type: "failed", Error: cause.Error()}, nil)
	t.conn.Close()
}

// writeMessage sends a 4-byte length and JSON, with oob (file descriptors)
// attached to the same sendmsg.
func writeMessage(c *net.UnixConn, m *message, oob []byte) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	b = append(b, body...)
	n, oobn, err := c.WriteMsgUnix(b, oob, nil)
	if err != nil {
		return err
	}
	if n != len(b) || oobn != len(oob) {
		return fmt.Errorf("short write: %d of %d bytes, %d of %d control bytes", n, len(b), oobn, len(oob))
	}
	return nil
}

// readMessage reads one message; when fds is not nil, descriptors that
// came with it are returned there.
func readMessage(c *net.UnixConn, m *message, fds *[]int) error {
	b := make([]byte, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(64*4))
	n, oobn, _, _, err := c.ReadMsgUnix(b, oob)
	if err != nil {
		return err
	}
	if n == 0 {
		return io.EOF
	}
	if oobn > 0 {
		msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return err
		}
		for _, cm := range msgs {
			got, err := syscall.ParseUnixRights(&cm)
			if err != nil {
				return err
			}
			if fds == nil {
				for _, fd := range got {
					syscall.Close(fd)
				}
				return errors.New("unexpected file descriptors")
			}
			*fds = append(*fds, got...)
		}
	}
	if n < 4 {
		return io.ErrUnexpectedEOF
	}
	size := int(binary.BigEndian.Uint32(b))
	if size > maxMessage {
		return fmt.Errorf("message of %d bytes", size)
	}
	body := append([]byte(nil), b[4:n]...)
	for len(body) < size { // the rest of a long message, without descriptors
		more := make([]byte, size-len(body))
		k, err := c.Read(more)
		if err != nil {
			return err
		}
		body = append(body, more[:k]...)
	}
	return json.Unmarshal(body[:size], m)
}
