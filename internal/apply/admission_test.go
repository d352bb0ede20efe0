package apply

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The cluster's admission can change between review and apply (a new
// policy, say): objects it refuses at apply time are reported failed, and
// nothing is claimed applied that did not reach the cluster.
func TestRejectedObject(t *testing.T) {
	const objects = `
apiVersion: v1
kind: Namespace
metadata: {name: NS-extra}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, labels: {reject: "true"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
---
apiVersion: v1
kind: Secret
metadata: {name: s, labels: {reject: "true"}}
stringData: {password: ` + secretValue + `}
`
	isRejected := "has(object.metadata.labels) && ('reject' in object.metadata.labels)"
	tests := []struct {
		name string
		// rule is the policy's condition for accepting a request.
		rule       string
		onlySecret bool
		want       map[string]Outcome
	}{
		{
			// Objects of one kind go out together: the other ConfigMaps
			// are applied, the kinds after them are not.
			name: "a ConfigMap refused",
			rule: "request.kind.kind != 'ConfigMap' || !(" + isRejected + ")",
			want: map[string]Outcome{"NS-extra": Created, "a": Created, "b": Failed, "c": Created, "s": NotApplied},
		},
		{
			// Refused only when applied for real, as a policy that cannot
			// judge a dry-run might: what the plan showed was accepted.
			name: "refused only for real",
			rule: "request.dryRun == true || request.kind.kind != 'ConfigMap' || !(" + isRejected + ")",
			want: map[string]Outcome{"NS-extra": Created, "a": Created, "b": Failed, "c": Created, "s": NotApplied},
		},
		{
			name:       "secret quoted by the policy",
			rule:       "request.kind.kind != 'Secret' || !(" + isRejected + ")",
			onlySecret: true,
			want:       map[string]Outcome{"NS-extra": Created, "a": Created, "b": Created, "c": Created, "s": Failed},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			extra := f.ns + "-extra"
			t.Cleanup(func() {
				_ = f.kube.Client().CoreV1().Namespaces().Delete(context.Background(), extra, metav1.DeleteOptions{})
			})
			p, objs := f.plan(objects)
			if p.Counts().Error > 0 {
				t.Fatalf("plan has errors: %+v", p.Changes)
			}
			v := admissionv1.Validation{Expression: tc.rule, Message: "objects labelled reject are not allowed here"}
			if tc.onlySecret {
				v = admissionv1.Validation{Expression: tc.rule, MessageExpression: "'refusing secret with password ' + string(object.data['password'])"}
			}
			f.denyUntilEffective(v, tc.onlySecret)

			res := Run(f.ctx(), f.engine, f.env, p, objs)
			if !res.Failed() {
				t.Fatalf("apply succeeded:\n%s", res.Text())
			}
			for name, want := range tc.want {
				kind := "ConfigMap"
				switch name {
				case "NS-extra":
					kind, name = "Namespace", extra
				case "s":
					kind = "Secret"
				}
				wantOutcome(t, res, kind, name, want)
			}
			f.honest(res, p)

			refused := "b"
			if tc.onlySecret {
				refused = "s"
			}
			if !strings.Contains(res.Err, "/"+f.ns+"/"+refused+":") {
				t.Errorf("error %q does not name the refused object", res.Err)
			}
			for _, o := range res.Objects {
				if o.Outcome == NotApplied && !strings.Contains(o.Message, "refused") {
					t.Errorf("%s not applied without saying why: %q", o.Ref, o.Message)
				}
			}
			b, _ := json.Marshal(res)
			for what, s := range map[string]string{"text": res.Text(), "json": string(b)} {
				if strings.Contains(s, secretValue) {
					t.Errorf("%s shows the Secret's value:\n%s", what, s)
				}
			}
			if tc.onlySecret && !strings.Contains(outcome(t, res, "Secret", "s").Message, "refusing secret with password <secret hmac:") {
				t.Errorf("secret's message %q: want the policy's words with the value masked", outcome(t, res, "Secret", "s").Message)
			}
			t.Logf("%s", res.Text())
		})
	}
}

// denyUntilEffective installs a ValidatingAdmissionPolicy with v on
// ConfigMaps and Secrets in the fixture's namespace and waits until the
// apiserver enforces it (it loads policies asynchronously), probing with a
// labelled object of the kind it refuses.
func (f *fixture) denyUntilEffective(v admissionv1.Validation, secret bool) {
	t := f.t
	t.Helper()
	name := "deny-" + f.ns
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"},
						Resources: []string{"configmaps", "secrets"}},
				},
			}}},
			Validations: []admissionv1.Validation{v},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": f.ns},
			}},
		},
	}
	api := f.kube.Client().AdmissionregistrationV1()
	if _, err := api.ValidatingAdmissionPolicies().Create(t.Context(), policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.ValidatingAdmissionPolicyBindings().Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = api.ValidatingAdmissionPolicyBindings().Delete(ctx, name, metav1.DeleteOptions{})
		_ = api.ValidatingAdmissionPolicies().Delete(ctx, name, metav1.DeleteOptions{})
	})

	core := f.kube.Client().CoreV1()
	meta := metav1.ObjectMeta{Name: "probe", Labels: map[string]string{"reject": "true"}}
	create := func() error {
		if secret {
			_, err := core.Secrets(f.ns).Create(t.Context(), &corev1.Secret{ObjectMeta: meta, StringData: map[string]string{"password": "probe"}}, metav1.CreateOptions{})
			return err
		}
		_, err := core.ConfigMaps(f.ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: meta}, metav1.CreateOptions{})
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := create()
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
			return
		}
		if err != nil {
			t.Fatalf("probe: %v", err)
		}
		// Not enforced yet: remove the probe and try again.
		if secret {
			_ = core.Secrets(f.ns).Delete(t.Context(), "probe", metav1.DeleteOptions{})
		} else {
			_ = core.ConfigMaps(f.ns).Delete(t.Context(), "probe", metav1.DeleteOptions{})
		}
		if time.Now().After(deadline) {
			t.Fatal("the admission policy was not enforced within 30s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
