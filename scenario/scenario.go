package scenario

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sipscope/sipscope/astconf"
	"github.com/sipscope/sipscope/media"
)

//go:embed catalog/*.conf
var catalogFS embed.FS

// catalogDir is where the built-in scenarios live inside catalogFS.
const catalogDir = "catalog"

// Role is what a host of a scenario plays.
type Role uint8

// Roles.
const (
	// Phone is a SIP user agent with one line: it dials, answers, holds,
	// presses digits and hangs up as the script says, and sends a tone.
	Phone Role = iota + 1
	// Asterisk is a B2BUA that behaves as Asterisk's chan_sip does with
	// the sip.conf options its sections give it.
	Asterisk
)

func (r Role) String() string {
	switch r {
	case Phone:
		return "phone"
	case Asterisk:
		return "asterisk"
	}
	return "?"
}

// DTMF is how a phone sends the digits the script presses.
type DTMF uint8

// DTMF methods of a phone.
const (
	DTMFRFC4733 DTMF = iota // telephone-event packets (RFC 4733) when negotiated, else tones
	DTMFInband              // tones in the audio
	DTMFInfo                // SIP INFO with application/dtmf-relay
)

func (d DTMF) String() string {
	switch d {
	case DTMFInband:
		return "inband"
	case DTMFInfo:
		return "info"
	}
	return "rfc2833"
}

// Defaults of host options.
const (
	DefaultSIPPort   = 5060
	DefaultPhoneRTP  = 40000
	DefaultRTPStart  = 10000
	DefaultTone      = 440
	defaultPBXAgent  = "sipscope-b2bua (Asterisk chan_sip model)"
	defaultPhoneUA   = "sipscope-phone"
	maxScenarioBytes = 1 << 20
)

// Scenario is one call to reproduce: the hosts that take part, the script
// of the call, and what the analyzer should make of its capture.
type Scenario struct {
	Name        string
	Description string
	// File names where the scenario was read from: "catalog/NAME.conf"
	// for a built-in one. Configuration lines are cited against it.
	File   string
	Expect Expect
	// Hosts are in the order the file defines them.
	Hosts  []*Host
	Script Script
	// Source is the text of the scenario file.
	Source []byte

	peerSecs []*astconf.Section // the [HOST/PEER] sections
}

// Expect is what a scenario demonstrates: the media verdict and the
// reason codes (package explain) the analysis of its capture must give,
// and codes it must not give.
type Expect struct {
	Verdict media.PathKind
	Reasons []string
	Absent  []string
}

// Host is one machine of a scenario, on its own loopback address.
type Host struct {
	Name    string
	Role    Role
	Addr    netip.Addr
	Port    uint16 // SIP, UDP
	Section *astconf.Section
	Phone   *PhoneConf // set for Role Phone
	PBX     *PBXConf   // set for Role Asterisk
}

// SIP is the host's SIP address.
func (h *Host) SIP() netip.AddrPort { return netip.AddrPortFrom(h.Addr, h.Port) }

// PhoneConf are a phone's options.
type PhoneConf struct {
	User    string
	RTPPort uint16
	// Codecs are what the phone offers and accepts, in preference order,
	// by Asterisk's names (ulaw, alaw).
	Codecs []string
	DTMF   DTMF
	// PBX names the host the phone sends its calls to.
	PBX string
	// PrivateAddr, when valid, is the address the phone believes it has
	// behind a NAT: it writes it in Via, Contact and SDP while its packets
	// come from Addr, the NAT's outside.
	PrivateAddr netip.Addr
	// RefuseReinvite makes the phone answer 488 to a re-INVITE or UPDATE
	// that moves its media to another address.
	RefuseReinvite bool
	// NoUpdate makes the phone leave UPDATE out of Allow and answer it 501.
	NoUpdate  bool
	Tone      int // Hz
	UserAgent string
}

// PBXConf are an Asterisk host's options: the sip.conf and dialplan the
// scenario gives it, read with the same readers `explain --config` uses.
type PBXConf struct {
	RTPStart uint16
	// SIP is the chan_sip view of the host's sip.conf: [general] from the
	// host's section, one peer per [HOST/PEER] section.
	SIP *astconf.SIPConf
	// Dialplan is the host's extensions.conf: its exten lines in every
	// context its peers use.
	Dialplan  *astconf.File
	UserAgent string
}

