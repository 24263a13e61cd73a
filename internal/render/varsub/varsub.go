package varsub

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The parse errors carry the same words as Flux's, so that users searching
// for a message find the same answers.
var (
	// ErrBadSubstitution reports a malformed ${...} expression.
	ErrBadSubstitution = errors.New("bad substitution")
	// ErrMissingClosingBrace reports a ${var expression without its "}".
	ErrMissingClosingBrace = errors.New("missing closing brace")
	// ErrVariableName reports a ${...} that does not start with a name.
	ErrVariableName = errors.New("unable to parse variable name")
	// ErrFuncSubstitution reports a malformed argument of an expansion.
	ErrFuncSubstitution = errors.New("unable to parse substitution within function")
	// ErrNotSet reports, in strict mode, a variable that has no value and no default.
	ErrNotSet = errors.New("variable not set (strict mode)")
)

// Expand returns s with every ${...} expression replaced by its value from
// vars. When strict is false an unknown variable expands to "".
func Expand(s string, vars map[string]string, strict bool) (string, error) {
	p := &parser{s: s}
	nodes, err := p.parseText()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, n := range nodes {
		v, err := n.eval(vars, strict)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// node is literal text (op == textOp) or one expansion of variable name.
type node struct {
	op   string // "", ":=", "#", "//", ... ; textOp for text
	name string // variable name, or the text itself
	args [][]node
}

const textOp = "text"

func (n node) eval(vars map[string]string, strict bool) (string, error) {
	if n.op == textOp {
		return n.name, nil
	}
	args := make([]string, 0, len(n.args))
	for _, arg := range n.args {
		var b strings.Builder
		for _, part := range arg {
			v, err := part.eval(vars, strict)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		}
		args = append(args, b.String())
	}
	v, ok := vars[n.name]
	if strict && !ok && !isDefaultOp(n.op) {
		return "", fmt.Errorf("%w: %q", ErrNotSet, n.name)
	}
	return apply(n.op, v, args), nil
}

// isDefaultOp reports the operators whose job is to handle an unset variable.
func isDefaultOp(op string) bool {
	switch op {
	case "-", "+", "=", "?", ":-", ":+", ":=", ":?":
		return true
	}
	return false
}

// parser reads s from i. Plain text knows one escape, "$$" for "$"; the
// arguments of ${var/pat/rep} also know "\/" and "\\"; default values
// know none (as in Flux).
type parser struct {
	s string
	i int
}

func (p *parser) peek() (rune, int) {
	if p.i >= len(p.s) {
		return 0, 0
	}
	return utf8.DecodeRuneInString(p.s[p.i:])
}

func (p *parser) at(prefix string) bool { return strings.HasPrefix(p.s[p.i:], prefix) }

// parseText reads the whole input as text with embedded expansions.
func (p *parser) parseText() ([]node, error) {
	var nodes []node
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			nodes = append(nodes, node{op: textOp, name: text.String()})
			text.Reset()
		}
	}
	for p.i < len(p.s) {
		switch {
		case p.at("${"):
			flush()
			p.i += 2
			n, err := p.parseExpansion()
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, n)
		case p.at("$$"):
			text.WriteByte('$')
			p.i += 2
		default:
			text.WriteByte(p.s[p.i])
			p.i++
		}
	}
	flush()
	return nodes, nil
}

// parseExpansion reads what follows "${" up to and including its "}".
func (p *parser) parseExpansion() (node, error) {
	if r, _ := p.peek(); r == '#' {
		p.i++
		name := p.ident()
		if name == "" || !p.consume('}') {
			return node{}, ErrBadSubstitution
		}
		return node{op: "#", name: name}, nil
	}
	name := p.ident()
	if name == "" {
		return node{}, ErrVariableName
	}
	r, _ := p.peek()
	switch r {
	case ':':
		if len(p.s) > p.i+1 && strings.IndexByte("=-?+", p.s[p.i+1]) >= 0 {
			op := p.s[p.i : p.i+2]
			p.i += 2
			return p.parseDefault(name, op)
		}
		return p.parseSubstring(name)
	case '=':
		p.i++
		return p.parseDefault(name, "=")
	case ',', '^':
		op := p.run(",^", 2)
		if !p.consume('}') {
			return node{}, ErrBadSubstitution
		}
		return node{op: op, name: name}, nil
	case '/':
		return p.parseReplace(name)
	case '#', '%':
		op := p.run(string(r), 2)
		arg, err := p.param(notClosing, false)
		if err != nil {
			return node{}, err
		}
		if !p.consume('}') {
			return node{}, ErrBadSubstitution
		}
		return node{op: op, name: name, args: [][]node{arg}}, nil
	case '}':
		p.i++
		return node{name: name}, nil
	}
	return node{}, ErrMissingClosingBrace
}

