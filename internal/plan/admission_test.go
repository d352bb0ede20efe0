package plan

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/slipwayhq/slipway/internal/render"
)

// denyForbidden installs a ValidatingAdmissionPolicy, bound to the fixture's
// namespace only, that rejects ConfigMaps and Secrets labelled
// forbidden=true. For Secrets its message quotes the password, as a careless
// policy might.
func denyForbidden(t *testing.T, f *fixture) {
	notForbidden := "!has(object.metadata.labels) || !('forbidden' in object.metadata.labels) || object.metadata.labels['forbidden'] != 'true'"
	admissionPolicy(t, f, "deny-"+f.ns, admissionv1.Deny, []admissionv1.Validation{
		{
			Expression: "request.kind.kind != 'ConfigMap' || " + notForbidden,
			Message:    "ConfigMaps labelled forbidden=true are not allowed here",
		},
		{
			Expression:        "request.kind.kind != 'Secret' || " + notForbidden,
			MessageExpression: "'refusing secret with password ' + string(object.data['password'])",
		},
	})
}

// admissionPolicy installs a ValidatingAdmissionPolicy on ConfigMaps and
// Secrets, bound with action to the fixture's namespace only.
func admissionPolicy(t *testing.T, f *fixture, name string, action admissionv1.ValidationAction, validations []admissionv1.Validation) {
	t.Helper()
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
			Validations: validations,
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{action},
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
}

// planUntil plans until done holds, since the apiserver loads new admission
// policies asynchronously.
func planUntil(t *testing.T, f *fixture, objs []render.Object, done func(*Plan) bool) *Plan {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		p := f.plan(objs)
		if done(p) || time.Now().After(deadline) {
			return p
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestAdmissionRejectionIsAnError(t *testing.T) {
	f := newFixture(t)
	denyForbidden(t, f)
	objs := f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: allowed}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: denied, labels: {forbidden: "true"}}
---
apiVersion: v1
kind: Secret
metadata: {name: denied-secret, labels: {forbidden: "true"}}
stringData: {password: hunter2-s3cr3t}
`)
	p := planUntil(t, f, objs, func(p *Plan) bool { return p.Counts().Error == 2 })
	wantAction(t, change(t, p, "ConfigMap", "allowed"), Create)
	denied := change(t, p, "ConfigMap", "denied")
	wantAction(t, denied, Error)
	t.Logf("message: %s", denied.Message)
	if !strings.Contains(denied.Message, "ConfigMaps labelled forbidden=true are not allowed here") {
		t.Errorf("message %q lacks the policy's message", denied.Message)
	}
	if denied.File != "test.yaml" || denied.Line != 2 || denied.Before != "" || denied.After != "" {
		t.Errorf("error change %+v", denied)
	}
	secret := change(t, p, "Secret", "denied-secret")
	wantAction(t, secret, Error)
	if !strings.Contains(secret.Message, "refusing secret with password <secret hmac:") {
		t.Errorf("secret's message %q: want the policy's words with the value masked", secret.Message)
	}
	b, _ := json.Marshal(p)
	if strings.Contains(string(b), "hunter2") {
		t.Errorf("plan JSON contains the secret: %s", b)
	}
}

// A policy in Warn mode lets the object through; its warning reaches the
// reviewer as a note on the change.
func TestAdmissionWarningIsANote(t *testing.T) {
	f := newFixture(t)
	admissionPolicy(t, f, "warn-"+f.ns, admissionv1.Warn, []admissionv1.Validation{{
		Expression: "!has(object.metadata.labels) || !('legacy' in object.metadata.labels)",
		Message:    "legacy ConfigMaps are going away",
	}})
	objs := f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: old, labels: {legacy: "yes"}}
`)
	p := planUntil(t, f, objs, func(p *Plan) bool { return p.Changes[0].Message != "" })
	ch := change(t, p, "ConfigMap", "old")
	wantAction(t, ch, Create)
	if !strings.HasPrefix(ch.Message, "warning: ") || !strings.Contains(ch.Message, "legacy ConfigMaps are going away") {
		t.Errorf("message %q: want the policy's warning", ch.Message)
	}
}
