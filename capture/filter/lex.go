package filter

import (
	"fmt"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tWord
	tAnd
	tOr
	tNot
	tLParen
	tRParen
)

// token is one lexical element of an expression. pos is its byte offset,
// so errors can point at it.
type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) String() string {
	if t.kind == tEOF {
		return "end of expression"
	}
	return fmt.Sprintf("%q", t.text)
}

// wordByte reports whether c can be part of a word: keywords, numbers,
// port ranges ("10000-20000"), IPv4 and IPv6 addresses and prefixes, and
// backslash-escaped protocol names ("\udp").
func wordByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '.', ':', '-', '_', '/', '\\':
		return true
	}
	return false
}

// lex splits expr into tokens. It allocates one token per word, bounded
// by the expression's length.
func lex(expr string) ([]token, error) {
	var toks []token
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")", i})
			i++
		case c == '!':
			toks = append(toks, token{tNot, "!", i})
			i++
		case c == '&' || c == '|':
			if i+1 >= len(expr) || expr[i+1] != c {
				return nil, errorAt(i, "%q must be doubled (%q)", string(c), string([]byte{c, c}))
			}
			kind := tAnd
			if c == '|' {
				kind = tOr
			}
			toks = append(toks, token{kind, expr[i : i+2], i})
			i += 2
		case wordByte(c):
			j := i
			for j < len(expr) && wordByte(expr[j]) {
				j++
			}
			w := expr[i:j]
			kind := tWord
			switch w {
			case "and":
				kind = tAnd
			case "or":
				kind = tOr
			case "not":
				kind = tNot
			}
			toks = append(toks, token{kind, w, i})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(expr[i:])
			return nil, errorAt(i, "unexpected character %q (byte-offset and arithmetic expressions are not supported)", r)
		}
	}
	return append(toks, token{tEOF, "", len(expr)}), nil
}
