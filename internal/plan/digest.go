package plan

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// absent stands in the digest for an object the cluster does not have.
const absent = "absent"

// keptAction stands in the digest for the action of a kept member (see
// Change.Kept), so that a member turning from deleted to kept, or back,
// changes the digest.
const keptAction Action = "kept"

// digester accumulates a plan's digest. Every field is length-prefixed, so no
// two different sequences of fields hash alike.
type digester struct{ h hash.Hash }

func newDigester(env, commit string) *digester {
	d := &digester{h: sha256.New()}
	d.field("slipway plan v1")
	d.field(env)
	d.field(commit)
	return d
}

func (d *digester) field(s string) { d.bytes([]byte(s)) }

func (d *digester) bytes(b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	d.h.Write(n[:])
	d.h.Write(b)
}

// object adds one planned object: its action, the rendered object as
// prepared for the dry-run in canonical JSON (nil for a deletion), and the
// live resourceVersion it was compared with. A Secret's values go into the
// hash with everything else; the digest is published, but finding a value
// from it would take guessing every other object and every resourceVersion
// too.
func (d *digester) object(ref Ref, action Action, desiredJSON []byte, liveVersion string) {
	d.field(ref.String())
	d.field(string(action))
	d.bytes(desiredJSON)
	if liveVersion == "" {
		liveVersion = absent
	}
	d.field(liveVersion)
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

func (d *digester) sum() string {
	return "sha256:" + hex.EncodeToString(d.h.Sum(nil))
}
