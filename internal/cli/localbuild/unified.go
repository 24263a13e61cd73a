package localbuild

import (
	"fmt"
	"strings"
)

// maxLCSCells bounds the table of the line matching: past it, the
// changed middle of two texts is shown as all removed, then all added.
const maxLCSCells = 1 << 22

// edit is one line of a diff: ' ' kept, '-' removed, '+' added.
type edit struct {
	op   byte
	text string
}

// unifiedDiff returns the unified diff of texts a and b, named from and
// to, with context unchanged lines around each change; "" when they are
// equal.
func unifiedDiff(from, to, a, b string, context int) string {
	edits := lineEdits(splitLines(a), splitLines(b))
	changed := false
	for _, e := range edits {
		changed = changed || e.op != ' '
	}
	if !changed {
		return ""
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", from, to)
	// aLine[i], bLine[i]: the 1-based lines of a and b at edit i.
	aLine, bLine := make([]int, len(edits)+1), make([]int, len(edits)+1)
	aLine[0], bLine[0] = 1, 1
	for i, e := range edits {
		aLine[i+1], bLine[i+1] = aLine[i], bLine[i]
		if e.op != '+' {
			aLine[i+1]++
		}
		if e.op != '-' {
			bLine[i+1]++
		}
	}
	for start := 0; start < len(edits); {
		first := nextChange(edits, start)
		if first < 0 {
			break
		}
		lo, hi := max(first-context, 0), first
		// Extend the hunk while the next change is close enough that the
		// contexts would touch.
		for {
			hi = lastOfRun(edits, hi)
			next := nextChange(edits, hi+1)
			if next < 0 || next-hi-1 > 2*context {
				break
			}
			hi = next
		}
		hi = min(hi+context, len(edits)-1)
		writeHunk(&out, edits[lo:hi+1], aLine[lo], bLine[lo])
		start = hi + 1
	}
	return out.String()
}

func writeHunk(out *strings.Builder, edits []edit, aStart, bStart int) {
	aCount, bCount := 0, 0
	for _, e := range edits {
		if e.op != '+' {
			aCount++
		}
		if e.op != '-' {
			bCount++
		}
	}
	// An empty side names the line before it, as diff(1) does.
	if aCount == 0 {
		aStart--
	}
	if bCount == 0 {
		bStart--
	}
	fmt.Fprintf(out, "@@ -%d,%d +%d,%d @@\n", aStart, aCount, bStart, bCount)
	for _, e := range edits {
		out.WriteByte(e.op)
		out.WriteString(e.text)
		out.WriteByte('\n')
	}
}

func nextChange(edits []edit, from int) int {
	for i := from; i < len(edits); i++ {
		if edits[i].op != ' ' {
			return i
		}
	}
	return -1
}

// lastOfRun returns the last index of the run of changes starting at i.
func lastOfRun(edits []edit, i int) int {
	for i+1 < len(edits) && edits[i+1].op != ' ' {
		i++
	}
	return i
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// lineEdits turns a into b with the fewest removed and added lines
// (longest common subsequence), common head and tail aside.
func lineEdits(a, b []string) []edit {
	head := 0
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	tail := 0
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	var out []edit
	for _, l := range a[:head] {
		out = append(out, edit{' ', l})
	}
	out = append(out, middleEdits(a[head:len(a)-tail], b[head:len(b)-tail])...)
	for _, l := range a[len(a)-tail:] {
		out = append(out, edit{' ', l})
	}
	return out
}

func middleEdits(a, b []string) []edit {
	var out []edit
	if len(a)*len(b) > maxLCSCells {
		for _, l := range a {
			out = append(out, edit{'-', l})
		}
		for _, l := range b {
			out = append(out, edit{'+', l})
		}
		return out
	}
	// lcs[i][j] is the length of the longest common subsequence of a[i:]
	// and b[j:].
	w := len(b) + 1
	lcs := make([]int32, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			out = append(out, edit{' ', a[i]})
			i, j = i+1, j+1
		case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
			out = append(out, edit{'-', a[i]})
			i++
		default:
			out = append(out, edit{'+', b[j]})
			j++
		}
	}
	for ; i < len(a); i++ {
		out = append(out, edit{'-', a[i]})
	}
	for ; j < len(b); j++ {
		out = append(out, edit{'+', b[j]})
	}
	return out
}
