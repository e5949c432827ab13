package core_test

import "testing"

// BenchmarkDeleteAll deletes a tree of 931 nodes (30 children of the top,
// 30 below each), made again before each run with the timer stopped.
// Run with: go test -run '^$' -bench DeleteAll ./core/
func BenchmarkDeleteAll(b *testing.B) {
	c, _, _ := sharedA(b)
	ctx := ctxA(b)
	for b.Loop() {
		b.StopTimer()
		makeTreeA(b, c, "/t", 30, 2)
		b.StartTimer()
		if err := c.DeleteAll(ctx, "/t"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(931, "nodes/op")
}
