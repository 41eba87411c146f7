package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/testaddr"
)

// Timeouts of the collector's life cycle. They bound waits that normally take a second; a
// loaded CI machine may need much longer than that.
const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 60 * time.Second
	pollInterval = 50 * time.Millisecond
)

// configEnvPrefixes are the prefixes of the environment variables the shipped configurations
// read. A child collector gets the test's environment without them, so that a developer's own
// settings (FIREHOSE_ACCESS_KEY, OTELCOL_DATA_DIR, ...) cannot leak into a test.
var configEnvPrefixes = []string{"FIREHOSE_", "OTELCOL_", "OTLP_", "OPENOBSERVE_"}

// port returns the port of a host:port address.
func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	return p
}

// instance is the environment of one collector run on the shipped configurations: where it
// listens and stores. Several runs (a restart) can share one.
type instance struct {
	accessKey string
	firehose  string // host:port of the Firehose receiver
	health    string // host:port of the health check
	metrics   string // host:port of the Prometheus self-metrics
	dataDir   string // the local archive
	extra     map[string]string
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	return &instance{
		accessKey: "e2e-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")),
		firehose:  testaddr.Free(t),
		health:    testaddr.Free(t),
		metrics:   testaddr.Free(t),
		dataDir:   t.TempDir(),
		extra:     map[string]string{},
	}
}

// env is the environment the shipped configurations read (see collector-config.yaml).
func (in *instance) env(t *testing.T) map[string]string {
	env := map[string]string{
		"FIREHOSE_ACCESS_KEY":           in.accessKey,
		"FIREHOSE_ENDPOINT":             in.firehose,
		"OTELCOL_DATA_DIR":              in.dataDir,
		"OTELCOL_HEALTH_CHECK_ENDPOINT": in.health,
		"OTELCOL_METRICS_HOST":          "127.0.0.1",
		"OTELCOL_METRICS_PORT":          port(t, in.metrics),
	}
	maps.Copy(env, in.extra)
	return env
}

// firehoseURL is where a Firehose stream would deliver to.
func (in *instance) firehoseURL() string { return "http://" + in.firehose + "/" }

// collector is one running collector process.
type collector struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // the exit status, once done is closed
}

// startCollector runs the collector on config with env (on top of the test's environment
// without the configurations' variables) and extra arguments. The process is killed when the
// test ends, if it still runs; its output is logged when the test failed.
func startCollector(t *testing.T, name, config string, env map[string]string, args ...string) *collector {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--config", config}, args...)...)
	cmd.Dir = t.TempDir() // relative defaults (./data, ./queue) stay out of the repository
	cmd.Env = childEnv(env)
	cmd.SysProcAttr = childSysProcAttr()
	c := &collector{t: t, name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	require.NoError(t, cmd.Start(), "start %s", name)
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		if !c.exited() {
			_ = cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("output of %s (pid %d):\n%s", name, cmd.Process.Pid, c.out.String())
		}
	})
	return c
}

func childEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(configEnvPrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			out = append(out, kv)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func (c *collector) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// waitHealthy polls the health check at addr until it answers 200, and fails the test when
// the process exits first or the time runs out.
func (c *collector) waitHealthy(addr string) {
	c.t.Helper()
	url := "http://" + addr + "/"
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if status, _, err := httpGet(url); err == nil && status == http.StatusOK {
			return
		}
		select {
		case <-c.done:
			c.t.Fatalf("%s exited before it was healthy: %v\n%s", c.name, c.err, c.out.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s not healthy at %s after %s", c.name, url, readyTimeout)
		}
	}
}

// stop asks the collector to shut down (SIGTERM) and checks that it exits cleanly.
func (c *collector) stop() {
	c.t.Helper()
	require.NoError(c.t, c.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-c.done:
		require.NoError(c.t, c.err, "%s did not exit cleanly", c.name)
	case <-time.After(stopTimeout):
		c.t.Fatalf("%s did not stop within %s", c.name, stopTimeout)
	}
}

// kill kills the collector with SIGKILL, leaving whatever it was doing unfinished.
func (c *collector) kill() {
	c.t.Helper()
	require.NoError(c.t, c.cmd.Process.Signal(syscall.SIGKILL))
	<-c.done
}

// waitExit waits for the collector to exit on its own and returns its exit status.
func (c *collector) waitExit(timeout time.Duration) error {
	c.t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(timeout):
		c.t.Fatalf("%s still running after %s", c.name, timeout)
		return nil
	}
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func httpGet(url string) (int, []byte, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// healthStatus returns the health check's status code and its "status" field.
func healthStatus(t *testing.T, addr string) (int, string) {
	t.Helper()
	code, body, err := httpGet("http://" + addr + "/")
	require.NoError(t, err)
	var doc struct {
		Status string `json:"status"`
	}
	require.NoError(t, json.Unmarshal(body, &doc), "health check body %q", body)
	return code, doc.Status
}

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// metrics is a scrape of the collector's self-metrics.
type metrics []sample

// scrapeMetrics reads the self-metrics at addr.
func scrapeMetrics(t *testing.T, addr string) metrics {
	t.Helper()
	code, body, err := httpGet("http://" + addr + "/metrics")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	m, err := parsePrometheusText(body)
	require.NoError(t, err)
	return m
}

// parsePrometheusText reads the sample lines of the Prometheus text exposition format.
func parsePrometheusText(text []byte) (metrics, error) {
	var m metrics
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		m = append(m, s)
	}
	return m, sc.Err()
}

func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	rest := line
	if i := strings.IndexAny(rest, "{ "); i < 0 {
		return s, errors.New("no value")
	} else {
		s.name, rest = rest[:i], rest[i:]
	}
	if strings.HasPrefix(rest, "{") {
		rest = rest[1:]
		for !strings.HasPrefix(rest, "}") {
			name, after, ok := strings.Cut(rest, "=")
			if !ok || !strings.HasPrefix(after, `"`) {
				return s, errors.New("malformed label")
			}
			value, tail, err := cutQuoted(after)
			if err != nil {
				return s, err
			}
			s.labels[strings.TrimSpace(name)] = value
			rest = strings.TrimPrefix(tail, ",")
		}
		rest = rest[1:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return s, errors.New("no value")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, err
	}
	s.value = v
	return s, nil
}

// cutQuoted reads the quoted label value at the start of s and returns it and what follows.
func cutQuoted(s string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) {
				return "", "", errors.New("unterminated label value")
			}
			i++
			if s[i] == 'n' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated label value")
}

// sum adds up the samples of name whose labels include the given ones (name=value pairs);
// found is false when there is none.
func (m metrics) sum(name string, labels ...string) (total float64, found bool) {
	for _, s := range m {
		if s.name != name || !hasLabels(s.labels, labels) {
			continue
		}
		total += s.value
		found = true
	}
	return total, found
}

func hasLabels(have map[string]string, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		if have[want[i]] != want[i+1] {
			return false
		}
	}
	return true
}

// value is sum for a counter that must exist.
func (m metrics) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, ok := m.sum(name, labels...)
	require.True(t, ok, "no metric %s%v", name, labels)
	return v
}

// waitMetric polls the self-metrics at addr until name (with labels) reaches want.
func waitMetric(t *testing.T, addr string, want float64, name string, labels ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last float64
	for {
		code, body, err := httpGet("http://" + addr + "/metrics")
		if err == nil && code == http.StatusOK {
			if m, err := parsePrometheusText(body); err == nil {
				last, _ = m.sum(name, labels...)
				if last == want {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("metric %s%v at %s is %v after %s, want %v", name, labels, addr, last, readyTimeout, want)
		case <-tick.C:
		}
	}
}

// writeConfig writes a per-test configuration file and returns its path.
func writeConfig(t *testing.T, name, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path
}

// shipped is the path of a configuration shipped in the repository.
func shipped(rel string) string { return filepath.Join(repoRoot, filepath.FromSlash(rel)) }
