package plan

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

var maskPattern = regexp.MustCompile(`<secret hmac:[0-9a-f]{12}>`)

// secretValue returns the mask shown for key in a Secret's YAML.
func secretValue(t *testing.T, doc, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + key + `: (.*)$`).FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("no data key %s in\n%s", key, doc)
	}
	if !maskPattern.MatchString(m[1]) {
		t.Fatalf("data %s shows %q, not a mask", key, m[1])
	}
	return m[1]
}

func TestSecretsAreMasked(t *testing.T) {
	f := newFixture(t)
	values := []string{"same-value-1", "old-value-2", "new-value-3", "string-data-4", "created-5"}
	f.apply(f.objects(`
apiVersion: v1
kind: Secret
metadata: {name: app}
stringData: {same: same-value-1, changed: old-value-2}
`))
	p := f.plan(f.objects(`
apiVersion: v1
kind: Secret
metadata: {name: app}
data:
  same: ` + base64.StdEncoding.EncodeToString([]byte("same-value-1")) + `
stringData: {changed: new-value-3, added: string-data-4}
---
apiVersion: v1
kind: Secret
metadata: {name: fresh}
stringData: {token: created-5}
`))
	up := change(t, p, "Secret", "app")
	wantAction(t, up, Update)
	if secretValue(t, up.Before, "same") != secretValue(t, up.After, "same") {
		t.Error("an unchanged value masks differently before and after")
	}
	if secretValue(t, up.Before, "changed") == secretValue(t, up.After, "changed") {
		t.Error("a changed value masks the same before and after")
	}
	secretValue(t, up.After, "added") // stringData shows as a data key
	if strings.Contains(up.After, "stringData") {
		t.Errorf("stringData not folded into data:\n%s", up.After)
	}
	cr := change(t, p, "Secret", "fresh")
	wantAction(t, cr, Create)
	secretValue(t, cr.After, "token")

	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
			if strings.Contains(string(b), form) {
				t.Errorf("plan JSON contains secret value %q", form)
			}
		}
	}
}

// An object's own last-applied annotation (from kubectl apply) copies every
// Secret value in the clear; it must not reach the plan either.
func TestLastAppliedAnnotationIsDropped(t *testing.T) {
	f := newFixture(t)
	f.apply(f.objects(`
apiVersion: v1
kind: Secret
metadata:
  name: legacy
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"k":"leaked-value"}}'
stringData: {k: leaked-value}
`))
	p := f.plan(f.objects(`
apiVersion: v1
kind: Secret
metadata: {name: legacy}
stringData: {k: new-value}
`))
	ch := change(t, p, "Secret", "legacy")
	wantAction(t, ch, Update)
	b, _ := json.Marshal(p)
	if strings.Contains(string(b), "leaked-value") || strings.Contains(string(b), "last-applied") {
		t.Errorf("plan shows the last-applied annotation:\n%s\n%s", ch.Before, ch.After)
	}
}

func TestMask(t *testing.T) {
	mask := testMask
	a, a2, b := mask([]byte("a")), mask([]byte("a")), mask([]byte("b"))
	if a != a2 || a == b || !maskPattern.MatchString(a) {
		t.Errorf("mask(a)=%s twice %s, mask(b)=%s", a, a2, b)
	}
}

func TestScrubSecrets(t *testing.T) {
	f := &fixture{t: t, ns: "ns"}
	u := f.objects(`
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {k: ` + base64.StdEncoding.EncodeToString([]byte("pass")) + `}
stringData: {long: password}
`)[0].Object
	got := testMask.scrubSecrets("got pass, password and cGFzcw== here", u)
	for _, leak := range []string{"pass", "cGFzcw=="} {
		if strings.Contains(got, leak) {
			t.Errorf("scrubbed message %q still contains %q", got, leak)
		}
	}
	if !strings.Contains(got, testMask([]byte("password"))) {
		t.Errorf("scrubbed message %q: the longer value should be replaced whole", got)
	}
}
