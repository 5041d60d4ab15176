package call

import "time"

// timer is a slot in the engine's timer heap: a leg's next deadline or a
// call's emission time. Each leg and call owns at most one slot, moved when
// its deadline moves and removed when it is forgotten, so the heap never
// holds more than the live state.
type timer struct {
	at  time.Time
	ls  *legState
	cs  *callState
	idx int // position in the heap, -1 when not in it
}

// timerHeap is a binary min-heap by time with removal.
type timerHeap []*timer

// set puts t in the heap at time at, or moves it there.
func (h *timerHeap) set(t *timer, at time.Time) {
	t.at = at
	if t.idx < 0 {
		t.idx = len(*h)
		*h = append(*h, t)
		h.up(t.idx)
		return
	}
	if !h.up(t.idx) {
		h.down(t.idx)
	}
}

// remove takes t out of the heap if it is in it.
func (h *timerHeap) remove(t *timer) {
	i := t.idx
	if i < 0 {
		return
	}
	s := *h
	last := len(s) - 1
	if i != last {
		s[i] = s[last]
		s[i].idx = i
	}
	s[last] = nil
	*h = s[:last]
	t.idx = -1
	if i != last {
		if !h.up(i) {
			h.down(i)
		}
	}
}

func (h *timerHeap) pop() *timer {
	t := (*h)[0]
	h.remove(t)
	return t
}

func (h timerHeap) up(i int) bool {
	moved := false
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].at.Before(h[p].at) {
			break
		}
		h.swap(i, p)
		i, moved = p, true
	}
	return moved
}

func (h timerHeap) down(i int) {
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].at.Before(h[m].at) {
			m = l
		}
		if r < len(h) && h[r].at.Before(h[m].at) {
			m = r
		}
		if m == i {
			return
		}
		h.swap(i, m)
		i = m
	}
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

// tombstones remember the Call-IDs of emitted calls for 64*T1, so that a
// late retransmission is counted rather than taken for a new leg.
type tombstones struct {
	set   map[string]time.Time
	queue []tombstone
	head  int
}

type tombstone struct {
	id string
	at time.Time
}

func newTombstones() tombstones { return tombstones{set: make(map[string]time.Time)} }

func (t *tombstones) add(id string, until time.Time, limit int) {
	t.set[id] = until
	t.queue = append(t.queue, tombstone{id, until})
	for len(t.set) > limit && t.head < len(t.queue) {
		t.drop()
	}
}

func (t *tombstones) drop() {
	ts := t.queue[t.head]
	t.queue[t.head] = tombstone{}
	t.head++
	if until, ok := t.set[ts.id]; ok && until.Equal(ts.at) {
		delete(t.set, ts.id)
	}
	if t.head > 1024 && t.head*2 > len(t.queue) {
		t.queue = append(t.queue[:0], t.queue[t.head:]...)
		t.head = 0
	}
}

func (t *tombstones) has(id string) bool {
	_, ok := t.set[id]
	return ok
}

func (t *tombstones) expire(now time.Time) {
	for t.head < len(t.queue) && !now.Before(t.queue[t.head].at) {
		t.drop()
	}
}

func (t *tombstones) nextDeadline() time.Time {
	if t.head < len(t.queue) {
		return t.queue[t.head].at
	}
	return time.Time{}
}
