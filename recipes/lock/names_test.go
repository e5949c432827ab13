package lock

import (
	"slices"
	"testing"
)

func TestParseSeq(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int32
		ok   bool
	}{
		{"0000000000", 0, true},
		{"0000000042", 42, true},
		{"2147483647", 2147483647, true},
		{"-2147483648", -2147483648, true}, // the wrap: eleven characters
		{"-000000001", -1, true},           // "%010d" of -1
		{"-999999999", -999999999, true},
		{"-1000000000", -1000000000, true},
		{"42", 0, false},
		{"00000000042", 0, false},
		{"000000004x", 0, false},
		{"-00000000001", 0, false},
		{"2147483648", 0, false},
		{"+000000001", 0, false},
		{"", 0, false},
	} {
		got, ok := parseSeq(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseSeq(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseContender(t *testing.T) {
	const uuid = "_c_1ccdb2b9-7f9a-4570-9555-201c91ec2dcb-"
	for _, tt := range []struct {
		name    string
		markers []marker
		seq     int32
		role    role
		ok      bool
	}{
		{uuid + "lock-0000000042", mutexMarkers, 42, exclusive, true},
		{uuid + "lock--2147483648", mutexMarkers, -2147483648, exclusive, true},
		{"_c_0123456789abcdef0123456789abcdef-lock-0000000007", mutexMarkers, 7, exclusive, true},
		{"0123456789abcdef0123456789abcdef__lock__0000000007", mutexMarkers, 7, exclusive, true},
		{"lock-0000000001", mutexMarkers, 1, exclusive, true},
		{"readme", mutexMarkers, 0, 0, false},
		{uuid + "lock-", mutexMarkers, 0, 0, false},
		{uuid + "latch-0000000001", mutexMarkers, 0, 0, false},
		{"x__rlock__0000000001", mutexMarkers, 0, 0, false},
		{uuid + "__READ__0000000003", rwMarkers, 3, reader, true},
		{uuid + "__WRIT__0000000004", rwMarkers, 4, writer, true},
		{"0123456789abcdef0123456789abcdef__rlock__0000000005", rwMarkers, 5, reader, true},
		{"0123456789abcdef0123456789abcdef__lock__0000000006", rwMarkers, 6, writer, true},
		{uuid + "lock-0000000001", rwMarkers, 0, 0, false},
	} {
		c, ok := parseContender(tt.name, tt.markers)
		if ok != tt.ok || c.seq != tt.seq || c.role != tt.role {
			t.Errorf("parseContender(%q) = %+v, %v; want seq %d role %d, %v", tt.name, c, ok, tt.seq, tt.role, tt.ok)
		}
	}
}

func TestContendersOrder(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []string
		want []string
	}{{
		name: "numeric, not by name",
		in:   []string{"_c_f-lock-0000000010", "_c_a-lock-0000000002", "_c_0-lock-0000000100"},
		want: []string{"_c_a-lock-0000000002", "_c_f-lock-0000000010", "_c_0-lock-0000000100"},
	}, {
		name: "across the wrap",
		in:   []string{"a-lock--2147483647", "b-lock-2147483646", "c-lock--2147483648", "d-lock-2147483647"},
		want: []string{"b-lock-2147483646", "d-lock-2147483647", "c-lock--2147483648", "a-lock--2147483647"},
	}, {
		name: "after the wrap",
		in:   []string{"a-lock--000000005", "b-lock--000000010", "c-lock--1000000000", "d-lock-0000000003"},
		want: []string{"c-lock--1000000000", "b-lock--000000010", "a-lock--000000005", "d-lock-0000000003"},
	}, {
		name: "unrelated children ignored",
		in:   []string{"readme", "x-lock-0000000002", "locks", "y__lock__0000000001"},
		want: []string{"y__lock__0000000001", "x-lock-0000000002"},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range contenders(tt.in, mutexMarkers) {
				got = append(got, c.name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("order %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBlockedBy(t *testing.T) {
	if readScheme(false).blockedBy(reader) {
		t.Error("a reader waits for a reader")
	}
	if !readScheme(false).blockedBy(writer) {
		t.Error("a reader does not wait for a writer")
	}
	for _, r := range []role{reader, writer} {
		if !writeScheme(false).blockedBy(r) {
			t.Errorf("a writer does not wait for role %d", r)
		}
	}
}
