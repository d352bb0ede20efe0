package soak

import (
	"fmt"
	"math/rand/v2"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// shopConfig is acme/shop's .slipway.yaml: a before-merge staging that
// needs an approval, an on-merge production depending on it, and one more
// on-merge environment whose drift is repaired.
var shopConfig = fmt.Sprintf(`version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: test
    namespace: %s
    mode: before-merge
    wait: %s
    policy:
      approvals: 1
      require: [plan-current]
  - name: production
    path: deploy/production
    cluster: test
    namespace: %s
    mode: on-merge
    depends_on: [staging]
    wait: %s
    drift: report
  - name: extra
    path: deploy/extra
    cluster: test
    namespace: %s
    mode: on-merge
    wait: %s
    drift: reconcile
`, envNamespaces["staging"], healthWait, envNamespaces["production"], healthWait, envNamespaces["extra"], healthWait)

// envOrder is shop's environments in the order the soak names them.
var envOrder = []string{"staging", "production", "extra"}

// envMode is each environment's mode, as shopConfig says.
var envMode = map[string]string{"staging": "before-merge", "production": "on-merge", "extra": "on-merge"}

func appYAML(version string, crash bool) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  version: %q
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, %s: "%t"}
    spec:
      containers:
        - name: web
          image: registry.invalid/web:%s
`, version, crashLabel, crash, version)
}

func extraYAML(k int, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra-%d\ndata:\n  value: %q\n", k, value)
}

func secretYAML(value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\nstringData:\n  password: %q\n", value)
}

// escapeYAML is an object in a namespace the server config does not allow
// shop: a hostile pull request's.
func escapeYAML(value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: escape\n  namespace: default\ndata:\n  value: %q\n", value)
}

func initialShop(secret string) map[string]string {
	files := map[string]string{".slipway.yaml": shopConfig}
	for _, env := range envOrder {
		files["deploy/"+env+"/app.yaml"] = appYAML("v0", false)
	}
	files["deploy/staging/secret.yaml"] = secretYAML(secret)
	files["deploy/production/secret.yaml"] = secretYAML(secret)
	return files
}

func initialOther() map[string]string {
	return map[string]string{
		".slipway.yaml":   fmt.Sprintf("version: 1\nenvironments:\n  - name: other\n    path: deploy\n    cluster: test\n    namespace: %s\n    mode: on-merge\n    wait: 0s\n", otherNS),
		"deploy/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other-app\ndata:\n  version: \"0\"\n",
	}
}

// changes makes the edits of one commit: for each of envs, a new version,
// a crash-looping one, an extra object added or removed, or a rotated
// Secret. Every value is unique (token), so every commit changes
// something; secret is told each new Secret value.
type changes struct {
	rng     *rand.Rand
	counter int
	// crashes counts commits with a Deployment that never becomes healthy.
	crashes int
	secret  func(string) // told every new Secret value
}

func (c *changes) token() string { c.counter++; return fmt.Sprintf("c%d", c.counter) }

func (c *changes) edit(envs ...string) map[string]string {
	files := map[string]string{}
	for _, env := range envs {
		dir := "deploy/" + env + "/"
		switch n := c.rng.IntN(10); {
		case n < 5:
			files[dir+"app.yaml"] = appYAML(c.token(), false)
		case n < 6:
			c.crashes++
			files[dir+"app.yaml"] = appYAML(c.token(), true)
		case n < 8:
			k := c.rng.IntN(3)
			files[dir+fmt.Sprintf("extra-%d.yaml", k)] = extraYAML(k, c.token())
		case n < 9:
			files[dir+fmt.Sprintf("extra-%d.yaml", c.rng.IntN(3))] = githubsim.Deleted
			files[dir+"app.yaml"] = appYAML(c.token(), false)
		default:
			if env == "extra" {
				files[dir+"app.yaml"] = appYAML(c.token(), false)
				continue
			}
			s := "soak-secret-" + c.token() + "-" + githubsim.RandomHex(8)
			c.secret(s)
			files[dir+"secret.yaml"] = secretYAML(s)
		}
	}
	return files
}
