package lifecycle

import (
	"os"
	"testing"

	"github.com/tether-gitops/tether/internal/testenv"
)

// env is the one cluster of this package's tests; nil with -short.
var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, testenv.Options{}, &env))
}
