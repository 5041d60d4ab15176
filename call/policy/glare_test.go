package policy

import (
	"testing"
	"time"
)

func TestSendsReinvite(t *testing.T) {
	tests := []struct {
		originated bool
		w          Withhold
		want       bool
	}{
		{false, WithholdNone, true},
		{true, WithholdNone, true},
		{false, WithholdIncoming, false}, // chan_sip directmedia=outgoing on an incoming dialog
		{true, WithholdIncoming, true},
		{true, WithholdOutgoing, false}, // pjsip direct_media_glare_mitigation=outgoing, Asterisk is UAC
		{false, WithholdOutgoing, true},
	}
	for _, tt := range tests {
		if got := SendsReinvite(tt.originated, tt.w); got != tt.want {
			t.Errorf("SendsReinvite(%v, %v) = %v, want %v", tt.originated, tt.w, got, tt.want)
		}
	}
}

func TestRetryWindow(t *testing.T) {
	tests := []struct {
		owner    bool
		min, max time.Duration
	}{
		{true, 2100 * time.Millisecond, 4 * time.Second},
		{false, 0, 2 * time.Second},
	}
	for _, tt := range tests {
		lo, hi := RetryWindow(tt.owner)
		if lo != tt.min || hi != tt.max {
			t.Errorf("RetryWindow(%v) = %v..%v, want %v..%v", tt.owner, lo, hi, tt.min, tt.max)
		}
	}
}
