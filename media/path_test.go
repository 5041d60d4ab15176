package media

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipscope/sipscope/internal/corpustest"
)

// truth is the part of an asterisk corpus ground-truth file these tests
// read (see the corpus README for the schema).
type truth struct {
	Legs []struct {
		CallID string `json:"call_id"`
		UAC    string `json:"uac"`
		UAS    string `json:"uas"`
	} `json:"legs"`
	Requests []struct {
		Frame         int    `json:"frame"`
		CallID        string `json:"call_id"`
		CSeq          string `json:"cseq"`
		FinalResponse int    `json:"final_response"`
		Responses     []struct {
			Frame  int `json:"frame"`
			Status int `json:"status"`
		} `json:"responses"`
	} `json:"media_changing_requests"`
	FinalMediaPath struct {
		Type    string   `json:"type"`
		Between []string `json:"between"`
	} `json:"final_media_path"`
	RTPStreams []struct {
		Src        string `json:"src"`
		Dst        string `json:"dst"`
		SSRC       string `json:"ssrc"`
		Packets    int    `json:"packets"`
		FirstFrame int    `json:"first_frame"`
		LastFrame  int    `json:"last_frame"`
	} `json:"rtp_streams"`
}

// asteriskCall replays one asterisk corpus capture and builds its
// CallView from the truth file's legs and the SDP of the SIP messages:
// what the call engine will hand Path.
func asteriskCall(t *testing.T, name string) (CallView, []*Stream, truth) {
	t.Helper()
	var tf truth
	b, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "asterisk", name+".truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &tf); err != nil {
		t.Fatal(err)
	}
	// Offers refused with a final response of 300 or more (the 491s of
	// the glare) are rejected when that response is seen.
	rejectAt := map[int][2]string{}
	for _, r := range tf.Requests {
		if r.FinalResponse < 300 {
			continue
		}
		for _, resp := range r.Responses {
			if resp.Status == r.FinalResponse {
				rejectAt[resp.Frame] = [2]string{r.CallID, fmt.Sprint(r.Frame)}
			}
		}
	}
	tr := NewTracker(Options{})
	dgs := readCorpus(t, "asterisk/"+name+".pcap")
	var anns []Announcement
	for i := range dgs {
		d := &dgs[i]
		if rj, ok := rejectAt[d.meta.Frame]; ok {
			var frame int
			fmt.Sscan(rj[1], &frame)
			tr.Reject(rj[0], frame)
			for j := range anns {
				if anns[j].Leg == rj[0] && anns[j].Frame == frame {
					anns[j].Rejected = true
				}
			}
		}
		if m, ok := parseSIP(d.payload); ok {
			for _, a := range sdpOf(d, m) {
				tr.Announce(a)
				anns = append(anns, a)
			}
			continue
		}
		tr.Datagram(&d.meta, d.payload)
	}
	var c CallView
	for _, l := range tf.Legs {
		lv := LegView{ID: l.CallID,
			UAC: netip.MustParseAddrPort(l.UAC).Addr(), UAS: netip.MustParseAddrPort(l.UAS).Addr()}
		for _, a := range anns {
			if a.Leg == l.CallID {
				lv.Announcements = append(lv.Announcements, a)
			}
		}
		c.Legs = append(c.Legs, lv)
	}
	tr.Flush()
	return c, tr.Streams(), tf
}

type wantSegment struct {
	kind      PathKind
	fromFrame int
	afterSDP  int
}

// TestPathOfAsteriskCaptures judges the five asterisk captures against
// their ground truth. The truth gives the final path; the timelines are
// its written media_timeline in our terms:
//
//   - direct-media: direct from the first RTP, after ast1's re-INVITE of
//     A (frame 14); B's one stray packet to ast1 at hangup is ignored.
//   - directmedia-no: anchored throughout, after ast1's answer (frame 9).
//   - codec-mismatch: anchored throughout, transcoding PCMU and PCMA.
//   - hold-moh: direct; from frame 582 B anchored at ast1 for the music
//     on hold (after ast1's re-INVITE of B, frame 575); direct again from
//     frame 1143, after the re-INVITE of frame 1137.
//   - two-pbx-glare: A talks to ast1 alone for a second (one-way, nothing
//     comes back while Asterisk runs Wait(1)); from frame 78 the broken
//     interim path, each phone sending to one Asterisk and hearing the
//     other, which is anchored; direct from frame 404 after the retried
//     re-INVITE (frames 392-397).
func TestPathOfAsteriskCaptures(t *testing.T) {
	tests := []struct {
		name        string
		kind        PathKind
		transcoding bool
		timeline    []wantSegment
	}{
		{"asterisk-direct-media", Direct, false, []wantSegment{{Direct, 21, 14}}},
		{"asterisk-directmedia-no", Anchored, false, []wantSegment{{Anchored, 12, 9}}},
		{"asterisk-codec-mismatch", Anchored, true, []wantSegment{{Anchored, 12, 9}}},
		{"asterisk-hold-moh", Direct, false, []wantSegment{{Direct, 19, 13}, {Anchored, 582, 575}, {Direct, 1143, 1137}}},
		{"asterisk-two-pbx-glare", Direct, false, []wantSegment{{OneWay, 6, 3}, {Anchored, 78, 72}, {Direct, 404, 397}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, streams, tf := asteriskCall(t, tt.name)
			v := Path(c, streams)
			if !strings.HasPrefix(tf.FinalMediaPath.Type, string(v.Kind)) || v.Kind != tt.kind {
				t.Errorf("kind %s, truth %q, want %s", v.Kind, tf.FinalMediaPath.Type, tt.kind)
			}
			var got []wantSegment
			for _, s := range v.Timeline {
				got = append(got, wantSegment{s.Kind, s.FromFrame, s.AfterSDP})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.timeline) {
				for _, s := range v.Timeline {
					t.Logf("%s from frame %d (after SDP %d) to %d, %d packets: %s", s.Kind, s.FromFrame, s.AfterSDP, s.ToFrame, s.Packets, s.Basis)
				}
				t.Errorf("timeline %v, want %v", got, tt.timeline)
			}
			if last := v.Timeline[len(v.Timeline)-1]; last.Transcoding != tt.transcoding {
				t.Errorf("transcoding %v: %s", last.Transcoding, last.Basis)
			}
			if len(v.NAT) != 0 {
				t.Errorf("NAT evidence on loopback: %+v", v.NAT)
			}
			checkTruthStreams(t, tf, streams)
		})
	}
}

// checkTruthStreams holds our streams to the truth file's, which come
// from tshark: the same streams, packets and first and last frames.
func checkTruthStreams(t *testing.T, tf truth, streams []*Stream) {
	t.Helper()
	by := map[string]*Stream{}
	for _, s := range streams {
		by[fmt.Sprintf("%s %s 0x%08x", s.Src, s.Dst, s.SSRC)] = s
	}
	for _, w := range tf.RTPStreams {
		k := w.Src + " " + w.Dst + " " + w.SSRC
		s := by[k]
		if s == nil {
			t.Errorf("truth stream %s not found", k)
			continue
		}
		if s.Packets != w.Packets || s.FirstFrame != w.FirstFrame || s.LastFrame != w.LastFrame || s.Unannounced {
			t.Errorf("%s: %d packets frames %d-%d (unannounced %v), truth %d packets frames %d-%d",
				k, s.Packets, s.FirstFrame, s.LastFrame, s.Unannounced, w.Packets, w.FirstFrame, w.LastFrame)
		}
	}
	if len(streams) != len(tf.RTPStreams) {
		t.Errorf("%d streams, truth %d", len(streams), len(tf.RTPStreams))
	}
}
