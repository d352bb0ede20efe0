package plan

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Versions of the digests: a change to what they cover changes the version,
// so a digest of one version never equals a digest of another.
const (
	digestVersion = "slipway plan v4"
	rulesVersion  = "slipway rules v1"
)

// absent stands in the digest for a side of a change the reviewer did not
// see: the live object of a create, the desired one of a delete, both of an
// unchanged object or an error.
const absent = "absent"

// keptAction stands in the digest for the action of a kept member (see
// Change.Kept), so that a member turning from deleted to kept, or back,
// changes the digest.
const keptAction Action = "kept"

// skippedAction stands in the digest for a rendered Helm hook the apply
// does not run: listed, never applied.
const skippedAction Action = "skipped"

// digestAction is the action a change stands for in the digest: an object
// apply moves from a legacy inventory (Change.Adopted) is sent or relabelled
// where it would otherwise be left alone, so that is part of what was
// reviewed. Actions are fixed words, so the suffix cannot make two
// different plans hash alike.
func digestAction(a Action, adopted bool) Action {
	if adopted {
		return a + " adopted"
	}
	return a
}

// Basis is what a plan is made from besides the rendered objects: the
// repository and commit rendered and what decides by which rules, where and
// as whom the plan is applied. All of it enters the digest.
type Basis struct {
	// Repository (owner/name) is whose environment is planned: its
	// inventory in the cluster is the repository's (see InventoryName), so
	// two repositories with an environment of one name never prune each
	// other's objects. Compute refuses a basis without one.
	Repository string
	Commit     string
	// ConfigBlob is the git blob sha of the .slipway.yaml the plan followed
	// ("" when it did not come from a repository, as in the CLI).
	ConfigBlob string
	// Cluster is the server config's name of the cluster planned against.
	Cluster string
	// ServiceAccount is the NAMESPACE/NAME slipway impersonates there, ""
	// when it acts as itself.
	ServiceAccount string
}

// RulesDigest identifies the rules part of b (config blob, cluster, service
// account), so a refused apply can tell "the rules changed" from "the
// objects changed".
func (b Basis) RulesDigest() string {
	d := newDigester(sha256.New(), rulesVersion)
	b.rules(d)
	return d.sum()
}

func (b Basis) rules(d *digester) {
	d.field(b.ConfigBlob)
	d.field(b.Cluster)
	d.field(b.ServiceAccount)
}

// digester accumulates a digest. Every field is length-prefixed, so no two
// different sequences of fields hash alike.
type digester struct{ h hash.Hash }

func newDigester(h hash.Hash, version string) *digester {
	d := &digester{h: h}
	d.field(version)
	return d
}

func (d *digester) field(s string) { d.bytes([]byte(s)) }

func (d *digester) bytes(b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	d.h.Write(n[:])
	d.h.Write(b)
}

func (d *digester) sum() string {
	return "sha256:" + hex.EncodeToString(d.h.Sum(nil))
}

// planDigest identifies what the reviewer saw and what decides where and as
// whom it is applied: the environment, the basis (its repository included:
// whose inventory was read) and, for each change in plan order, its ref, its
// action (marked when the object is adopted from a legacy inventory, see
// digestAction) and its normalised before and after (the objects the diff is
// made of, so server bookkeeping, status and ignored fields do not count). Live resourceVersions do not enter it: a controller
// writing status between review and /apply changes nothing the reviewer
// saw. Secret values enter only as their masks: the digest is published,
// and a hash over a clear value would let anyone who reads it test guesses
// offline. h is the hash to feed (sha256.New() but in tests).
func planDigest(h hash.Hash, mask masker, env string, b Basis, entries, skipped []entry, hooks []hookEntry) (string, error) {
	d := newDigester(h, digestVersion)
	d.field(env)
	d.field(b.Repository)
	d.field(b.Commit)
	b.rules(d)
	for _, group := range [][]entry{entries, skipped} {
		d.field(fmt.Sprint(len(group)))
		for _, en := range group {
			if err := d.entry(mask, en); err != nil {
				return "", err
			}
		}
	}
	d.field(fmt.Sprint(len(hooks)))
	for _, en := range hooks {
		if err := d.hook(mask, en); err != nil {
			return "", err
		}
	}
	return d.sum(), nil
}

// hook feeds a hook the apply runs: when (phase, event, weight, in run
// order), how it is cleaned up (delete policies) and what is sent, so a
// reviewed plan's hooks are the hooks /apply runs.
func (d *digester) hook(mask masker, en hookEntry) error {
	h := en.hook
	d.field(h.Ref.String())
	d.field(string(h.Phase))
	d.field(h.Event)
	d.field(fmt.Sprint(h.Weight))
	d.field(strings.Join(h.DeletePolicies, ","))
	b, err := canonicalJSON(mask.masked(en.after))
	if err != nil {
		return err
	}
	d.bytes(b)
	return nil
}

func (d *digester) entry(mask masker, en entry) error {
	action := en.change.Action
	switch {
	case en.change.Kept:
		action = keptAction
	case en.skipped:
		action = skippedAction
	}
	d.field(en.change.Ref.String())
	d.field(string(digestAction(action, en.change.Adopted)))
	for _, u := range []*unstructured.Unstructured{en.before, en.after} {
		if u == nil {
			d.field(absent)
			continue
		}
		b, err := canonicalJSON(mask.masked(u))
		if err != nil {
			return err
		}
		d.bytes(b)
	}
	return nil
}

// canonicalJSON encodes an object's content with sorted keys (encoding/json
// sorts map keys), so equal objects always encode alike.
func canonicalJSON(u *unstructured.Unstructured) ([]byte, error) {
	b, err := json.Marshal(u.Object)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", refOf(u), err)
	}
	return b, nil
}
