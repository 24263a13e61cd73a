package varsub

import (
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// apply runs the expansion op on the value v of a variable.
func apply(op, v string, args []string) string {
	switch op {
	case ",":
		return mapFirst(v, unicode.ToLower)
	case ",,":
		return strings.ToLower(v)
	case "^":
		return mapFirst(v, unicode.ToUpper)
	case "^^":
		return strings.ToUpper(v)
	case "#":
		if len(args) == 0 {
			return strconv.Itoa(len(v))
		}
		return trimPrefix(v, args[0], false)
	case "##":
		return trimPrefix(v, args[0], true)
	case "%":
		return trimSuffix(v, args[0], false)
	case "%%":
		return trimSuffix(v, args[0], true)
	case ":":
		return substring(v, args)
	case "/", "//":
		n := 1
		if op == "//" {
			n = -1
		}
		return strings.Replace(v, args[0], arg(args, 1), n)
	case "/#":
		if len(args) == 2 && strings.HasPrefix(v, args[0]) {
			return args[1] + strings.TrimPrefix(v, args[0])
		}
		return v
	case "/%":
		if len(args) == 2 && strings.HasSuffix(v, args[0]) {
			return strings.TrimSuffix(v, args[0]) + args[1]
		}
		return v
	}
	// Plain ${var} and every default form: the value, else the default.
	if v == "" && len(args) > 0 {
		return strings.Join(args, "")
	}
	return v
}

func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

func mapFirst(s string, f func(rune) rune) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(f(r)) + s[n:]
}

// substring implements ${var:offset[:length]} on bytes, like Flux: a
// negative offset counts from the end, a negative length stops that many
// bytes before the end, and an argument that is not a number leaves v as is.
func substring(v string, args []string) string {
	pos, err := strconv.Atoi(args[0])
	if err != nil {
		return v
	}
	if pos < 0 {
		pos = max(len(v)+pos, 0)
	}
	if len(args) == 1 {
		if pos < len(v) {
			return v[pos:]
		}
		return ""
	}
	length, err := strconv.Atoi(args[1])
	if err != nil {
		return v
	}
	if length < 0 {
		end := len(v) + length
		if end < pos {
			return ""
		}
		return v[pos:end]
	}
	if pos+length >= len(v) {
		if pos < len(v) {
			return v[pos:]
		}
		return ""
	}
	return v[pos : pos+length]
}

// trimPrefix removes the shortest (or longest) non-empty prefix of v that
// matches the shell pattern.
func trimPrefix(v, pattern string, longest bool) string {
	match := -1
	for end := len(v); end > 0; end-- {
		ok, err := path.Match(pattern, v[:end])
		if err != nil {
			return v
		}
		if ok {
			match = end
			if longest {
				break
			}
		}
	}
	if match < 0 {
		return v
	}
	return v[match:]
}

// trimSuffix removes the shortest (or longest) non-empty suffix of v that
// matches the shell pattern.
func trimSuffix(v, pattern string, longest bool) string {
	match := -1
	for start := 0; start < len(v); start++ {
		ok, err := path.Match(pattern, v[start:])
		if err != nil {
			return v
		}
		if ok {
			match = start
			if longest {
				break
			}
		}
	}
	if match < 0 {
		return v
	}
	return v[:match]
}
