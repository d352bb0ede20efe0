package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// maxAliasNodes bounds how many nodes YAML aliases may add to a file when
// expanded. kustomize expands every alias of the files it loads (kyaml's
// DeAnchor) without a limit, so a "billion laughs" file of a few hundred
// bytes would take gigabytes and minutes; real manifests use a few anchors.
const maxAliasNodes = 100_000

// vetAliases refuses a YAML stream whose aliases expand past maxAliasNodes.
// The nodes are counted, never expanded: each anchor's size is computed
// once. A file that does not parse is left to the tool that reads it.
func vetAliases(file string, data []byte) error {
	if !bytes.Contains(data, []byte("*")) {
		return nil // no alias, nothing to expand
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	added := 0
	sizes := map[*yaml.Node]int{}
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil
		}
		added = saturatingAdd(added, aliasNodes(&doc, sizes))
		if added > maxAliasNodes {
			return &Error{File: file, Msg: fmt.Sprintf("YAML aliases expand to more than %d nodes (a \"billion laughs\" document?); slipway refuses documents that large", maxAliasNodes)}
		}
	}
}

// aliasNodes is how many nodes the aliases under n add when expanded.
func aliasNodes(n *yaml.Node, sizes map[*yaml.Node]int) int {
	added := 0
	for _, c := range n.Content {
		if c.Kind == yaml.AliasNode && c.Alias != nil {
			added = saturatingAdd(added, expandedSize(c.Alias, sizes, 0))
			continue
		}
		added = saturatingAdd(added, aliasNodes(c, sizes))
	}
	return added
}

// expandedSize is the number of nodes n stands for with its aliases
// expanded, memoised per node and capped just past the limit.
func expandedSize(n *yaml.Node, sizes map[*yaml.Node]int, depth int) int {
	if s, ok := sizes[n]; ok {
		return s
	}
	if depth > 1000 {
		return maxAliasNodes + 1 // an alias cycle or absurd nesting
	}
	sizes[n] = maxAliasNodes + 1 // while computing: a cycle counts as too big
	size := 1
	for _, c := range n.Content {
		target := c
		if c.Kind == yaml.AliasNode && c.Alias != nil {
			target = c.Alias
		}
		size = saturatingAdd(size, expandedSize(target, sizes, depth+1))
	}
	sizes[n] = size
	return size
}

func saturatingAdd(a, b int) int {
	if a+b > maxAliasNodes || a+b < 0 {
		return maxAliasNodes + 1
	}
	return a + b
}
