package kube

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// apiserver accepts only the token it holds now, as an API server does
// once the old one is revoked, and records what each request carried.
type apiserver struct {
	mu     sync.Mutex
	valid  string
	seen   []string
	bodies []string
}

func (a *apiserver) rotate(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.valid = token
}

func (a *apiserver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = append(a.seen, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	if r.Header.Get("Authorization") != "Bearer "+a.valid {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Unauthorized","code":401}`)
		return
	}
	a.bodies = append(a.bodies, string(body))
	w.Header().Set("Content-Type", "application/json")
	switch r.Method {
	case http.MethodGet:
		_, _ = io.WriteString(w, `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"default"}}`)
	default:
		_, _ = io.WriteString(w, `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c","namespace":"default"}}`)
	}
}

// writeToken replaces the file as the kubelet does: a new file renamed
// over the old one.
func writeToken(t *testing.T, path, token string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// kubeconfigWithTokenFile points at server over TLS: client-go sends no
// credentials to a plain-HTTP server.
func kubeconfigWithTokenFile(t *testing.T, server, tokenPath string) string {
	t.Helper()
	kc := "apiVersion: v1\nkind: Config\n" +
		"clusters: [{name: c, cluster: {server: \"" + server + "\", insecure-skip-tls-verify: true}}]\n" +
		"users: [{name: u, user: {tokenFile: " + tokenPath + "}}]\n" +
		"contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A kubeconfig's tokenFile rotated with the old token revoked at once: the
// very next request carries the new token (client-go alone would keep
// sending the old one for up to a minute), a request refused in a race
// with the rotation is sent again with its body, and a file caught missing
// mid-rotation does not break a client that read it before.
func TestTokenFileRotation(t *testing.T) {
	api := &apiserver{valid: "token-one"}
	srv := httptest.NewTLSServer(api)
	defer srv.Close()
	tokenPath := filepath.Join(t.TempDir(), "token")
	writeToken(t, tokenPath, "token-one")
	rc, err := FromKubeconfig(kubeconfigWithTokenFile(t, srv.URL, tokenPath), "")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	get := func() error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("before rotation: %v (seen %q)", err, api.seen)
	}

	writeToken(t, tokenPath, "token-two")
	api.rotate("token-two")
	if err := get(); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if last := api.seen[len(api.seen)-1]; last != "token-two" || len(api.seen) != 2 {
		t.Errorf("requests carried %q, want the new token at once and no refused request", api.seen)
	}

	// The server revokes before the file changes: the request is refused,
	// and sent again, body and all, once the new token is there. A stamp
	// that did not change (same size, same second on a coarse filesystem)
	// must not hide it.
	api.rotate("token-3")
	if err := os.WriteFile(tokenPath, []byte("token-3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(tokenPath)
	src := rc.WrapTransport(http.DefaultTransport).(*tokenFileTransport).src
	src.mu.Lock()
	src.stamp = fileStamp{st.ModTime(), st.Size()} // as if the change went unseen
	src.mu.Unlock()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"k": "v"}}
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create after a revocation: %v", err)
	}
	if last := api.bodies[len(api.bodies)-1]; !strings.Contains(last, "ConfigMap") {
		t.Errorf("the retried create carried %q, not its body", last)
	}

	if err := os.Remove(tokenPath); err != nil {
		t.Fatal(err)
	}
	if err := get(); err != nil {
		t.Errorf("with the file gone mid-rotation: %v", err)
	}
}

func TestTokenFileUnreadable(t *testing.T) {
	api := &apiserver{valid: "x"}
	srv := httptest.NewTLSServer(api)
	defer srv.Close()
	tokenPath := filepath.Join(t.TempDir(), "token")
	writeToken(t, tokenPath, "x")
	rc, err := FromKubeconfig(kubeconfigWithTokenFile(t, srv.URL, tokenPath), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.CoreV1().Namespaces().Get(context.Background(), "default", metav1.GetOptions{})
	if err == nil || !strings.Contains(err.Error(), tokenPath+" is empty") {
		t.Errorf("error %v, want one naming the empty token file", err)
	}
	for _, s := range api.seen {
		if s != "" {
			t.Errorf("a request went out with token %q", s)
		}
	}
}
