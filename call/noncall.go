package call

import (
	"net/netip"
	"strings"
	"time"
)

// nonCall follows transactions outside INVITE dialogs (REGISTER, OPTIONS,
// SUBSCRIBE, NOTIFY, MESSAGE, ...) only far enough to count them once each
// with their outcome and to recognise their retransmissions.
type nonCall struct {
	txns  map[ncKey]*ncTxn
	queue []*ncTxn
	head  int
}

type ncKey struct {
	callID string
	branch string
	host   string
	port   int
	method string
	cseq   int
}

type ncTxn struct {
	key      ncKey
	at       time.Time
	src, dst netip.AddrPort
	haveReq  bool
	inDialog bool // the request had a To tag
	final    int
	last     time.Time // request last seen
	resps    []respKey
	respLast []time.Time
}

const maxNonCall = 1 << 16

func newNonCall() nonCall { return nonCall{txns: make(map[ncKey]*ncTxn)} }

func (nc *nonCall) handle(e *Engine, msg *Msg) {
	m := msg.Message
	method := m.Method
	if !m.IsRequest() {
		method = m.CSeqMethod
	}
	tk := txnKeyOf(m, method)
	k := ncKey{callID: m.CallID, branch: tk.branch, host: tk.host, port: tk.port, method: method, cseq: tk.cseq}
	t := nc.txns[k]
	if t == nil {
		t = &ncTxn{key: k, at: msg.clock}
		nc.txns[k] = t
		nc.queue = append(nc.queue, t)
		nc.outcomes(e, method).Transactions++
		for len(nc.txns) > maxNonCall && nc.head < len(nc.queue) {
			nc.pop(e)
		}
	}
	if m.IsRequest() {
		if t.haveReq && t.src == msg.Src && t.dst == msg.Dst {
			e.repeat(msg, nil, nil, &t.last)
			return
		}
		t.haveReq, t.src, t.dst, t.inDialog, t.last = true, msg.Src, msg.Dst, m.To.Tag != "", msg.Time
		return
	}
	rk := respKey{status: m.StatusCode, toTag: m.To.Tag}
	for i, r := range t.resps {
		if r == rk {
			e.repeat(msg, nil, nil, &t.respLast[i])
			return
		}
	}
	if len(t.resps) < 8 {
		t.resps = append(t.resps, rk)
		t.respLast = append(t.respLast, msg.Time)
	}
	if m.StatusCode < 200 || t.final != 0 {
		return
	}
	t.final = m.StatusCode
	o := nc.outcomes(e, method)
	switch code := m.StatusCode; {
	case code < 300:
		o.OK++
		if (method == "SUBSCRIBE" || method == "REFER") && m.To.Tag != "" && !t.inDialog {
			e.stats.NonInviteDialogs++
		}
	case code == 401 || code == 407:
		o.Challenged++
	default:
		o.Failed++
	}
}

func (nc *nonCall) outcomes(e *Engine, method string) *Outcomes {
	s := &e.stats
	switch strings.ToUpper(method) {
	case "REGISTER":
		return &s.Register
	case "OPTIONS":
		return &s.Options
	case "SUBSCRIBE":
		return &s.Subscribe
	case "NOTIFY":
		return &s.Notify
	case "MESSAGE":
		return &s.Message
	case "PUBLISH":
		return &s.Publish
	}
	return &s.OtherNonCall
}

// pop retires the oldest transaction, counting it unanswered if it got no
// final response.
func (nc *nonCall) pop(e *Engine) {
	t := nc.queue[nc.head]
	nc.queue[nc.head] = nil
	nc.head++
	if nc.txns[t.key] == t {
		delete(nc.txns, t.key)
	}
	if t.final == 0 {
		nc.outcomes(e, t.key.method).Unanswered++
	}
	if nc.head > 1024 && nc.head*2 > len(nc.queue) {
		nc.queue = append(nc.queue[:0], nc.queue[nc.head:]...)
		nc.head = 0
	}
}

// expire retires transactions older than 64*T1 (Timer F): any response
// still to come would be a retransmission or lost.
func (nc *nonCall) expire(e *Engine, now time.Time) {
	for nc.head < len(nc.queue) && !now.Before(nc.queue[nc.head].at.Add(timerB)) {
		nc.pop(e)
	}
}

func (nc *nonCall) nextDeadline() time.Time {
	if nc.head < len(nc.queue) {
		return nc.queue[nc.head].at.Add(timerB)
	}
	return time.Time{}
}

func (nc *nonCall) flush(e *Engine) {
	for nc.head < len(nc.queue) {
		nc.pop(e)
	}
}
