package firehose

import (
	"container/list"
	"sync"
	"time"
)

// Deduplicator remembers the request ids of recently acknowledged requests so that a batch
// Firehose retries after missing our 200 is acknowledged again without being ingested twice.
// Memory is bounded by size entries; entries expire after ttl.
type Deduplicator struct {
	mu       sync.Mutex
	size     int
	ttl      time.Duration
	order    *list.List // of *dedupEntry, oldest first
	acked    map[string]*list.Element
	inFlight map[string]struct{}
}

type dedupEntry struct {
	key string
	at  time.Time
}

// Outcome is what Begin found.
type Outcome int

const (
	// New means the request is not known: process it, then call Done.
	New Outcome = iota
	// Duplicate means the request was acknowledged recently: answer 200 without ingesting.
	Duplicate
	// InFlight means the same request is being processed right now: answer a retryable error.
	InFlight
)

// NewDeduplicator returns a Deduplicator; size <= 0 disables it (every request is New).
func NewDeduplicator(size int, ttl time.Duration) *Deduplicator {
	return &Deduplicator{
		size:     size,
		ttl:      ttl,
		order:    list.New(),
		acked:    make(map[string]*list.Element),
		inFlight: make(map[string]struct{}),
	}
}

// Key builds the identity of a request: the same request id from another stream is another request.
func Key(sourceARN, requestID string) string { return sourceARN + "\x00" + requestID }

// Begin classifies a request. A New request is marked in flight until Done.
func (d *Deduplicator) Begin(key string, now time.Time) Outcome {
	if d.size <= 0 {
		return New
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(now)
	if _, ok := d.acked[key]; ok {
		return Duplicate
	}
	if _, ok := d.inFlight[key]; ok {
		return InFlight
	}
	d.inFlight[key] = struct{}{}
	return New
}

// Done ends a New request; acked records it as acknowledged.
func (d *Deduplicator) Done(key string, acked bool, now time.Time) {
	if d.size <= 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.inFlight, key)
	if !acked {
		return
	}
	d.acked[key] = d.order.PushBack(&dedupEntry{key: key, at: now})
	for d.order.Len() > d.size {
		d.remove(d.order.Front())
	}
}

// Len is the number of acknowledged requests remembered.
func (d *Deduplicator) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.order.Len()
}

func (d *Deduplicator) expire(now time.Time) {
	for e := d.order.Front(); e != nil; e = d.order.Front() {
		if now.Sub(e.Value.(*dedupEntry).at) < d.ttl {
			return
		}
		d.remove(e)
	}
}

func (d *Deduplicator) remove(e *list.Element) {
	delete(d.acked, e.Value.(*dedupEntry).key)
	d.order.Remove(e)
}
