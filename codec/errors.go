package codec

import (
	"errors"
	"fmt"
)

// Kinds of decode failure, for errors.Is. Each one closes the connection it
// arrived on: after a bad frame the stream cannot be trusted.
var (
	// ErrNotTTHeader: the bytes do not start a TTHeader frame (bad magic).
	ErrNotTTHeader = errors.New("not a TTHeader frame")
	// ErrFrameTooLarge: the length prefix exceeds the configured maximum.
	ErrFrameTooLarge = errors.New("frame too large")
	// ErrBadLength: lengths inside the frame disagree with each other.
	ErrBadLength = errors.New("frame lengths disagree")
	// ErrBadHeader: the header's info blocks are malformed.
	ErrBadHeader = errors.New("malformed TTHeader")
	// ErrBadPayload: the payload is not a message the mesh can forward.
	ErrBadPayload = errors.New("unsupported or malformed payload")
)

// Error is a decode failure: a Kind from the list above plus what was seen.
type Error struct {
	Kind   error
	Detail string
}

func (e *Error) Error() string { return "codec: " + e.Kind.Error() + ": " + e.Detail }

// Unwrap lets errors.Is match the Kind.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}