// Script is what happens during the call, in times from the dial.
type Script struct {
	Caller string // host name
	Number string // the dialled extension
	// AnswerAfter is how long the called phone rings before answering.
	AnswerAfter time.Duration
	// HoldAt and ResumeAt are when Holder puts the call on hold and takes
	// it off; zero HoldAt means no hold.
	HoldAt, ResumeAt time.Duration
	Holder           string
	// DTMFAt is when Presser presses Digits.
	DTMFAt  time.Duration
	Digits  string
	Presser string
	// HangupAt is when Hanger hangs up.
	HangupAt time.Duration
	Hanger   string
}

// Host returns the host with the given name, or nil.
func (s *Scenario) Host(name string) *Host {
	for _, h := range s.Hosts {
		if strings.EqualFold(h.Name, name) {
			return h
		}
	}
	return nil
}

// List returns the built-in scenarios, by name.
func List() []*Scenario {
	names, err := fs.Glob(catalogFS, catalogDir+"/*.conf")
	if err != nil {
		panic(err)
	}
	var out []*Scenario
	for _, n := range names {
		s, err := readFS(catalogFS, n)
		if err != nil {
			panic(fmt.Sprintf("built-in scenario %s: %v", n, err))
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Load returns the built-in scenario of that name, or reads the scenario
// file of that path.
func Load(nameOrFile string) (*Scenario, error) {
	if !strings.ContainsAny(nameOrFile, "/\\") {
		name := path.Join(catalogDir, nameOrFile+".conf")
		if _, err := fs.Stat(catalogFS, name); err == nil {
			return readFS(catalogFS, name)
		}
	}
	data, err := os.ReadFile(nameOrFile)
	if errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(nameOrFile, "/\\.") {
		return nil, fmt.Errorf("no built-in scenario or file %q (sipscope reproduce --list names the built-in ones)", nameOrFile)
	}
	if err != nil {
		return nil, err
	}
	if len(data) > maxScenarioBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", nameOrFile, maxScenarioBytes)
	}
	f, err := astconf.ReadFile(nameOrFile)
	if err != nil {
		return nil, err
	}
	return build(f, data)
}

func readFS(fsys fs.FS, name string) (*Scenario, error) {
	f, err := (&astconf.Reader{FS: fsys}).ReadFile(name)
	if err != nil {
		return nil, err
	}
	data, _ := fs.ReadFile(fsys, name)
	return build(f, data)
}

// Parse reads a scenario from its text; name is used in errors and
// citations.
func Parse(name string, data []byte) (*Scenario, error) {
	if len(data) > maxScenarioBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxScenarioBytes)
	}
	f, err := astconf.Parse(name, data)
	if err != nil {
		return nil, err
	}
	return build(f, data)
}

// Keys a host section takes besides sip.conf options.
var (
	commonKeys = []string{"role", "addr", "port"}
	phoneKeys  = []string{"user", "rtp_port", "codecs", "dtmf", "pbx", "private_addr", "reinvite", "update", "tone", "useragent"}
	scriptKeys = []string{"dial", "answer_after", "hold_at", "resume_at", "hold_by", "dtmf_at", "dtmf_by", "hangup_at", "hangup_by"}
	metaKeys   = []string{"name", "description", "expect_verdict", "expect_reasons", "expect_absent"}
)

// parser collects the errors of one scenario file.
type parser struct {
	f *astconf.File
	s *Scenario
	// at is where [script] begins, or the file when there is none.
	at   astconf.Source
	errs []string
}

func (p *parser) errorf(src astconf.Source, format string, args ...any) {
	where := src.File
	if src.Line > 0 {
		where = src.String()
	}
	p.errs = append(p.errs, where+": "+fmt.Sprintf(format, args...))
}

