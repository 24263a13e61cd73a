package run

import (
	"errors"
	"math"
	"runtime/debug"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetMemoryLimit(math.MaxInt64)
	cgroup := func(content string) func(string) ([]byte, error) {
		return func(path string) ([]byte, error) {
			if path != cgroupMemoryMax {
				t.Errorf("read %s", path)
			}
			if content == "" {
				return nil, errors.New("no such file")
			}
			return []byte(content), nil
		}
	}
	for _, tc := range []struct {
		flag, cgroup string
		want         int64
		wantErr      bool
	}{
		{flag: "", cgroup: "1073741824\n", want: 966367641},
		{flag: "auto", cgroup: "max\n", want: 0},
		{flag: "auto", cgroup: "", want: 0},
		{flag: "900Mi", cgroup: "1073741824\n", want: 900 << 20},
		{flag: "off", cgroup: "1073741824\n", want: 0},
		{flag: "lots", wantErr: true},
		{flag: "-1Gi", wantErr: true},
	} {
		got, from, err := memoryLimit(tc.flag, cgroup(tc.cgroup))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("memoryLimit(%q, cgroup %q) = %d (%s), %v; want %d, error %v", tc.flag, tc.cgroup, got, from, err, tc.want, tc.wantErr)
		}
		if err == nil && tc.want > 0 && debug.SetMemoryLimit(-1) != tc.want {
			t.Errorf("memoryLimit(%q): the runtime's limit is %d, want %d", tc.flag, debug.SetMemoryLimit(-1), tc.want)
		}
	}
}
