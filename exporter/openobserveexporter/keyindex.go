package openobserveexporter

// keyIndex maps 64-bit key hashes to small integers with open addressing. reset is O(1): slots
// of an older generation count as empty, so a row's index costs nothing to clear.
type keyIndex struct {
	slots []keySlot
	gen   uint32
	n     int
}

type keySlot struct {
	hash uint64
	gen  uint32
	val  int32
}

func (ix *keyIndex) reset() {
	ix.gen++
	ix.n = 0
	if ix.gen == 0 { // wrapped: old stamps could collide with new ones
		clear(ix.slots)
		ix.gen = 1
	}
}

func (ix *keyIndex) len() int { return ix.n }

// put stores val under h and returns the value h held before, if any.
func (ix *keyIndex) put(h uint64, val int32) (int32, bool) {
	if ix.gen == 0 { // never reset: generation 0 is what fresh slots hold
		ix.gen = 1
	}
	if (ix.n+1)*2 > len(ix.slots) {
		ix.grow()
	}
	mask := uint64(len(ix.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &ix.slots[i]
		if s.gen != ix.gen {
			*s = keySlot{hash: h, gen: ix.gen, val: val}
			ix.n++
			return 0, false
		}
		if s.hash == h {
			old := s.val
			s.val = val
			return old, true
		}
	}
}

// add inserts h and reports whether it was new.
func (ix *keyIndex) add(h uint64) bool {
	_, found := ix.put(h, 0)
	return !found
}

func (ix *keyIndex) grow() {
	old := ix.slots
	size := 64
	if len(old) > 0 {
		size = len(old) * 2
	}
	ix.slots = make([]keySlot, size)
	mask := uint64(size - 1)
	for _, s := range old {
		if s.gen != ix.gen {
			continue
		}
		for i := s.hash & mask; ; i = (i + 1) & mask {
			if ix.slots[i].gen != ix.gen {
				ix.slots[i] = s
				break
			}
		}
	}
}
