package varsub_test

import (
	"fmt"

	"github.com/tether-gitops/tether/internal/render/varsub"
)

func ExampleExpand() {
	out, err := varsub.Expand("image: app:${TAG:=latest} env: ${ENV} cost: $$5", map[string]string{"ENV": "prod"}, false)
	fmt.Println(out, err)
	// Output: image: app:latest env: prod cost: $5 <nil>
}
