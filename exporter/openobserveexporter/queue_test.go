package openobserveexporter

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/openobserveexporter/internal/metadatatest"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/openobservetest"
)

// memStorage is a storage extension that keeps its data across exporter instances, as
// file_storage keeps it across collector restarts.
type memStorage struct {
	component.StartFunc
	component.ShutdownFunc
	mu   sync.Mutex
	data map[string][]byte
}

func (s *memStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return &memClient{s: s}, nil
}

type memClient struct{ s *memStorage }

func (c *memClient) Get(_ context.Context, key string) ([]byte, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.data[key], nil
}

func (c *memClient) Set(_ context.Context, key string, value []byte) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.data[key] = append([]byte(nil), value...)
	return nil
}

func (c *memClient) Delete(_ context.Context, key string) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	delete(c.s.data, key)
	return nil
}

func (c *memClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value, _ = c.Get(ctx, op.Key)
		case storage.Set:
			_ = c.Set(ctx, op.Key, op.Value)
		case storage.Delete:
			_ = c.Delete(ctx, op.Key)
		}
	}
	return nil
}

func (c *memClient) Close(context.Context) error { return nil }

type storageHost struct {
	ext map[component.ID]component.Component
}

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h.ext }

// TestPersistentQueueDeliversAfterARestart queues records while OpenObserve is down, stops the
// exporter, starts a new one on the same storage once OpenObserve is back, and finds every
// record stored exactly once.
func TestPersistentQueueDeliversAfterARestart(t *testing.T) {
	srv := openobservetest.NewServer(t, openobservetest.Options{})
	storageID := component.MustNewID("file_storage")
	host := storageHost{ext: map[component.ID]component.Component{storageID: &memStorage{data: map[string][]byte{}}}}
	cfg := testConfig()
	cfg.Endpoint = srv.URL()
	queue := exporterhelper.NewDefaultQueueConfig()
	queue.StorageID = &storageID
	queue.NumConsumers = 1
	cfg.QueueConfig = configoptional.Some(queue)
	cfg.RetryConfig.InitialInterval = 20 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 20 * time.Millisecond
	require.NoError(t, cfg.Validate())

	start := func() func() {
		exp, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(componenttest.NewTelemetry()), cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(context.Background(), host))
		require.NoError(t, exp.ConsumeLogs(context.Background(), genericLogs(3)))
		return func() { require.NoError(t, exp.Shutdown(context.Background())) }
	}

	srv.Inject(openobservetest.Response{Status: 503, Times: 1_000_000})
	stop := start()
	assert.Eventually(t, func() bool { return srv.Counters().ByStatus[503] >= 2 }, 5*time.Second, 10*time.Millisecond, "the first batch is being retried")
	stop()
	assert.Zero(t, srv.RowCount("default", "cloudtrail_events"))

	// OpenObserve is back; a new exporter on the same storage sends the queued batch, then a new one.
	srv.ClearInjections()
	stop = start()
	defer stop()
	assert.Eventually(t, func() bool { return srv.RowCount("default", "cloudtrail_events") == 6 }, 5*time.Second, 10*time.Millisecond)
}