func build(f *astconf.File, data []byte) (*Scenario, error) {
	p := &parser{f: f, s: &Scenario{File: f.Name, Source: data}, at: astconf.Source{File: f.Name}}
	for _, w := range f.Warnings {
		p.errs = append(p.errs, w.String())
	}
	base := path.Base(strings.ReplaceAll(f.Name, "\\", "/"))
	p.s.Name = strings.TrimSuffix(base, path.Ext(base))
	var peers []*astconf.Section
	for _, sec := range f.Sections {
		switch {
		case sec.Template:
		case strings.EqualFold(sec.Name, "scenario"):
			p.meta(sec)
		case strings.EqualFold(sec.Name, "script"):
			p.script(sec)
		case strings.Contains(sec.Name, "/"):
			peers = append(peers, sec)
		default:
			p.host(sec)
		}
	}
	p.pbxConfs(peers)
	p.check()
	if len(p.errs) > 0 {
		return nil, fmt.Errorf("scenario %s:\n  %s", f.Name, strings.Join(p.errs, "\n  "))
	}
	return p.s, nil
}

func (p *parser) unknownKeys(sec *astconf.Section, allowed ...[]string) {
	for _, v := range sec.Vars {
		k := strings.ToLower(v.Key)
		if !slices.ContainsFunc(allowed, func(keys []string) bool { return slices.Contains(keys, k) }) {
			p.errorf(v.Source, "[%s] has no option %q", sec.Name, v.Key)
		}
	}
}

func (p *parser) meta(sec *astconf.Section) {
	p.unknownKeys(sec, metaKeys)
	if v, ok := sec.Get("name"); ok {
		p.s.Name = strings.TrimSpace(v.Value)
	}
	if v, ok := sec.Get("description"); ok {
		p.s.Description = strings.TrimSpace(v.Value)
	}
	if v, ok := sec.Get("expect_verdict"); ok {
		k := media.PathKind(strings.TrimSpace(v.Value))
		switch k {
		case media.Direct, media.Anchored, media.Relayed, media.OneWay, media.NoneCaptured:
			p.s.Expect.Verdict = k
		default:
			p.errorf(v.Source, "expect_verdict %q is not one of direct, anchored, relayed, one-way, none-captured", v.Value)
		}
	}
	p.s.Expect.Reasons = codeList(sec, "expect_reasons")
	p.s.Expect.Absent = codeList(sec, "expect_absent")
}

