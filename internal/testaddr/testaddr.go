// Package testaddr hands tests loopback addresses for servers they start themselves.
package testaddr

import (
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Free returns a loopback address with a port that was free a moment ago. The port is
// taken from below the kernel's ephemeral range: a port from "127.0.0.1:0" is one the kernel
// also hands out as the local end of outgoing connections, so a server started later on it (the
// backend that comes up after an outage) could find it in use by some unrelated connection.
func Free(t testing.TB) string {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	low := ephemeralLow()
	if nextPort == 0 {
		nextPort = minTestPort + int(time.Now().UnixNano()%int64(low-minTestPort))
	}
	for range low - minTestPort {
		p := nextPort
		nextPort++
		if nextPort >= low {
			nextPort = minTestPort
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		require.NoError(t, l.Close())
		return addr
	}
	t.Fatalf("no free loopback port in [%d, %d)", minTestPort, low)
	return ""
}

// minTestPort is the lowest port Free hands out.
const minTestPort = 20000

var (
	portMu   sync.Mutex
	nextPort int
)

// ephemeralLow is the first port of the kernel's ephemeral range (32768 when it cannot be read).
func ephemeralLow() int {
	const fallback = 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return fallback
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return fallback
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low <= minTestPort+1000 {
		return fallback
	}
	return low
}
