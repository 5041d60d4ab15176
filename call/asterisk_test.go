package call

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// truth is the part of a corpus *.truth.json the call engine answers for.
type truth struct {
	Name string `json:"name"`
	Legs []struct {
		CallID      string `json:"call_id"`
		Leg         string `json:"leg"`
		UAC         string `json:"uac"`
		UAS         string `json:"uas"`
		InviteFrame int    `json:"initial_invite_frame"`
		OfferSDP    string `json:"offer_sdp"`
		AnswerFrame int    `json:"answer_frame"`
		AnswerSDP   string `json:"answer_sdp"`
		ByeFrame    int    `json:"bye_frame"`
		ByeSender   string `json:"bye_sender"`
	} `json:"legs"`
	Calls []struct {
		Legs []string `json:"legs_in_order_A_to_B"`
	} `json:"calls"`
	Addresses map[string]string `json:"addresses"`
	Requests  []struct {
		Frame     int     `json:"frame"`
		T         float64 `json:"t"`
		CallID    string  `json:"call_id"`
		CSeq      string  `json:"cseq"`
		From      string  `json:"from"`
		SDPAddr   string  `json:"sdp_addr"`
		Direction string  `json:"sdp_direction"`
		Purpose   string  `json:"purpose"`
		Final     int     `json:"final_response"`
		Responses []struct {
			Frame  int    `json:"frame"`
			Status int    `json:"status"`
			SDP    string `json:"sdp"`
		} `json:"responses"`
	} `json:"media_changing_requests"`
	Pending491 []struct {
		Frame  int    `json:"frame"`
		CallID string `json:"call_id"`
		CSeq   string `json:"cseq"`
	} `json:"request_pending_491"`
	Glare *struct {
		CallID   string `json:"dialog_call_id"`
		Crossing []struct {
			Frame    int `json:"frame"`
			Rejected int `json:"rejected_by_491_frame"`
		} `json:"crossing_requests"`
		Retries []struct {
			Frame int     `json:"frame"`
			From  string  `json:"from"`
			Delay float64 `json:"delay_after_its_491_s"`
		} `json:"retries"`
	} `json:"glare"`
}

func loadTruths(t *testing.T) (string, []truth) {
	dir := corpusDir(t, "asterisk")
	files, _ := filepath.Glob(filepath.Join(dir, "*.truth.json"))
	if len(files) == 0 {
		t.Skip("no truth files")
	}
	var out []truth
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tr truth
		if err := json.Unmarshal(b, &tr); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, tr)
	}
	return dir, out
}

// TestAsteriskCorpusMatchesTruth runs every capture of the Asterisk corpus
// and compares legs, pairing, re-INVITE classification, 491s and glare with
// the ground truth.
func TestAsteriskCorpusMatchesTruth(t *testing.T) {
	dir, truths := loadTruths(t)
	var table []string
	for _, tr := range truths {
		t.Run(tr.Name, func(t *testing.T) {
			calls, e, _ := runCapture(t, filepath.Join(dir, tr.Name+".pcap"), Options{})
			row := checkTruth(t, tr, calls)
			st := e.Stats()
			table = append(table, tr.Name+"\t"+row+"\tretrans="+strconv.Itoa(st.Retransmissions))
		})
	}
	t.Log("capture\tlegs\tpairing\tmid-dialog\t491\tglare\tretries")
	for _, r := range table {
		t.Log(r)
	}
}

