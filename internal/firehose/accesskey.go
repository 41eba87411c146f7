package firehose

import (
	"crypto/sha256"
	"crypto/subtle"
)

// KeySet holds the access keys a receiver accepts. Matching takes the same time whichever key
// matches, and whether any does: every key is compared, and over SHA-256 digests, so neither
// the keys' contents nor their lengths leak through timing.
type KeySet struct {
	digests [][sha256.Size]byte
}

// NewKeySet returns a set of the non-empty keys.
func NewKeySet(keys ...string) KeySet {
	var ks KeySet
	for _, k := range keys {
		if k != "" {
			ks.digests = append(ks.digests, sha256.Sum256([]byte(k)))
		}
	}
	return ks
}

// Len is the number of keys.
func (ks KeySet) Len() int { return len(ks.digests) }

// Match reports whether key is one of the set's keys.
func (ks KeySet) Match(key string) bool {
	got := sha256.Sum256([]byte(key))
	match := 0
	for i := range ks.digests {
		match |= subtle.ConstantTimeCompare(got[:], ks.digests[i][:])
	}
	return match == 1
}
