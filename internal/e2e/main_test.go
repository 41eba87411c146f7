package e2e

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Paths resolved by TestMain.
var (
	repoRoot string // the repository root (where go.mod is)
	binary   string // the collector built by ocb
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		if err := setup(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// setup finds the repository and brings the collector binary up to date.
func setup() error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	repoRoot, err = findRepoRoot(wd)
	if err != nil {
		return err
	}
	binary = filepath.Join(repoRoot, "_build", "otelcol-cloudtrail")
	return buildCollector()
}

// statBuildInputs looks at the binary and at what it is built from. go test remembers the
// files a test looked at (from m.Run on), so a cached result of this package is reused only
// while none of them changed: the package's own imports do not include the components.
func statBuildInputs() error {
	if _, err := os.Stat(binary); err != nil {
		return err
	}
	for _, name := range []string{"go.mod", "go.sum", "builder-config.yaml"} {
		if _, err := os.Stat(filepath.Join(repoRoot, name)); err != nil {
			return err
		}
	}
	for _, dir := range []string{"receiver", "exporter", "internal"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			_, err = os.Stat(path)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func findRepoRoot(dir string) (string, error) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "builder-config.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no builder-config.yaml above the working directory")
		}
		dir = parent
	}
}

// buildCollector runs make build, which runs ocb only when go.mod, builder-config.yaml or a
// component's source changed since the last build. Without make, ocb runs when the binary is
// missing.
func buildCollector() error {
	var cmd *exec.Cmd
	if _, err := exec.LookPath("make"); err == nil {
		cmd = exec.Command("make", "--no-print-directory", "build")
	} else if _, err := os.Stat(binary); err != nil {
		cmd = exec.Command("go", "tool", "builder", "--config", "builder-config.yaml")
	} else {
		return nil
	}
	cmd.Dir = repoRoot
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("build the collector (%s): %w\n%s", cmd, err, out)
	}
	if d := time.Since(start); d > 5*time.Second {
		fmt.Fprintf(os.Stderr, "e2e: built %s in %s\n", binary, d.Round(time.Second))
	}
	return nil
}

var statOnce = sync.OnceValue(statBuildInputs)

// skipShort skips end-to-end tests under go test -short; otherwise it makes go test's result
// cache depend on the collector's sources.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: runs the collector binary")
	}
	require.NoError(t, statOnce())
}