func codeList(sec *astconf.Section, key string) []string {
	var out []string
	for _, v := range sec.All(key) {
		for _, c := range strings.Split(v.Value, ",") {
			if c = strings.TrimSpace(c); c != "" && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

func (p *parser) host(sec *astconf.Section) {
	h := &Host{Name: sec.Name, Section: sec, Port: DefaultSIPPort}
	role, ok := sec.Get("role")
	if !ok {
		p.errorf(sec.Source, "[%s] has no role= (phone or asterisk)", sec.Name)
		return
	}
	switch strings.ToLower(strings.TrimSpace(role.Value)) {
	case "phone":
		h.Role = Phone
	case "asterisk":
		h.Role = Asterisk
	default:
		p.errorf(role.Source, "role %q is not phone or asterisk", role.Value)
		return
	}
	if p.s.Host(h.Name) != nil {
		p.errorf(sec.Source, "host [%s] is defined twice", sec.Name)
		return
	}
	if v, ok := sec.Get("addr"); ok {
		a, err := netip.ParseAddr(strings.TrimSpace(v.Value))
		switch {
		case err != nil:
			p.errorf(v.Source, "addr %q: %v", v.Value, err)
		case !a.Is4() || !a.IsLoopback():
			p.errorf(v.Source, "addr %s is not in 127.0.0.0/8: every host binds a loopback address", a)
		default:
			h.Addr = a
		}
	} else {
		p.errorf(sec.Source, "[%s] has no addr=", sec.Name)
	}
	if v, ok := sec.Get("port"); ok {
		h.Port = p.port(v)
	}
	switch h.Role {
	case Phone:
		p.unknownKeys(sec, commonKeys, phoneKeys)
		h.Phone = p.phone(sec)
	case Asterisk:
		h.PBX = &PBXConf{RTPStart: DefaultRTPStart, UserAgent: defaultPBXAgent}
		if v, ok := sec.Get("rtpstart"); ok {
			h.PBX.RTPStart = p.port(v)
		}
		if v, ok := sec.Get("useragent"); ok {
			h.PBX.UserAgent = strings.TrimSpace(v.Value)
		}
	}
	p.s.Hosts = append(p.s.Hosts, h)
}

func (p *parser) port(v astconf.Var) uint16 {
	n, err := strconv.ParseUint(strings.TrimSpace(v.Value), 10, 16)
	if err != nil || n == 0 {
		p.errorf(v.Source, "%s %q is not a port number", v.Key, v.Value)
		return 0
	}
	return uint16(n)
}

func (p *parser) phone(sec *astconf.Section) *PhoneConf {
	c := &PhoneConf{User: sec.Name, RTPPort: DefaultPhoneRTP, Codecs: []string{"ulaw"}, Tone: DefaultTone, UserAgent: defaultPhoneUA}
	for _, v := range sec.Vars {
		val := strings.TrimSpace(v.Value)
		switch strings.ToLower(v.Key) {
		case "user":
			c.User = val
		case "rtp_port":
			c.RTPPort = p.port(v)
			if c.RTPPort%2 != 0 {
				p.errorf(v.Source, "rtp_port %d is odd: RTP takes an even port and RTCP the next (RFC 3550 §11)", c.RTPPort)
			}
		case "codecs":
			c.Codecs = nil
			for _, name := range strings.Split(val, ",") {
				name = strings.ToLower(strings.TrimSpace(name))
				if _, ok := g711[name]; !ok {
					p.errorf(v.Source, "codec %q: the phones send G.711 only (ulaw, alaw)", name)
					continue
				}
				if !slices.Contains(c.Codecs, name) {
					c.Codecs = append(c.Codecs, name)
				}
			}
			if len(c.Codecs) == 0 {
				p.errorf(v.Source, "codecs names none")
			}
		case "dtmf":
			switch strings.ToLower(val) {
			case "rfc2833", "rfc4733":
				c.DTMF = DTMFRFC4733
			case "inband":
				c.DTMF = DTMFInband
			case "info":
				c.DTMF = DTMFInfo
			default:
				p.errorf(v.Source, "dtmf %q is not rfc2833, inband or info", val)
			}
		case "pbx":
			c.PBX = val
		case "private_addr":
			a, err := netip.ParseAddr(val)
			if err != nil || !a.Is4() {
				p.errorf(v.Source, "private_addr %q is not an IPv4 address", val)
				continue
			}
			c.PrivateAddr = a
		case "reinvite":
			switch strings.ToLower(val) {
			case "accept":
			case "refuse":
				c.RefuseReinvite = true
			default:
				p.errorf(v.Source, "reinvite %q is not accept or refuse", val)
			}
		case "update":
			b, ok := yesNo(val)
			if !ok {
				p.errorf(v.Source, "update %q is not yes or no", val)
			}
			c.NoUpdate = !b
		case "tone":
			n, err := strconv.Atoi(val)
			if err != nil || n < 50 || n > 3900 {
				p.errorf(v.Source, "tone %q is not a frequency between 50 and 3900 Hz", val)
				continue
			}
			c.Tone = n
		case "useragent":
			c.UserAgent = val
		}
	}
	return c
}

func yesNo(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "yes", "true", "on", "1":
		return true, true
	case "no", "false", "off", "0":
		return false, true
	}
	return false, false
}

func (p *parser) script(sec *astconf.Section) {
	p.unknownKeys(sec, scriptKeys)
	p.at = sec.Source
	sc := &p.s.Script
	for _, v := range sec.Vars {
		val := strings.TrimSpace(v.Value)
		switch strings.ToLower(v.Key) {
		case "dial":
			caller, number, ok := strings.Cut(val, "->")
			if !ok {
				f := strings.Fields(val)
				if len(f) != 2 {
					p.errorf(v.Source, "dial %q is not CALLER -> NUMBER", val)
					continue
				}
				caller, number = f[0], f[1]
			}
			sc.Caller, sc.Number = strings.TrimSpace(caller), strings.TrimSpace(number)
		case "answer_after":
			sc.AnswerAfter = p.duration(v, val)
		case "hold_at":
			sc.HoldAt = p.duration(v, val)
		case "resume_at":
			sc.ResumeAt = p.duration(v, val)
		case "hold_by":
			sc.Holder = val
		case "dtmf_at":
			at, digits, ok := strings.Cut(val, ":")
			if !ok {
				p.errorf(v.Source, "dtmf_at %q is not TIME:DIGITS", val)
				continue
			}
			sc.DTMFAt = p.duration(v, strings.TrimSpace(at))
			sc.Digits = strings.ToUpper(strings.TrimSpace(digits))
			for _, d := range sc.Digits {
				if !strings.ContainsRune(dtmfDigits, d) {
					p.errorf(v.Source, "dtmf_at digit %q is not one of %s", d, dtmfDigits)
				}
			}
			if len(sc.Digits) == 0 || len(sc.Digits) > maxDigits {
				p.errorf(v.Source, "dtmf_at presses %d digits; 1 to %d", len(sc.Digits), maxDigits)
			}
		case "dtmf_by":
			sc.Presser = val
		case "hangup_at":
			sc.HangupAt = p.duration(v, val)
		case "hangup_by":
			sc.Hanger = val
		}
	}
}

// maxCallLength bounds a scripted call, so a run always ends.
const maxCallLength = 10 * time.Minute

func (p *parser) duration(v astconf.Var, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			p.errorf(v.Source, "%s %q is not a duration such as 1.5s or 300ms", v.Key, s)
			return 0
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < 0 || d > maxCallLength {
		p.errorf(v.Source, "%s %s is not between 0 and %s", v.Key, d, maxCallLength)
		return 0
	}
	return d
}

// check validates what the sections say together.
func (p *parser) check() {
	s := p.s
	seen := map[netip.Addr]string{}
	var pbxs []*Host
	for _, h := range s.Hosts {
		if h.Addr.IsValid() {
			if other, dup := seen[h.Addr]; dup {
				p.errorf(h.Section.Source, "[%s] and [%s] share the address %s: each host has its own", h.Name, other, h.Addr)
			}
			seen[h.Addr] = h.Name
		}
		if h.Role == Asterisk {
			pbxs = append(pbxs, h)
		}
	}
	for _, h := range s.Hosts {
		if h.Role != Phone || h.Phone.PBX != "" {
			continue
		}
		if len(pbxs) == 1 {
			h.Phone.PBX = pbxs[0].Name
		}
	}
	for _, h := range s.Hosts {
		if h.Role == Phone && h.Phone.PBX != "" {
			if t := s.Host(h.Phone.PBX); t == nil || t.Role != Asterisk {
				p.errorf(h.Section.Source, "pbx=%s of [%s] is not an asterisk host of the scenario", h.Phone.PBX, h.Name)
			}
		}
	}
	sc := &s.Script
	phone := func(key, name string) {
		if h := s.Host(name); h == nil || h.Role != Phone {
			p.errorf(p.at, "[script] %s names %q, which is not a phone of the scenario", key, name)
		}
	}
	if sc.Caller == "" {
		p.errorf(p.at, "[script] has no dial = CALLER -> NUMBER")
		return
	}
	phone("dial", sc.Caller)
	if sc.Number == "" || strings.ContainsAny(sc.Number, "@;<>\" ") {
		p.errorf(p.at, "[script] dial number %q is not a SIP user part", sc.Number)
	}
	if h := s.Host(sc.Caller); h != nil && h.Role == Phone && h.Phone.PBX == "" {
		p.errorf(h.Section.Source, "caller [%s] has no pbx= to send its call to", h.Name)
	}
	for _, who := range []struct {
		key string
		v   *string
	}{{"hold_by", &sc.Holder}, {"dtmf_by", &sc.Presser}, {"hangup_by", &sc.Hanger}} {
		if *who.v == "" {
			*who.v = sc.Caller
		}
		phone(who.key, *who.v)
	}
	if sc.HangupAt <= sc.AnswerAfter {
		p.errorf(p.at, "[script] hangup_at %s is not after answer_after %s", sc.HangupAt, sc.AnswerAfter)
	}
	if sc.HoldAt > 0 && (sc.ResumeAt != 0 && sc.ResumeAt <= sc.HoldAt || sc.HoldAt >= sc.HangupAt || sc.ResumeAt >= sc.HangupAt) {
		p.errorf(p.at, "[script] hold_at %s, resume_at %s and hangup_at %s are not in order", sc.HoldAt, sc.ResumeAt, sc.HangupAt)
	}
	if sc.Digits != "" && sc.DTMFAt >= sc.HangupAt {
		p.errorf(p.at, "[script] dtmf_at %s is not before hangup_at %s", sc.DTMFAt, sc.HangupAt)
	}
}
