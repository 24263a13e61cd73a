package artifact

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func addRegistryFlags(fs *pflag.FlagSet, o *RegistryOptions) {
	fs.StringVar(&o.Creds, "creds", "", "registry credentials, <username>:<password> or a token (default: the Docker config, ~/.docker/config.json)")
	fs.BoolVar(&o.Insecure, "insecure-registry", false, "allow plain HTTP (and unverified TLS) to the registry")
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "how long the whole operation may take")
}

// NewPushCmd returns `push`, with its `artifact` subcommand.
func NewPushCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "push", Short: "Publish OCI artifacts"}
	opts := &PushOptions{}
	sub := &cobra.Command{
		Use:   "artifact oci://REGISTRY/REPOSITORY:TAG --path DIR --source URL --revision REV",
		Short: "Pack a folder or file and push it to a registry as an OCI artifact",
		Long: `Push packs --path into a tar.gz (as 'build artifact' does) and uploads it as
an OCI artifact laid out as Flux's CLI does: config media type
application/vnd.cncf.flux.config.v1+json, one layer of media type
application/vnd.cncf.flux.content.v1.tar+gzip, and the annotations
org.opencontainers.image.source (--source), org.opencontainers.image.revision
(--revision) and org.opencontainers.image.created. An OCIRepository pulls it.
Credentials come from --creds, else from the Docker config.`,
		Example: `  tether push artifact oci://ghcr.io/org/config/app:$(git rev-parse --short HEAD) \
    --path=./deploy \
    --source="$(git config --get remote.origin.url)" \
    --revision="$(git branch --show-current)@sha1:$(git rev-parse HEAD)"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Reference = args[0]
			opts.Out, opts.Err = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return RunPush(cmd.Context(), *opts)
		},
	}
	fs := sub.Flags()
	fs.StringVarP(&opts.Path, "path", "p", "", "folder or file to pack (required)")
	fs.StringVar(&opts.Source, "source", "", "URL of the files' origin, such as the Git repository (required)")
	fs.StringVar(&opts.Revision, "revision", "", "the origin's revision, such as main@sha1:<commit> (required)")
	fs.StringArrayVarP(&opts.Annotations, "annotations", "a", nil, "more annotations, key=value (repeatable)")
	fs.StringSliceVar(&opts.IgnorePaths, "ignore-paths", DefaultIgnorePaths, "paths to leave out, in .gitignore format")
	fs.BoolVar(&opts.Reproducible, "reproducible", false, "set the creation time to 1970-01-01T00:00:00Z, so the same files give the same digest")
	fs.StringVarP(&opts.Output, "output", "o", "", "print what was pushed as json or yaml")
	addRegistryFlags(fs, &opts.RegistryOptions)
	cmd.AddCommand(sub)
	return cmd
}

// NewBuildCmd returns `artifact`, the subcommand of `build` that writes
// an artifact to a file.
func NewBuildCmd() *cobra.Command {
	opts := &BuildOptions{}
	cmd := &cobra.Command{
		Use:   "artifact --path DIR --output FILE",
		Short: "Pack a folder or file into the tar.gz that 'push artifact' uploads",
		Example: `  tether build artifact --path ./deploy --output ./deploy.tgz
  tar -ztvf ./deploy.tgz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Err = cmd.ErrOrStderr()
			return RunBuild(cmd.Context(), *opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&opts.Path, "path", "p", "", "folder or file to pack (required)")
	fs.StringVarP(&opts.Output, "output", "o", "artifact.tgz", "file to write")
	fs.StringSliceVar(&opts.IgnorePaths, "ignore-paths", DefaultIgnorePaths, "paths to leave out, in .gitignore format")
	return cmd
}

// NewTagCmd returns `tag`, with its `artifact` subcommand.
func NewTagCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tag", Short: "Tag OCI artifacts"}
	opts := &TagOptions{}
	sub := &cobra.Command{
		Use:     "artifact oci://REGISTRY/REPOSITORY:TAG --tag NEW",
		Short:   "Add tags to an artifact in a registry",
		Example: `  tether tag artifact oci://ghcr.io/org/config/app:v0.0.1 --tag latest`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Reference = args[0]
			opts.Err = cmd.ErrOrStderr()
			return RunTag(cmd.Context(), *opts)
		},
	}
	sub.Flags().StringSliceVar(&opts.Tags, "tag", nil, "tag to add (repeatable)")
	addRegistryFlags(sub.Flags(), &opts.RegistryOptions)
	cmd.AddCommand(sub)
	return cmd
}
