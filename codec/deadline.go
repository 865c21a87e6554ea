package codec

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"
)

// CallerTimeout returns the caller's timeout for the call (IntKeyRPCTimeout,
// decimal milliseconds). ok is false when the frame carries none, or a value
// that is not a positive number. A timeout longer than a time.Duration holds
// is the longest one.
func (h *Header) CallerTimeout(frame []byte) (d time.Duration, ok bool) {
	if h.timeoutLen == 0 {
		return 0, false
	}
	field := frame[h.timeoutOff : h.timeoutOff+h.timeoutLen]
	for len(field) > 1 && field[0] == '0' { // zero padding, as SetCallerTimeout writes it
		field = field[1:]
	}
	if len(field) > 18 {
		return 0, false
	}
	var ms int64
	for _, c := range field {
		if c < '0' || c > '9' {
			return 0, false
		}
		ms = ms*10 + int64(c-'0')
	}
	if ms <= 0 {
		return 0, false
	}
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64, true
	}
	return time.Duration(ms) * time.Millisecond, true
}

// timeoutMillis is d in whole milliseconds, at least 1: a Kitex server reads
// 0 as "no timeout".
func timeoutMillis(d time.Duration) int64 {
	return max(int64(d/time.Millisecond), 1)
}

// SetCallerTimeout rewrites, in place, the caller's timeout that the frame
// carries to d (whole milliseconds, at least 1), zero-padded to the width of
// the value it replaces, so that the next hop sees the budget that is left.
// It reports false, changing nothing, when the frame carries no timeout or
// d needs more digits than the value has.
func (h *Header) SetCallerTimeout(frame []byte, d time.Duration) bool {
	if h.timeoutLen == 0 {
		return false
	}
	var digits [20]byte
	v := strconv.AppendInt(digits[:0], timeoutMillis(d), 10)
	if len(v) > h.timeoutLen {
		return false
	}
	dst := frame[h.timeoutOff : h.timeoutOff+h.timeoutLen]
	pad := len(dst) - len(v)
	for i := range pad {
		dst[i] = '0'
	}
	copy(dst[pad:], v)
	return true
}

// AppendWithCallerTimeout appends to dst a copy of the decoded frame that
// carries d as the caller's timeout: the header gets one more int info
// block, so a later SetCallerTimeout on the copy (decoded again) can lower
// it in place. Use it for a frame without a timeout (SetCallerTimeout
// reported false); it fails only when the header would outgrow
// MaxHeaderSize.
func (h *Header) AppendWithCallerTimeout(dst, frame []byte, d time.Duration) ([]byte, error) {
	start := len(dst)
	dst = append(dst, frame[:h.infoEnd]...)
	dst = append(dst, infoIntKV, 0, 1)
	dst = binary.BigEndian.AppendUint16(dst, IntKeyRPCTimeout)
	var digits [20]byte
	v := strconv.AppendInt(digits[:0], timeoutMillis(d), 10)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(v)))
	dst = append(dst, v...)
	for (len(dst)-start-MetaSize)%4 != 0 {
		dst = append(dst, infoPadding)
	}
	size := len(dst) - start - MetaSize
	if size > MaxHeaderSize {
		return dst[:start], errorf(ErrBadHeader, "header of %d bytes with a timeout added is over the %d-byte limit", size, MaxHeaderSize)
	}
	binary.BigEndian.PutUint16(dst[start+12:], uint16(size/4))
	dst = append(dst, frame[h.payloadStart:]...)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst, nil
}
