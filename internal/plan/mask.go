package plan

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/slipwayhq/slipway/internal/soakfault"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// masker stands for a secret value in anything a reviewer reads, and in the
// digest: equal values mask equally and different values differently, and
// without the key it cannot be reversed or brute-forced. Each Engine holds
// one, keyed by Options.MaskKey.
type masker func(value []byte) string

// newMasker keys masks with key. The key must be random and secret (a plain
// hash of a short password would be brute-forced from the comment), and the
// same on every replica and after a restart, so that a plan's digest, which
// covers the masks, comes out the same wherever it is recomputed.
func newMasker(key []byte) masker {
	key = append([]byte(nil), key...)
	return func(value []byte) string {
		h := hmac.New(sha256.New, key)
		h.Write(value)
		return "<secret hmac:" + hex.EncodeToString(h.Sum(nil))[:12] + ">"
	}
}

// RandomMaskKey is a fresh random mask key. Masks made with it compare only
// with masks of the same key: enough for one process that plans and shows
// its own reports (the CLI), never for a server whose replicas must agree.
func RandomMaskKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails
	return k
}

// isSecret decides from the group and kind the apiserver uses (core
// Secret), not from names or versions; the kind is matched regardless of case
// because masking one object too many is harmless and one too few is not.
func isSecret(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	return gvk.Group == "" && strings.EqualFold(gvk.Kind, "Secret")
}

// foldStringData moves a Secret's stringData into data, base64-encoded, as
// the apiserver does on write, so that desired and live Secrets compare alike
// and a stringData edit shows as its data key changing.
func foldStringData(u *unstructured.Unstructured) {
	sd, ok := u.Object["stringData"].(map[string]any)
	if !ok {
		delete(u.Object, "stringData")
		return
	}
	data, _ := u.Object["data"].(map[string]any)
	if data == nil {
		data = make(map[string]any, len(sd))
	}
	for k, v := range sd {
		s, _ := v.(string)
		data[k] = base64.StdEncoding.EncodeToString([]byte(s))
	}
	u.Object["data"] = data
	delete(u.Object, "stringData")
}

// masked returns a copy of a normalised object safe to show or digest:
// Secret values replaced by masks. Other objects are returned as they are.
func (m masker) masked(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil || !isSecret(u) || soakfault.On(soakfault.SecretLeak) {
		return u
	}
	out := u.DeepCopy()
	m.maskSecret(out)
	return out
}

// maskSecret replaces every value of a Secret's data and stringData with its
// mask, in place. Values are masked decoded, so the same secret masks alike
// whether it came as data or stringData.
func (m masker) maskSecret(u *unstructured.Unstructured) {
	for _, field := range []string{"data", "stringData"} {
		values, ok := u.Object[field].(map[string]any)
		if !ok {
			if _, present := u.Object[field]; present {
				u.Object[field] = m(nil) // not a map: hide whatever it is
			}
			continue
		}
		for k, v := range values {
			values[k] = m(secretBytes(field, v))
		}
	}
}

// secretBytes is the plain value of one data or stringData entry.
func secretBytes(field string, v any) []byte {
	s, _ := v.(string)
	if field == "data" {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			return b
		}
	}
	return []byte(s)
}

// scrubSecrets removes from a message (a server's rejection, say) every value
// of the given Secrets, plain or base64, replacing each with its mask: an
// admission policy's message may quote the object it rejects.
func (m masker) scrubSecrets(msg string, secrets ...*unstructured.Unstructured) string {
	return m.secretScrubber(secrets)(msg)
}

// SecretScrubber returns a function that replaces in a message every value
// of the Secrets among objects (others are ignored), plain or base64, with
// its mask, as this engine's plans show them. Apply uses it on the
// apiserver's messages, which may quote what they reject. Build it once per
// set of objects: the replacer it holds is the costly part.
func (e *Engine) SecretScrubber(objects []*unstructured.Unstructured) func(string) string {
	var secrets []*unstructured.Unstructured
	for _, u := range objects {
		if u != nil && isSecret(u) {
			secrets = append(secrets, u)
		}
	}
	return e.mask.secretScrubber(secrets)
}

func (m masker) secretScrubber(secrets []*unstructured.Unstructured) func(string) string {
	type secret struct{ text, mask string }
	var values []secret
	for _, u := range secrets {
		if u == nil {
			continue
		}
		for _, field := range []string{"data", "stringData"} {
			data, _ := u.Object[field].(map[string]any)
			for _, v := range data {
				plain := secretBytes(field, v)
				if len(plain) == 0 {
					continue
				}
				mk := m(plain)
				values = append(values,
					secret{string(plain), mk},
					secret{base64.StdEncoding.EncodeToString(plain), mk})
			}
		}
	}
	if len(values) == 0 {
		return func(msg string) string { return msg }
	}
	// Longest first, so a value containing another is replaced whole; one
	// pass, so a short value is never searched for inside a mask.
	sort.SliceStable(values, func(i, j int) bool { return len(values[i].text) > len(values[j].text) })
	pairs := make([]string, 0, 2*len(values))
	for _, s := range values {
		pairs = append(pairs, s.text, s.mask)
	}
	return strings.NewReplacer(pairs...).Replace
}
