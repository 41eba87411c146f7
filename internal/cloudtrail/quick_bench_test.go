package cloudtrail

import (
	"bufio"
	"os"
	"testing"
	"time"
)

func BenchmarkQuickBare(b *testing.B) {
	f, _ := os.Open("../../testdata/cloudtrail/panther-analysis-cloudtrail.ndjson")
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var lines [][]byte
	total := 0
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
		total += len(sc.Bytes())
	}
	buf := make([][]byte, len(lines))
	for _, raw := range []bool{false, true} {
		b.Run(map[bool]string{false: "map", true: "raw"}[raw], func(b *testing.B) {
			d := NewDecoder(Options{ScopeName: "x", RawBody: raw})
			b.ReportAllocs()
			b.SetBytes(int64(total))
			for b.Loop() {
				for i, l := range lines {
					buf[i] = append(buf[i][:0], l...)
				}
				d.Begin(Request{RequestID: "r1", Received: time.Now()})
				for i, l := range buf {
					d.AddRecord(i, l)
				}
				d.Finish()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines))/1000, "µs/event")
		})
	}
}
