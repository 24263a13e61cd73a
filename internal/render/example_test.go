package render_test

import (
	"context"
	"fmt"

	"github.com/tether-gitops/tether/internal/render"
)

func ExampleRenderer_Render() {
	r := render.NewRenderer(64)
	objs, err := r.Render(context.Background(), "testdata/nested", "sha256:example", render.Options{
		Path:            "./deploy/webapp",
		TargetNamespace: "webapp",
		NamePrefix:      "prod-",
		Images:          []render.Image{{Name: "ghcr.io/stefanprodan/podinfo", NewTag: "6.5.0"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range objs {
		fmt.Println(o.Source, o.Obj.GetKind(), o.Obj.GetNamespace()+"/"+o.Obj.GetName())
	}
	// Output:
	// deploy/webapp/deployment.yaml Deployment webapp/prod-webapp
	// deploy/webapp/extra/configmap.yaml ConfigMap webapp/prod-webapp-extra
	// deploy/webapp/redis/redis.yaml Deployment webapp/prod-redis
	// deploy/webapp/service.yml Service webapp/prod-webapp
}

func ExampleParseImage() {
	img, _ := render.ParseImage("gcr.io/heptio-images/ks-guestbook-demo:0.2")
	fmt.Printf("%+v\n", img)
	img, _ = render.ParseImage("nginx=registry.example.com/nginx@sha256:24a0c4b4")
	fmt.Printf("%+v\n", img)
	// Output:
	// {Name:gcr.io/heptio-images/ks-guestbook-demo NewName: NewTag:0.2 Digest:}
	// {Name:nginx NewName:registry.example.com/nginx NewTag: Digest:sha256:24a0c4b4}
}
