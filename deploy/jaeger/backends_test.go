package jaegerdeploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/jaegertest"
)

// OPERATIONS.md's "Another backend" blocks, each put in place of storage.yaml's badger block, are
// accepted by the real binary's validate command (which checks each backend's keys and required
// settings without connecting), and a block with a misspelt key is refused.
func TestReadmeBackendsValidate(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	storage, err := os.ReadFile("storage.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The badger block: from its line to the first line indented no deeper than it.
	badger := regexp.MustCompile(`(?m)^        badger:\n(?:^          .*\n|^\s*#.*\n)*`).FindIndex(storage)
	if badger == nil {
		t.Fatal("storage.yaml has no badger block under jaeger_storage.backends.traces")
	}
	blocks := regexp.MustCompile("(?s)```yaml\n# backend: (\\w+)[^\n]*\n(.*?)```").FindAllSubmatch(readme, -1)
	want := []string{"cassandra", "opensearch", "elasticsearch", "clickhouse"}
	var got []string
	dir := t.TempDir()
	validate := func(name, block string) (string, error) {
		t.Helper()
		cfg := string(storage[:badger[0]]) + block + string(storage[badger[1]:])
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return jaegertest.Validate(t, path)
	}
	for _, b := range blocks {
		name, block := string(b[1]), string(b[2])
		got = append(got, name)
		if !strings.HasPrefix(block, "        "+name+":\n") {
			t.Errorf("OPERATIONS.md's %s block does not start with %q at the badger block's indentation", name, name+":")
			continue
		}
		if out, err := validate(name, block); err != nil {
			t.Errorf("jaeger validate refuses OPERATIONS.md's %s block: %v\n%s", name, err, out)
		}
		if name == "cassandra" {
			bad := strings.Replace(block, "servers:", "server:", 1)
			if out, err := validate("cassandra-misspelt", bad); err == nil {
				t.Errorf("jaeger validate accepted a cassandra block with a misspelt key:\n%s", out)
			}
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("OPERATIONS.md's backend blocks: %v, want %v", got, want)
	}
}
