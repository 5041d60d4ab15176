package astconf

import "strings"

// MatchExten applies an Asterisk extension pattern ("_X.", "_NXX[1-5]!")
// to a dialled string. A name without the leading underscore matches
// only itself.
func MatchExten(pattern, s string) bool {
	if !strings.HasPrefix(pattern, "_") {
		return pattern == s
	}
	p := pattern[1:]
	i := 0
	for j := 0; j < len(p); j++ {
		switch c := p[j]; c {
		case '.':
			return i < len(s)
		case '!':
			return true
		case '[':
			end := strings.IndexByte(p[j:], ']')
			if end < 0 || i >= len(s) || !inClass(p[j+1:j+end], s[i]) {
				return false
			}
			j += end
			i++
		default:
			if i >= len(s) || !matchChar(c, s[i]) {
				return false
			}
			i++
		}
	}
	return i == len(s)
}

func matchChar(p, c byte) bool {
	switch p {
	case 'X', 'x':
		return c >= '0' && c <= '9'
	case 'Z', 'z':
		return c >= '1' && c <= '9'
	case 'N', 'n':
		return c >= '2' && c <= '9'
	}
	return p == c
}

// inClass matches a character against a [...] class such as "1-5a".
func inClass(class string, c byte) bool {
	for k := 0; k < len(class); k++ {
		if k+2 < len(class) && class[k+1] == '-' {
			if c >= class[k] && c <= class[k+2] {
				return true
			}
			k += 2
			continue
		}
		if class[k] == c {
			return true
		}
	}
	return false
}
