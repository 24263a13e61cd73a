// Package artifact holds the commands that make and publish OCI artifacts
// as Flux's CLI does: `push artifact`, `build artifact` and `tag
// artifact`. An artifact pushed here is what an OCIRepository (or an Argo
// CD oci:// source) pulls: Flux's media types, one tar.gz layer, the
// source and revision annotations.
//
//	tether build artifact --path ./deploy --output deploy.tgz
//	tether push artifact oci://ghcr.io/org/deploy:$(git rev-parse --short HEAD) \
//		--path ./deploy --source "$(git config --get remote.origin.url)" \
//		--revision "main@sha1:$(git rev-parse HEAD)"
//	tether tag artifact oci://ghcr.io/org/deploy:1a2b3c4 --tag latest
//
// Each command has an Options struct and a Run function that take no
// cobra types, so they are tested without the command line.
package artifact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tether-gitops/tether/internal/cli/output"
	"github.com/tether-gitops/tether/internal/source/oci"
)

// DefaultIgnorePaths are Flux's default --ignore-paths.
var DefaultIgnorePaths = []string{".git/", ".gitignore", ".gitmodules", ".gitattributes",
	"*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip"}

// RegistryOptions are the connection flags of the commands that talk to
// a registry.
type RegistryOptions struct {
	// Creds is "<user>:<password>" or a token; empty uses the Docker
	// config (~/.docker/config.json).
	Creds string
	// Insecure allows plain HTTP and unverified TLS.
	Insecure bool
	// Timeout bounds the whole operation.
	Timeout time.Duration
}

// ociOptions turns the flags into the registry client's options.
func (o RegistryOptions) ociOptions() oci.Options {
	opts := oci.Options{Insecure: o.Insecure, Timeout: o.Timeout, Keychain: true}
	if o.Creds != "" {
		if user, pass, ok := strings.Cut(o.Creds, ":"); ok {
			opts.Username, opts.Password = user, pass
		} else {
			opts.Token = o.Creds
		}
	}
	return opts
}

// BuildOptions are the flags of `build artifact`.
type BuildOptions struct {
	// Path is the folder or file to pack.
	Path string
	// Output is the file to write.
	Output string
	// IgnorePaths are .gitignore patterns to leave out.
	IgnorePaths []string
	// Err receives the progress messages.
	Err io.Writer
}

// RunBuild writes the tar.gz of opts.Path to opts.Output.
func RunBuild(ctx context.Context, opts BuildOptions) error {
	if opts.Path == "" {
		return errors.New("--path is required")
	}
	var buf bytes.Buffer
	if _, err := oci.Build(ctx, &buf, oci.BuildOptions{Path: opts.Path, Ignore: opts.IgnorePaths}); err != nil {
		return fmt.Errorf("build artifact of %s: %w", opts.Path, err)
	}
	if dir := filepath.Dir(opts.Output); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(opts.Output, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", opts.Output, err)
	}
	fmt.Fprintf(writer(opts.Err), "artifact of %s written to %s\n", opts.Path, opts.Output)
	return nil
}

// PushOptions are the flags of `push artifact`.
type PushOptions struct {
	RegistryOptions
	// Reference is "oci://<registry>/<repository>:<tag>".
	Reference string
	// Path is the folder or file to pack.
	Path string
	// Source and Revision are the origin's URL and revision, recorded as
	// annotations.
	Source, Revision string
	// Annotations are more annotations, "key=value".
	Annotations []string
	// IgnorePaths are .gitignore patterns to leave out.
	IgnorePaths []string
	// Reproducible sets the creation time to the Unix epoch, so the same
	// files always give the same digest.
	Reproducible bool
	// Output is "" (messages only), "json" or "yaml": what was pushed, on
	// Out.
	Output string
	// Out receives the -o output; Err the progress messages.
	Out, Err io.Writer
	// Rewrite maps URLs to mirrors; nil leaves them alone.
	Rewrite func(string) string
}

// pushResult is what -o json|yaml prints.
type pushResult struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
	URL        string `json:"url"`
}

// RunPush builds the artifact of opts.Path and pushes it.
func RunPush(ctx context.Context, opts PushOptions) error {
	url, tag, _, err := oci.ParseReference(opts.Reference)
	if err != nil {
		return err
	}
	if tag == "" {
		return fmt.Errorf("%s: push needs a tag, not a digest", opts.Reference)
	}
	if opts.Path == "" {
		return errors.New("--path is required")
	}
	if opts.Source == "" || opts.Revision == "" {
		return errors.New("--source and --revision are required: they tell where the files come from")
	}
	if opts.Output != "" && opts.Output != "json" && opts.Output != "yaml" {
		return fmt.Errorf("--output %q: use json or yaml", opts.Output)
	}
	meta := oci.Metadata{Source: opts.Source, Revision: opts.Revision, Annotations: map[string]string{}}
	for _, a := range opts.Annotations {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return fmt.Errorf("--annotations %q: use key=value", a)
		}
		meta.Annotations[k] = v
	}
	if opts.Reproducible {
		meta.Created = time.Unix(0, 0)
	}
	var buf bytes.Buffer
	if _, err := oci.Build(ctx, &buf, oci.BuildOptions{Path: opts.Path, Ignore: opts.IgnorePaths}); err != nil {
		return fmt.Errorf("build artifact of %s: %w", opts.Path, err)
	}
	errw := writer(opts.Err)
	fmt.Fprintf(errw, "pushing artifact to %s\n", opts.Reference)
	client := &oci.Client{Rewrite: opts.Rewrite}
	pushed, err := client.Push(ctx, url, tag, buf.Bytes(), meta, opts.ociOptions())
	if err != nil {
		return err
	}
	fmt.Fprintf(errw, "artifact pushed to %s\n", pushed.URL())
	res := pushResult{Repository: pushed.Repository, Tag: pushed.Tag, Digest: pushed.Digest, URL: pushed.URL()}
	if opts.Output == "" {
		return nil
	}
	return output.Object(writer(opts.Out), opts.Output, res)
}

// TagOptions are the flags of `tag artifact`.
type TagOptions struct {
	RegistryOptions
	// Reference is "oci://<registry>/<repository>:<tag>" or "@<digest>".
	Reference string
	// Tags are the tags to add.
	Tags []string
	// Err receives the progress messages.
	Err io.Writer
	// Rewrite maps URLs to mirrors; nil leaves them alone.
	Rewrite func(string) string
}

// RunTag adds opts.Tags to the artifact opts.Reference names.
func RunTag(ctx context.Context, opts TagOptions) error {
	url, tag, digest, err := oci.ParseReference(opts.Reference)
	if err != nil {
		return err
	}
	if len(opts.Tags) == 0 {
		return errors.New("--tag is required")
	}
	ref := tag
	if digest != "" {
		ref = digest
	}
	client := &oci.Client{Rewrite: opts.Rewrite}
	d, err := client.Tag(ctx, url, ref, opts.Tags, opts.ociOptions())
	if err != nil {
		return err
	}
	for _, t := range opts.Tags {
		fmt.Fprintf(writer(opts.Err), "tagged %s@%s as %s:%s\n", url, d, url, t)
	}
	return nil
}

func writer(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
