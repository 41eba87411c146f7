package replay

import (
	"fmt"
	"io"
	"time"
)

// ProgressPrinter returns a Sender.Progress that writes a line of statistics to w at most once
// per interval (every call when interval is zero).
func ProgressPrinter(w io.Writer, interval time.Duration) func(Stats) {
	start := time.Now()
	last := start
	return func(s Stats) {
		now := time.Now()
		if now.Sub(last) < interval {
			return
		}
		last = now
		elapsed := now.Sub(start)
		_, _ = fmt.Fprintf(w, "progress: elapsed=%s records_per_second=%.0f %s\n",
			elapsed.Round(time.Millisecond), float64(s.RecordsSent)/max(elapsed.Seconds(), 1e-9), s)
	}
}
