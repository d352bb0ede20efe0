package server

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// A managed cluster reached with a kubeconfig whose tokenFile a sidecar (or
// the kubelet, for a projected token) rotates, revoking the old token at
// once: the running server's next plan goes through with the new token.
// The tokens are a ServiceAccount's, each bound to a Secret, so deleting
// the Secret revokes its token as the API server sees it.
func TestClusterTokenFileRotatesUnderARunningServer(t *testing.T) {
	env := testenv.Get(t)
	ctx := context.Background()
	home := testenv.NewNamespace(t, env)
	cs := env.Client()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "slipway"}}
	if _, err := cs.CoreV1().ServiceAccounts(home).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "token-rotation-" + home},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "slipway", Namespace: home}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb.Name, metav1.DeleteOptions{})
	})
	mint := func(secret string) string {
		t.Helper()
		s, err := cs.CoreV1().Secrets(home).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secret}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		exp := int64(3600)
		tr, err := cs.CoreV1().ServiceAccounts(home).CreateToken(ctx, "slipway", &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{
			ExpirationSeconds: &exp,
			BoundObjectRef:    &authnv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: s.Name, UID: s.UID},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}

	dir := t.TempDir()
	tokenPath := filepath.Join(dir, "token")
	writeFileAtomically(t, tokenPath, mint("token-one"))
	kubeconfig := filepath.Join(dir, "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["testenv"] = &clientcmdapi.Cluster{Server: env.Config().Host, CertificateAuthorityData: env.Config().CAData}
	kc.AuthInfos["slipway"] = &clientcmdapi.AuthInfo{TokenFile: tokenPath}
	kc.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: "slipway"}
	kc.CurrentContext = "testenv"
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		t.Fatal(err)
	}

	w := newWorldWith(t, 2, (*world).shopFiles, func(c *config.Config) { c.Clusters[0].Kubeconfig = kubeconfig })
	pr := w.openPR("rotate", "bob", w.stagingExtra("2", ""))
	w.planned(w.head(pr), "staging")

	old, err := os.ReadFile(tokenPath)
	if err != nil {
		t.Fatal(err)
	}
	writeFileAtomically(t, tokenPath, mint("token-two"))
	if err := cs.CoreV1().Secrets(home).Delete(ctx, "token-one", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The API server caches a token's good answers for some seconds.
	oldClient := kubernetes.NewForConfigOrDie(&rest.Config{Host: env.Config().Host, BearerToken: string(old), TLSClientConfig: rest.TLSClientConfig{CAData: env.Config().CAData}})
	w.eventually("the old token to be revoked", func() bool {
		_, err := oldClient.CoreV1().Namespaces().Get(ctx, home, metav1.GetOptions{})
		return apierrors.IsUnauthorized(err)
	})

	head, err := w.sim.Push(w.repo, "rotate", w.stagingExtra("3", ""), "after the rotation", "bob")
	if err != nil {
		t.Fatal(err)
	}
	w.planned(head, "staging")
}

func writeFileAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
