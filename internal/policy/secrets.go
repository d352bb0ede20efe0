package policy

import (
	"encoding/base64"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// withholdSecrets returns msg unless it quotes a value of obj, when obj is
// a Secret: CEL's errors quote the values they trip on ("no such key:
// hunter2", a regexp made of one), and a violation goes to a check run.
func withholdSecrets(msg string, obj *unstructured.Unstructured) string {
	if msg == "" || obj == nil || !isSecret(obj) {
		return msg
	}
	for _, v := range secretValues(obj) {
		if strings.Contains(msg, v) {
			return "rule could not be evaluated on this Secret; the error is not shown because it quotes one of the Secret's values"
		}
	}
	return msg
}

func isSecret(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	return gvk.Group == "" && strings.EqualFold(gvk.Kind, "Secret")
}

// secretValues lists a Secret's values as they may appear: data as written
// (base64) and decoded, stringData as written and encoded.
func secretValues(u *unstructured.Unstructured) []string {
	var out []string
	add := func(v string) {
		if v != "" {
			out = append(out, v)
		}
	}
	data, _ := u.Object["data"].(map[string]any)
	for _, v := range data {
		s, _ := v.(string)
		add(s)
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			add(string(b))
		}
	}
	stringData, _ := u.Object["stringData"].(map[string]any)
	for _, v := range stringData {
		s, _ := v.(string)
		add(s)
		add(base64.StdEncoding.EncodeToString([]byte(s)))
	}
	return out
}
