package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCPUIdle(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		expect string
	}{
		{"no cpuidle", nil, ""},
		{"driver none", map[string]string{"devices/system/cpu/cpuidle/current_driver": "none\n"}, ""},
		{"other driver", map[string]string{"devices/system/cpu/cpuidle/current_driver": "intel_idle\n"}, "intel_idle"},
		{"haltpoll without polling", map[string]string{
			"devices/system/cpu/cpuidle/current_driver":     "haltpoll\n",
			"module/haltpoll/parameters/guest_halt_poll_ns": "0\n",
		}, "haltpoll, polls 0s before halting"},
		{"haltpoll polling", map[string]string{
			"devices/system/cpu/cpuidle/current_driver":     "haltpoll\n",
			"module/haltpoll/parameters/guest_halt_poll_ns": "200000\n",
		}, "haltpoll, polls 200µs before halting"},
		{"haltpoll, setting unreadable", map[string]string{"devices/system/cpu/cpuidle/current_driver": "haltpoll\n"}, "haltpoll"},
	}
	defer func(dir string) { sysDir = dir }(sysDir)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sysDir = t.TempDir()
			for path, content := range tc.files {
				full := filepath.Join(sysDir, path)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := cpuIdle(); got != tc.expect {
				t.Errorf("cpuIdle() = %q, want %q", got, tc.expect)
			}
		})
	}
}