// parseDefault reads the default value(s) of ${name<op>...}.
func (p *parser) parseDefault(name, op string) (node, error) {
	n := node{op: op, name: name}
	for !p.consume('}') {
		arg, err := p.param(notClosing, false)
		if err != nil {
			return node{}, err
		}
		n.args = append(n.args, arg)
	}
	return n, nil
}

// parseSubstring reads ${name:offset} or ${name:offset:length}.
func (p *parser) parseSubstring(name string) (node, error) {
	p.i++ // ':'
	n := node{op: ":", name: name}
	offset, err := p.param(func(r rune) bool { return r != ':' && r != '}' }, false)
	if err != nil {
		return node{}, err
	}
	n.args = append(n.args, offset)
	if p.consume('}') {
		return n, nil
	}
	if p.run(":", -1) == "" {
		return node{}, ErrBadSubstitution
	}
	length, err := p.param(notClosing, false)
	if err != nil {
		return node{}, err
	}
	n.args = append(n.args, length)
	if !p.consume('}') {
		return node{}, ErrBadSubstitution
	}
	return n, nil
}

// parseReplace reads ${name/pat/rep} and its //, /# and /% forms.
func (p *parser) parseReplace(name string) (node, error) {
	op := "/"
	p.i++
	if r, _ := p.peek(); r == '/' || r == '#' || r == '%' {
		op += string(r)
		p.i++
	}
	n := node{op: op, name: name}
	if r, _ := p.peek(); r == '/' {
		n.args = append(n.args, []node{{op: textOp}})
	} else {
		pattern, err := p.param(func(r rune) bool { return r != '/' }, true)
		if err != nil {
			return node{}, err
		}
		n.args = append(n.args, pattern)
	}
	if p.run("/", -1) == "" {
		return node{}, ErrBadSubstitution
	}
	if p.consume('}') {
		return n, nil
	}
	replacement, err := p.param(notClosing, true)
	if err != nil {
		return node{}, err
	}
	n.args = append(n.args, replacement)
	if !p.consume('}') {
		return node{}, ErrBadSubstitution
	}
	return n, nil
}

func notClosing(r rune) bool { return r != '}' }

// param reads one argument: a nested ${...}, or a non-empty run of text
// whose runes satisfy accept (escaped runes are always taken).
func (p *parser) param(accept func(rune) bool, escapes bool) ([]node, error) {
	if p.at("${") {
		p.i += 2
		n, err := p.parseExpansion()
		if err != nil {
			return nil, err
		}
		return []node{n}, nil
	}
	var text strings.Builder
	for p.i < len(p.s) && !p.at("${") {
		if escapes && (p.at("$$") || p.at(`\/`) || p.at(`\\`)) {
			text.WriteByte(p.s[p.i+1])
			p.i += 2
			continue
		}
		r, w := p.peek()
		if !accept(r) {
			break
		}
		text.WriteString(p.s[p.i : p.i+w])
		p.i += w
	}
	if text.Len() == 0 {
		return nil, ErrFuncSubstitution
	}
	return []node{{op: textOp, name: text.String()}}, nil
}

// ident reads a variable name: letters, digits and underscores.
func (p *parser) ident() string {
	start := p.i
	for p.i < len(p.s) {
		r, w := p.peek()
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			break
		}
		p.i += w
	}
	return p.s[start:p.i]
}

// run reads up to max (all when max < 0) consecutive bytes from set.
func (p *parser) run(set string, max int) string {
	start := p.i
	for p.i < len(p.s) && strings.IndexByte(set, p.s[p.i]) >= 0 && (max < 0 || p.i-start < max) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *parser) consume(b byte) bool {
	if p.i < len(p.s) && p.s[p.i] == b {
		p.i++
		return true
	}
	return false
}
