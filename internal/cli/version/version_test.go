package version

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/internal/version"
)

func TestRun(t *testing.T) {
	info := version.Info{Version: "v1.2.3", Commit: "abc", GoVersion: "go1.26.8", Platform: "linux/amd64"}
	tests := []struct {
		name    string
		output  string
		want    string
		wantErr string
	}{
		{name: "text", output: "", want: "tether v1.2.3 (commit abc, go1.26.8, linux/amd64)\n"},
		{name: "json", output: "json", want: `"version": "v1.2.3"`},
		{name: "unknown format", output: "yaml", wantErr: `unknown output format "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(&Options{Output: tt.output, Out: &out}, info)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Fatalf("output %q does not contain %q", out.String(), tt.want)
			}
			if tt.output == "json" {
				var got version.Info
				if err := json.Unmarshal(out.Bytes(), &got); err != nil || got != info {
					t.Fatalf("json round trip = %+v, %v; want %+v", got, err, info)
				}
			}
		})
	}
}
