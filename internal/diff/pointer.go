package diff

import (
	"fmt"
	"strconv"
	"strings"
)

// pointer is a parsed RFC 6901 JSON pointer: the reference tokens with the
// "~1" and "~0" escapes already decoded.
type pointer []string

// parsePointer parses an RFC 6901 JSON pointer. The empty pointer names the
// whole object, which cannot be removed, so it is refused too.
func parsePointer(s string) (pointer, error) {
	if s == "" {
		return nil, fmt.Errorf("empty pointer names the whole object, which cannot be ignored")
	}
	if !strings.HasPrefix(s, "/") {
		return nil, fmt.Errorf("must start with \"/\" (RFC 6901), as in \"/spec/replicas\"")
	}
	raw := strings.Split(s[1:], "/")
	tokens := make(pointer, len(raw))
	for i, tok := range raw {
		dec, err := unescapeToken(tok)
		if err != nil {
			return nil, err
		}
		tokens[i] = dec
	}
	return tokens, nil
}

// unescapeToken decodes "~1" to "/" and "~0" to "~" in one left-to-right
// pass, so "~01" becomes "~1" and not "/", as RFC 6901 section 4 requires.
func unescapeToken(tok string) (string, error) {
	if !strings.Contains(tok, "~") {
		return tok, nil
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		if tok[i] != '~' {
			b.WriteByte(tok[i])
			continue
		}
		if i+1 == len(tok) || (tok[i+1] != '0' && tok[i+1] != '1') {
			return "", fmt.Errorf("token %q: \"~\" must be followed by 0 or 1 (write \"~0\" for \"~\" and \"~1\" for \"/\")", tok)
		}
		if tok[i+1] == '0' {
			b.WriteByte('~')
		} else {
			b.WriteByte('/')
		}
		i++
	}
	return b.String(), nil
}

// remove deletes the value p points at from obj. A pointer to a missing
// path, an index out of range or a token that is not an index where a list
// is found removes nothing; that is not an error.
func (p pointer) remove(obj map[string]any) {
	removeAt(obj, p)
}

// removeAt removes tokens from node and returns the node to store in its
// parent (a list shrinks into a new slice header) and whether it changed.
func removeAt(node any, tokens []string) (any, bool) {
	tok, rest := tokens[0], tokens[1:]
	switch n := node.(type) {
	case map[string]any:
		child, ok := n[tok]
		if !ok {
			return node, false
		}
		if len(rest) == 0 {
			delete(n, tok)
			return n, true
		}
		if updated, changed := removeAt(child, rest); changed {
			n[tok] = updated
			return n, true
		}
	case []any:
		i, ok := listIndex(tok, len(n))
		if !ok {
			return node, false
		}
		if len(rest) == 0 {
			return append(n[:i:i], n[i+1:]...), true
		}
		if updated, changed := removeAt(n[i], rest); changed {
			n[i] = updated
			return n, true
		}
	}
	return node, false
}

// listIndex parses an RFC 6901 array index: "0" or digits without a leading
// zero, below n. "-" (past the end) never names an existing element.
func listIndex(tok string, n int) (int, bool) {
	if tok == "" || (len(tok) > 1 && tok[0] == '0') {
		return 0, false
	}
	for _, c := range tok {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i >= n {
		return 0, false
	}
	return i, true
}
