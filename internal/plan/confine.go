package plan

import (
	"fmt"
)

// admitInventory refuses a plan whose inventory would be recorded in a
// namespace admit refuses: apply writes it there before anything else. A
// legacy parent being adopted (see migrate.go) lives in the same namespace.
func (e *Engine) admitInventory(inv inventory) error {
	if e.admit == nil {
		return nil
	}
	name, namespace := inv.name, inv.namespace
	if err := e.admit(Ref{Version: "v1", Kind: "ConfigMap", Namespace: namespace, Name: name}); err != nil {
		return fmt.Errorf("its inventory %s/%s cannot be recorded: %w", namespace, name, err)
	}
	return nil
}

// refuseDeletions turns deletions of objects admit refuses into errors:
// an inventory member outside the bounds (recorded before they were
// tightened, say) is not deleted, and the plan cannot be applied until
// someone who may removes it by hand or the bounds allow it.
func (e *Engine) refuseDeletions(entries []entry) {
	if e.admit == nil {
		return
	}
	for i := range entries {
		ch := &entries[i].change
		if ch.Action != Delete {
			continue
		}
		if err := e.admit(ch.Ref); err != nil {
			ch.Action, ch.Before = Error, ""
			ch.Message = "not deleted: " + err.Error()
		}
	}
}