func checkTruth(t *testing.T, tr truth, calls []*Call) string {
	c := onlyCall(t, calls)
	want := tr.Calls[0].Legs
	var got []string
	for _, l := range c.Legs {
		got = append(got, l.CallID)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("legs in order %v, want %v", got, want)
	}
	if c.Pairing.Confidence < 0.8 {
		t.Errorf("pairing confidence %.2f (%s), want >= 0.8", c.Pairing.Confidence, c.Pairing.Basis)
	}
	t.Logf("pairing %.2f: %s", c.Pairing.Confidence, c.Pairing.Basis)
	host := func(name string) netip.Addr {
		v := tr.Addresses[name]
		if i := strings.IndexByte(v, ' '); i >= 0 {
			v = v[:i]
		}
		return netip.MustParseAddrPort(v).Addr()
	}
	for _, tl := range tr.Legs {
		l := c.Leg(tl.CallID)
		if l.UAC.String() != tl.UAC || l.UAS.String() != tl.UAS {
			t.Errorf("%s: UAC/UAS %v/%v, want %s/%s", tl.Leg, l.UAC, l.UAS, tl.UAC, tl.UAS)
		}
		if l.FirstFrame != tl.InviteFrame || l.AnswerFrame != tl.AnswerFrame || l.Status != 200 {
			t.Errorf("%s: INVITE f%d answer f%d (%d), want f%d f%d", tl.Leg, l.FirstFrame, l.AnswerFrame, l.Status, tl.InviteFrame, tl.AnswerFrame)
		}
		d := l.Dialogs[0]
		if len(l.Dialogs) != 1 || d.ByeFrame != tl.ByeFrame {
			t.Errorf("%s: %d dialogs, BYE f%d, want 1, f%d", tl.Leg, len(l.Dialogs), d.ByeFrame, tl.ByeFrame)
		}
		wantReason := CalleeHangup
		if addrHost(l.UAC) == host(tl.ByeSender) {
			wantReason = CallerHangup
		}
		if l.EndReason != wantReason {
			t.Errorf("%s: end reason %v, want %v", tl.Leg, l.EndReason, wantReason)
		}
		n := d.Negotiations[0]
		if n.Offer.Media.Addr.String() != tl.OfferSDP || n.Answer.Media.Addr.String() != tl.AnswerSDP || n.Answer.Frame != tl.AnswerFrame {
			t.Errorf("%s: first offer/answer %v/%v (f%d), want %s/%s", tl.Leg, n.Offer.Media.Addr, n.Answer.Media.Addr, n.Answer.Frame, tl.OfferSDP, tl.AnswerSDP)
		}
	}
	// Every re-INVITE of the truth, classified as its purpose says; and no
	// others.
	byFrame := map[int]*Request{}
	total := 0
	for _, l := range c.Legs {
		for _, r := range l.MidDialog {
			byFrame[r.Frame] = r
			total++
		}
	}
	if total != len(tr.Requests) {
		t.Errorf("%d mid-dialog requests, want %d", total, len(tr.Requests))
	}
	for _, wr := range tr.Requests {
		r := byFrame[wr.Frame]
		if r == nil {
			t.Errorf("re-INVITE f%d not found", wr.Frame)
			continue
		}
		if strconv.Itoa(r.CSeq)+" "+r.Method != wr.CSeq || r.Offer == nil || r.Offer.Media.Addr.String() != wr.SDPAddr ||
			r.Offer.Media.Direction.String() != wr.Direction || r.Status != wr.Final {
			t.Errorf("f%d: %d %s offer %v %v status %d, want %s %s %s %d", wr.Frame, r.CSeq, r.Method,
				offerAddr(r), offerDir(r), r.Status, wr.CSeq, wr.SDPAddr, wr.Direction, wr.Final)
		}
		var frames, wantFrames []string
		for _, resp := range r.Responses {
			frames = append(frames, strconv.Itoa(resp.Frame)+":"+strconv.Itoa(resp.Status))
		}
		for _, resp := range wr.Responses {
			wantFrames = append(wantFrames, strconv.Itoa(resp.Frame)+":"+strconv.Itoa(resp.Status))
		}
		if strings.Join(frames, ",") != strings.Join(wantFrames, ",") {
			t.Errorf("f%d responses %v, want %v", wr.Frame, frames, wantFrames)
		}
		if !purposeAgrees(wr.Purpose, r) {
			t.Errorf("f%d %q classified %v target %v (baseline %v)", wr.Frame, wr.Purpose, r.Change, r.Target, r.Baseline)
		}
	}
	// 491s: each rejected request has status 491 from the truth's frame.
	n491 := 0
	for _, want := range tr.Pending491 {
		found := false
		for _, r := range byFrame {
			for _, resp := range r.Responses {
				if resp.Frame == want.Frame && resp.Status == 491 && strconv.Itoa(r.CSeq)+" "+r.Method == want.CSeq {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("491 f%d (%s) not found", want.Frame, want.CSeq)
		} else {
			n491++
		}
	}
	glareCol, retryCol := "-", "-"
	if tr.Glare == nil {
		if len(c.Glare) != 0 {
			t.Errorf("glare found where there is none: %+v", c.Glare)
		}
	} else {
		glareCol, retryCol = checkGlare(t, tr, c)
	}
	return strconv.Itoa(len(c.Legs)) + "/" + strconv.Itoa(len(tr.Legs)) + "\t" +
		strconv.FormatFloat(c.Pairing.Confidence, 'f', 2, 64) + "\t" +
		strconv.Itoa(total) + "/" + strconv.Itoa(len(tr.Requests)) + "\t" +
		strconv.Itoa(n491) + "/" + strconv.Itoa(len(tr.Pending491)) + "\t" + glareCol + "\t" + retryCol
}

func checkGlare(t *testing.T, tr truth, c *Call) (string, string) {
	if len(c.Glare) != 1 {
		t.Fatalf("%d glares, want 1", len(c.Glare))
	}
	g := c.Glare[0]
	wg := tr.Glare
	if g.CallID != wg.CallID {
		t.Errorf("glare on %s, want %s", g.CallID, wg.CallID)
	}
	var reqs, want491 []int
	for _, r := range g.Requests {
		reqs = append(reqs, r.Frame)
	}
	var wantReqs []int
	for _, cr := range wg.Crossing {
		wantReqs = append(wantReqs, cr.Frame)
		want491 = append(want491, cr.Rejected)
	}
	slices.Sort(want491)
	if !sameInts(reqs, wantReqs) || !sameInts(g.Responses491, want491) {
		t.Errorf("glare requests %v 491s %v, want %v %v", reqs, g.Responses491, wantReqs, want491)
	}
	if !g.MediaRelease || !g.BetweenServers {
		t.Errorf("glare media release %v between servers %v, want both", g.MediaRelease, g.BetweenServers)
	}
	if len(g.Retries) != len(wg.Retries) {
		t.Fatalf("retries %+v, want %+v", g.Retries, wg.Retries)
	}
	for i, wr := range wg.Retries {
		r := g.Retries[i]
		d := time.Duration(wr.Delay * float64(time.Second))
		if r.Frame != wr.Frame || (r.Delay-d).Abs() > time.Millisecond || !r.WindowOK {
			t.Errorf("retry %+v, want f%d after %v in window", r, wr.Frame, d)
		}
	}
	owners := 0
	for _, r := range g.Retries {
		if r.CallIDOwner {
			owners++
			if r.Delay < ownerRetryMin {
				t.Errorf("owner retry f%d after %v", r.Frame, r.Delay)
			}
		}
	}
	if owners != 1 {
		t.Errorf("%d retries by the Call-ID owner, want 1", owners)
	}
	return strconv.Itoa(len(g.Requests)) + "x/" + strconv.Itoa(len(g.Responses491)) + "x491", strconv.Itoa(len(g.Retries)) + " ok"
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func offerAddr(r *Request) string {
	if r.Offer == nil {
		return "-"
	}
	return r.Offer.Media.Addr.String()
}

func offerDir(r *Request) string {
	if r.Offer == nil {
		return "-"
	}
	return r.Offer.Media.Direction.String()
}

// purposeAgrees maps the truth's purpose wording onto the engine's
// classification: hold and resume by direction; "redirect ... = direct
// media" is an offer pointing at an endpoint of the call, "anchor ... at
// sender" one pointing at its sender, "point ... at ast2" one pointing at
// another B2BUA. A redirect may be a refresh when the sender had already
// established that address (the Call-ID owner's retry after glare).
func purposeAgrees(purpose string, r *Request) bool {
	switch {
	case strings.HasPrefix(purpose, "hold"):
		return r.Baseline && r.Change&Hold != 0
	case strings.HasPrefix(purpose, "resume"):
		return r.Baseline && r.Change&Resume != 0
	case strings.HasPrefix(purpose, "redirect"):
		return r.Target == TargetEndpoint
	case strings.HasPrefix(purpose, "anchor"):
		return r.Target == TargetSender && r.Change&Redirect != 0
	case strings.HasPrefix(purpose, "point"):
		return r.Target == TargetServer && r.Change&Redirect != 0
	}
	return false
}
