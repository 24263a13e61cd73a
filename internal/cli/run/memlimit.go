package run

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// The Go runtime lets the heap grow to twice what is live before it
// collects; under a container's memory limit that headroom is what gets a
// controller OOM-killed during a burst. A soft memory limit makes the
// collector work harder as the limit nears instead. Flux's install sets
// GOMEMLIMIT from each controller's container limit; Tether does the same
// by itself, and --memory-limit sets it by hand.

// cgroupMemoryMax is cgroup v2's memory limit of this process's group.
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// memoryLimitShare is the part of a container's limit given to the Go
// heap; the rest is for stacks, the runtime and other memory.
const memoryLimitShare = 0.9

// memoryLimit chooses the soft memory limit: flag ("" or "auto": GOMEMLIMIT
// when set, which the runtime already applies, else 90 % of the cgroup's
// limit when there is one; "0" or "off": none) and sets it. It returns the
// limit in bytes (0: none) and where it came from.
func memoryLimit(flag string, readFile func(string) ([]byte, error)) (int64, string, error) {
	switch flag = strings.TrimSpace(flag); flag {
	case "0", "off":
		debug.SetMemoryLimit(math.MaxInt64)
		return 0, "off", nil
	case "", "auto":
		if os.Getenv("GOMEMLIMIT") != "" {
			return debug.SetMemoryLimit(-1), "GOMEMLIMIT", nil
		}
		data, err := readFile(cgroupMemoryMax)
		if err != nil {
			return 0, "no cgroup limit", nil
		}
		text := strings.TrimSpace(string(data))
		max, err := strconv.ParseInt(text, 10, 64)
		if err != nil || max <= 0 { // "max": no limit
			return 0, "no cgroup limit", nil
		}
		limit := int64(float64(max) * memoryLimitShare)
		debug.SetMemoryLimit(limit)
		return limit, "90 % of the cgroup limit", nil
	}
	q, err := resource.ParseQuantity(flag)
	if err != nil || q.Value() <= 0 {
		return 0, "", fmt.Errorf("--memory-limit %q: want a size such as 900Mi, or auto, or off", flag)
	}
	debug.SetMemoryLimit(q.Value())
	return q.Value(), "--memory-limit", nil
}
