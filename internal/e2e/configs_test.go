package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/testaddr"
)

// shippedConfigs are the configurations users run: the default and the ready-made ones.
func shippedConfigs(t *testing.T) []string {
	t.Helper()
	more, err := filepath.Glob(filepath.Join(repoRoot, "testdata", "configs", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, more)
	return append([]string{filepath.Join(repoRoot, "collector-config.yaml")}, more...)
}

// envRef matches ${env:NAME}, ${env:NAME:-default} and ${NAME} in a configuration.
var envRef = regexp.MustCompile(`\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// validationEnv gives every environment variable a shipped configuration reads without a
// default a plausible value. A configuration that reads another one fails the test below:
// add the variable here.
func validationEnv(t *testing.T) map[string]string {
	dir := t.TempDir()
	return map[string]string{
		"FIREHOSE_ACCESS_KEY":  "e2e-validation-key",
		"OTLP_ENDPOINT":        "http://127.0.0.1:4318",
		"OTLP_AUTHORIZATION":   "Bearer e2e-validation-token",
		"OTELCOL_DATA_DIR":     filepath.Join(dir, "data"),
		"OTELCOL_QUEUE_DIR":    filepath.Join(dir, "queue"),
		"OPENOBSERVE_ENDPOINT": "http://127.0.0.1:5080",
		"OPENOBSERVE_URL":      "http://127.0.0.1:5080",
		"OPENOBSERVE_ORG":      "default",
		"OPENOBSERVE_STREAM":   "cloudtrail",
		"OPENOBSERVE_USER":     "root@example.com",
		"OPENOBSERVE_USERNAME": "root@example.com",
		"OPENOBSERVE_PASSWORD": "e2e-validation-password",
		"OPENOBSERVE_TOKEN":    "e2e-validation-token",
		// The access key OpenObserve's own Firehose endpoint takes: base64(user:secret).
		"OPENOBSERVE_ACCESS_KEY": "cm9vdEBleGFtcGxlLmNvbTplMmUtdmFsaWRhdGlvbi1wYXNzd29yZA==",
	}
}

func TestShippedConfigurationsAreValid(t *testing.T) {
	skipShort(t)
	t.Parallel()
	for _, path := range shippedConfigs(t) {
		name, _ := filepath.Rel(repoRoot, path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			text, err := os.ReadFile(path)
			require.NoError(t, err)
			env := validationEnv(t)
			for _, line := range strings.Split(string(text), "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "#") {
					continue
				}
				for _, m := range envRef.FindAllStringSubmatch(line, -1) {
					if _, ok := env[m[1]]; !ok && m[2] == "" {
						t.Errorf("%s reads ${%s} without a default: give it a value in validationEnv", name, m[1])
					}
				}
			}
			cmd := exec.Command(binary, "validate", "--config", path)
			cmd.Dir = t.TempDir()
			cmd.Env = childEnv(env)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s validate --config %s:\n%s", filepath.Base(binary), name, out)
		})
	}
}

// minimalConfig is a valid configuration around the receiver and exporter options given
// (indented under their component), listening on a free port and writing to a temporary
// directory unless the exporter options name another.
func minimalConfig(t *testing.T, receiver, exporter string) string {
	if !strings.Contains(exporter, "directory:") {
		exporter = "    directory: " + strconv.Quote(t.TempDir()) + "\n" + exporter
	}
	return fmt.Sprintf(`
receivers:
  awsfirehosecloudtrail:
    endpoint: %s
%s
exporters:
  localstorage:
%s
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [awsfirehosecloudtrail]
      exporters: [localstorage]
`, testaddr.Free(t), receiver, exporter)
}

func TestBadConfigurationIsRefusedAtStartNamingTheKey(t *testing.T) {
	skipShort(t)
	t.Parallel()
	tests := []struct {
		name     string
		config   func(t *testing.T) string // a path
		wantKeys []string                  // all in the error output
	}{
		{
			name: "the default configuration without FIREHOSE_ACCESS_KEY names access_key",
			config: func(*testing.T) string {
				return filepath.Join(repoRoot, "collector-config.yaml")
			},
			wantKeys: []string{"receivers::awsfirehosecloudtrail", "access_key"},
		},
		{
			name: "a misspelt receiver option is named",
			config: func(t *testing.T) string {
				return writeConfig(t, "c.yaml", minimalConfig(t, "    acces_key: k", ""))
			},
			wantKeys: []string{"awsfirehosecloudtrail", "acces_key"},
		},
		{
			name: "an unknown body format names body_format",
			config: func(t *testing.T) string {
				return writeConfig(t, "c.yaml", minimalConfig(t, "    access_key: k\n    body_format: xml", ""))
			},
			wantKeys: []string{"receivers::awsfirehosecloudtrail", "body_format"},
		},
		{
			name: "a zero de-duplication ttl names deduplication::ttl",
			config: func(t *testing.T) string {
				return writeConfig(t, "c.yaml", minimalConfig(t, "    access_key: k\n    deduplication:\n      ttl: 0s", ""))
			},
			wantKeys: []string{"receivers::awsfirehosecloudtrail", "deduplication::ttl"},
		},
		{
			name: "an unknown archive format names format",
			config: func(t *testing.T) string {
				return writeConfig(t, "c.yaml", minimalConfig(t, "    access_key: k", "    format: parquet"))
			},
			wantKeys: []string{"exporters::localstorage", "format", "parquet"},
		},
		{
			name: "an empty archive directory names directory",
			config: func(t *testing.T) string {
				return writeConfig(t, "c.yaml", minimalConfig(t, "    access_key: k", `    directory: ""`))
			},
			wantKeys: []string{"exporters::localstorage", "directory"},
		},
		{
			name: "a misspelt component type is named",
			config: func(t *testing.T) string {
				text := minimalConfig(t, "    access_key: k", "  localstorge: {}")
				return writeConfig(t, "c.yaml", text)
			},
			wantKeys: []string{"localstorge"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := startCollector(t, "collector", tt.config(t), nil)
			err := c.waitExit(stopTimeout)
			require.Error(t, err, "the collector accepted the configuration")
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit)
			assert.NotZero(t, exit.ExitCode())
			out := c.out.String()
			for _, key := range tt.wantKeys {
				assert.Contains(t, out, key)
			}
		})
	}
}
