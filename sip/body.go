package sip

import (
	"bytes"
	"strings"
)

// maxMultipartDepth and maxParts bound the walk through nested multipart
// bodies.
const (
	maxMultipartDepth = 4
	maxParts          = 64
)

// SDP returns the session description the message carries: the body when
// it is application/sdp, or the first application/sdp part of a multipart
// body (RFC 5621), nested multiparts included. A body or part without
// Content-Type that starts with "v=0" is taken for SDP too, as some peers
// omit the header. It returns nil when there is none. The result aliases
// Body.
func (m *Message) SDP() []byte {
	if len(m.Body) == 0 {
		return nil
	}
	return findSDP(m.ContentType, m.Body, 0)
}

func findSDP(contentType string, body []byte, depth int) []byte {
	mediaType, params, _ := strings.Cut(contentType, ";")
	mediaType = trimWS(mediaType)
	switch {
	case strings.EqualFold(mediaType, "application/sdp"):
		return body
	case len(mediaType) > 10 && strings.EqualFold(mediaType[:10], "multipart/"):
		if depth < maxMultipartDepth {
			return multipartSDP(body, Param(params, "boundary"), depth+1)
		}
	case mediaType == "" && bytes.HasPrefix(body, []byte("v=0")):
		return body
	}
	return nil
}

// multipartSDP walks the body parts of a multipart body (RFC 2046 §5.1.1):
// each starts after a delimiter line "--boundary", and the line end before
// the next delimiter belongs to that delimiter.
func multipartSDP(body []byte, boundary string, depth int) []byte {
	if boundary == "" {
		return nil
	}
	delim := []byte("--" + boundary)
	i := indexDelimiter(body, delim, 0)
	for n := 0; i >= 0 && n < maxParts; n++ {
		rest := body[i+len(delim):]
		if bytes.HasPrefix(rest, []byte("--")) {
			return nil
		}
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return nil
		}
		partStart := i + len(delim) + nl + 1
		next := indexDelimiter(body, delim, partStart)
		part := body[partStart:]
		if next >= 0 {
			part = body[partStart:next]
			part = bytes.TrimSuffix(part, []byte("\n"))
			part = bytes.TrimSuffix(part, []byte("\r"))
		}
		contentType, content := partHeaders(part)
		if sdp := findSDP(contentType, content, depth); sdp != nil {
			return sdp
		}
		i = next
	}
	return nil
}

// indexDelimiter finds delim at the start of a line of body, at or after
// from.
func indexDelimiter(body, delim []byte, from int) int {
	for from <= len(body) {
		j := bytes.Index(body[from:], delim)
		if j < 0 {
			return -1
		}
		at := from + j
		if at == 0 || body[at-1] == '\n' {
			return at
		}
		from = at + 1
	}
	return -1
}

// partHeaders returns a body part's Content-Type (compact form allowed) and
// its content after the empty line.
func partHeaders(part []byte) (contentType string, content []byte) {
	for len(part) > 0 {
		nl := bytes.IndexByte(part, '\n')
		line := part
		if nl >= 0 {
			line, part = part[:nl], part[nl+1:]
		} else {
			part = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return contentType, part
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && contentType == "" && CanonicalName(string(name)) == "Content-Type" {
			contentType = trimWS(string(value))
		}
	}
	return contentType, nil
}
