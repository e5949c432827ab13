package lock

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// role is what a contender's node asks for.
type role uint8

const (
	exclusive role = iota // a mutex contender
	reader
	writer
)

// marker is the text that precedes the sequence number in a contender's
// name, and the role it stands for.
type marker struct {
	text string
	role role
}

// contender is one parsed child of a lock's directory.
type contender struct {
	name string
	seq  int32
	role role
}

// parseSeq parses a sequence suffix as ZooKeeper writes it, "%010d" of a
// signed 32-bit counter: ten digits, or a minus sign and nine or ten digits
// once the counter has wrapped.
func parseSeq(s string) (int32, bool) {
	digits := s
	if strings.HasPrefix(s, "-") {
		digits = s[1:]
		if len(s) != 10 && len(s) != 11 {
			return 0, false
		}
	} else if len(s) != 10 {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(v), true
}

// parseContender recognises name as a contender when, after the last
// occurrence of one of the markers, it ends in a sequence number.
func parseContender(name string, markers []marker) (contender, bool) {
	for _, m := range markers {
		i := strings.LastIndex(name, m.text)
		if i < 0 {
			continue
		}
		if seq, ok := parseSeq(name[i+len(m.text):]); ok {
			return contender{name: name, seq: seq, role: m.role}, true
		}
	}
	return contender{}, false
}

// seqBefore orders sequence numbers as serial numbers: a comes before b
// when b is less than 2^31 steps after it. This is numeric order for any
// set of numbers spanning less than 2^31, and stays right when the
// counter wraps from 2147483647 to -2147483648.
func seqBefore(a, b int32) bool { return int32(uint32(a)-uint32(b)) < 0 }

// compareContenders orders by sequence number, then by name.
func compareContenders(a, b contender) int {
	switch {
	case a.seq == b.seq:
		return cmp.Compare(a.name, b.name)
	case seqBefore(a.seq, b.seq):
		return -1
	}
	return 1
}

// contenders returns the children that are contenders, in queue order.
// Other children are ignored.
func contenders(children []string, markers []marker) []contender {
	out := make([]contender, 0, len(children))
	for _, name := range children {
		if c, ok := parseContender(name, markers); ok {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, compareContenders)
	return out
}
