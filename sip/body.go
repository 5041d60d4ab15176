package sip

import (
	"bytes"
	"strings"
)

// SDP returns the session description the message carries: the body when
// it is application/sdp, or the application/sdp part of a multipart body
// (RFC 5621). It returns nil when there is none.
func (m *Message) SDP() []byte {
	if len(m.Body) == 0 {
		return nil
	}
	ct := strings.ToLower(m.ContentType)
	mediaType, params, _ := strings.Cut(ct, ";")
	mediaType = strings.TrimSpace(mediaType)
	switch {
	case mediaType == "application/sdp":
		return m.Body
	case strings.HasPrefix(mediaType, "multipart/"):
		boundary := Param(m.ContentType[len(mediaType)+1:], "boundary")
		if boundary == "" {
			boundary = Param(params, "boundary")
		}
		return multipartSDP(m.Body, boundary)
	case mediaType == "" && bytes.HasPrefix(m.Body, []byte("v=0")):
		// Some peers omit Content-Type; an SDP body is unmistakable.
		return m.Body
	}
	return nil
}

func multipartSDP(body []byte, boundary string) []byte {
	if boundary == "" {
		return nil
	}
	delim := []byte("--" + boundary)
	parts := bytes.Split(body, delim)
	for _, p := range parts[1:] {
		if bytes.HasPrefix(p, []byte("--")) {
			break
		}
		p = bytes.TrimPrefix(p, []byte("\r\n"))
		p = bytes.TrimPrefix(p, []byte("\n"))
		head, content, ok := bytes.Cut(p, []byte("\r\n\r\n"))
		if !ok {
			head, content, ok = bytes.Cut(p, []byte("\n\n"))
			if !ok {
				continue
			}
		}
		isSDP := false
		for _, line := range bytes.Split(head, []byte("\n")) {
			k, v, _ := bytes.Cut(bytes.TrimSpace(line), []byte(":"))
			if CanonicalName(string(k)) == "Content-Type" &&
				strings.HasPrefix(strings.ToLower(strings.TrimSpace(string(v))), "application/sdp") {
				isSDP = true
			}
		}
		if isSDP {
			content = bytes.TrimSuffix(content, []byte("\r\n"))
			return bytes.TrimSuffix(content, []byte("\n"))
		}
	}
	return nil
}
