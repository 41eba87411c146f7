package localstorageexporter

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// archiveEntry is a file placed in an archive for a retention test.
type archiveEntry struct {
	path string // relative, slash-separated
	size int
	age  time.Duration // modification time before the clock's now
}

func TestRetention(t *testing.T) {
	const (
		old     = "AWSLogs/111111111111/CloudTrail/us-east-1/2025/01/01/111111111111_CloudTrail_us-east-1_20250101T0000Z_AAAAAAAAAAAAAAAA.json.gz"
		middle  = "AWSLogs/111111111111/CloudTrail/us-east-1/2025/01/02/111111111111_CloudTrail_us-east-1_20250102T0000Z_BBBBBBBBBBBBBBBB.json.gz"
		recent  = "otlp/2025/01/03/logs_20250103T0000Z_CCCCCCCCCCCCCCCC.jsonl.gz"
		open    = "otlp/2025/01/03/.logs_20250103T0100Z_DDDDDDDDDDDDDDDD.jsonl.gz.partial"
		oldOpen = "AWSLogs/111111111111/CloudTrail/us-east-1/2024/12/31/.111111111111_CloudTrail_us-east-1_20241231T0000Z_EEEEEEEEEEEEEEEE.json.gz.partial"
		foreign = "AWSLogs/notes.txt"
	)
	entries := []archiveEntry{
		{path: old, size: 100, age: 72 * time.Hour},
		{path: middle, size: 100, age: 48 * time.Hour},
		{path: recent, size: 100, age: time.Hour},
		{path: open, size: 50, age: 0},
		{path: oldOpen, size: 50, age: 100 * time.Hour},
		{path: foreign, size: 1000, age: 1000 * time.Hour},
	}
	tests := []struct {
		name         string
		retention    time.Duration
		maxTotalSize int64
		want         []string
		wantDirsGone []string
	}{
		{
			name: "nothing is removed when neither retention nor max_total_size is set",
			want: []string{old, middle, recent, open, oldOpen, foreign},
		},
		{
			name:         "finished files older than retention are removed",
			retention:    60 * time.Hour,
			want:         []string{middle, recent, open, oldOpen, foreign},
			wantDirsGone: []string{"AWSLogs/111111111111/CloudTrail/us-east-1/2025/01/01"},
		},
		{
			name:         "the oldest finished files are removed until the archive fits max_total_size",
			maxTotalSize: 260, // 300 finished + 100 in progress (foreign files do not count)
			want:         []string{recent, open, oldOpen, foreign},
			wantDirsGone: []string{"AWSLogs/111111111111/CloudTrail/us-east-1/2025/01/01", "AWSLogs/111111111111/CloudTrail/us-east-1/2025/01/02"},
		},
		{
			name:         "both limits apply",
			retention:    60 * time.Hour,
			maxTotalSize: 350,
			want:         []string{middle, recent, open, oldOpen, foreign},
		},
		{
			name:         "in-progress and foreign files are never removed, even over max_total_size",
			retention:    time.Minute,
			maxTotalSize: 4,
			want:         []string{open, oldOpen, foreign},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			cfg := testConfig(t, func(c *Config) {
				c.Retention = tt.retention
				c.MaxTotalSize = tt.maxTotalSize
				c.MaxFileSize = 1
			})
			for _, en := range entries {
				p := filepath.Join(cfg.Directory, filepath.FromSlash(en.path))
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o750))
				require.NoError(t, os.WriteFile(p, make([]byte, en.size), 0o600))
				mt := clock.now().Add(-en.age)
				require.NoError(t, os.Chtimes(p, mt, mt))
			}
			e := newTestExporter(t, cfg, hooks{now: clock.now})
			e.enforceRetention()

			var got []string
			for _, f := range listFiles(t, cfg.Directory) {
				got = append(got, filepath.ToSlash(f))
			}
			assert.ElementsMatch(t, tt.want, got)
			for _, d := range tt.wantDirsGone {
				assert.NoDirExists(t, filepath.Join(cfg.Directory, filepath.FromSlash(d)), "emptied directories are removed")
			}
			assert.DirExists(t, filepath.Join(cfg.Directory, cloudTrailTop), "top-level folders stay")
		})
	}
}

func TestRetentionRunsAfterRotation(t *testing.T) {
	clock := newFakeClock()
	cfg := testConfig(t, func(c *Config) {
		c.MaxFileSize = 1
		c.MaxTotalSize = 4 // the smallest valid value
	})
	e := startTestExporter(t, cfg, hooks{now: clock.now})
	first, _ := twoBatches(t)
	require.NoError(t, e.consumeLogs(t.Context(), buildLogs(t, first, false)))
	regularFiles := func() int { // tolerates directories removed while it walks
		n := 0
		_ = filepath.WalkDir(cfg.Directory, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				n++
			}
			return nil
		})
		return n
	}
	assert.Eventually(t, func() bool { return regularFiles() == 0 }, 10*time.Second, 10*time.Millisecond,
		"the rotated file is over max_total_size and removed by the maintenance goroutine")
}
