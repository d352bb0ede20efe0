package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// renderPlain reads every *.yaml, *.yml and *.json file directly in the
// directory, in name order. Subdirectories are not read: they often hold
// things that are not manifests (a chart, a base used by something else).
func renderPlain(src *source) (*rendered, error) {
	names, err := plainNames(src)
	if err != nil {
		return nil, err
	}
	out := &rendered{}
	for _, name := range names {
		file := path.Join(src.rel, name)
		full := filepath.Join(src.dir, name)
		_, fi, err := src.jail.stat(full)
		if err != nil {
			return nil, src.jail.errorAt(file, err)
		}
		if fi == nil || fi.IsDir() {
			continue // a dangling link inside the repo, or a directory named x.yaml
		}
		data, err := src.jail.readFile(full)
		if err != nil {
			return nil, src.jail.errorAt(file, err)
		}
		objs, err := decodeBounded(data, file, src.maxKeys)
		if err != nil {
			return nil, err
		}
		out.objects = append(out.objects, objs...)
	}
	return out, nil
}

// plainNames are the names of the manifest files directly in the
// directory, in name order.
func plainNames(src *source) ([]string, error) {
	entries, err := os.ReadDir(src.dir)
	if err != nil {
		return nil, &Error{File: src.rel, Msg: src.jail.relativize(err.Error())}
	}
	var names []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// plainSize is how many bytes renderPlain would read: the manifest files'
// sizes, each through the jail, as renderPlain reads them.
func plainSize(src *source) (int64, error) {
	names, err := plainNames(src)
	if err != nil {
		return 0, err
	}
	var size int64
	for _, name := range names {
		_, fi, err := src.jail.stat(filepath.Join(src.dir, name))
		if err != nil {
			return 0, src.jail.errorAt(path.Join(src.rel, name), err)
		}
		if fi != nil && !fi.IsDir() {
			size += fi.Size()
		}
	}
	return size, nil
}

// decodeManifests decodes a stream of YAML documents (JSON being YAML) into
// objects located at the 1-based line where each document's content starts.
// Empty documents are skipped; List kinds are unpacked, each item located
// at its own line.
//
// Values follow YAML 1.2 (yes/no/on/off are strings), as in kustomize.
func decodeManifests(data []byte, file string) ([]Object, error) {
	return decodeBounded(data, file, 0)
}

// errTooWide stops a parse that RenderPlain would make in its caller's
// process at a mapping of more than its maxKeys keys.
var errTooWide = errors.New("a mapping has too many keys to parse in process")

// decodeBounded is decodeManifests, stopped with errTooWide at a mapping
// of more than maxKeys keys (0: no bound). yaml.v3 checks a mapping's keys
// for duplicates pair by pair as it decodes it: 50,000 keys, 500 KiB of
// YAML, take seven seconds of CPU, which only a process that can be
// killed at render.timeout (the render child) may spend.
func decodeBounded(data []byte, file string, maxKeys int) ([]Object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Object
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, yamlError(file, err)
		}
		if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
			continue
		}
		if maxKeys > 0 && widest(&doc) > maxKeys {
			return nil, errTooWide
		}
		objs, err := decodeDocument(doc.Content[0], file)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
}

// widest is the most keys of any mapping under n, aliases not followed
// (each anchored node is counted where it stands).
func widest(n *yaml.Node) int {
	most := 0
	if n.Kind == yaml.MappingNode {
		most = len(n.Content) / 2
	}
	for _, c := range n.Content {
		most = max(most, widest(c))
	}
	return most
}

func decodeDocument(n *yaml.Node, file string) ([]Object, error) {
	u, err := toObject(n, file)
	if err != nil {
		return nil, err
	}
	items := listItems(n, u)
	if items == nil {
		return []Object{{Object: u, File: file, Line: n.Line}}, nil
	}
	var out []Object
	for _, item := range items {
		if item.Tag == "!!null" {
			continue
		}
		iu, err := toObject(item, file)
		if err != nil {
			return nil, err
		}
		out = append(out, Object{Object: iu, File: file, Line: item.Line})
	}
	return out, nil
}

// listItems returns the item nodes of a List (kind List, or any kind ending
// in List that has an items sequence, as kubectl get -o yaml writes), nil
// for anything else.
func listItems(n *yaml.Node, u *unstructured.Unstructured) []*yaml.Node {
	if !strings.HasSuffix(u.GetKind(), "List") {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "items" && n.Content[i+1].Kind == yaml.SequenceNode {
			return n.Content[i+1].Content
		}
	}
	if u.GetKind() == "List" {
		return []*yaml.Node{} // an empty List renders nothing
	}
	return nil
}

// toObject converts a mapping node to an object through JSON, which gives
// the int64/float64/map[string]any values unstructured code expects.
func toObject(n *yaml.Node, file string) (*unstructured.Unstructured, error) {
	if n.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: n.Line, Msg: fmt.Sprintf("expected a Kubernetes object (a mapping with apiVersion, kind and metadata), found a %s", nodeKind(n))}
	}
	var v map[string]any
	if err := n.Decode(&v); err != nil {
		return nil, yamlError(file, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &Error{File: file, Line: n.Line, Msg: fmt.Sprintf("cannot convert to JSON: %v (are all keys strings?)", err)}
	}
	var m map[string]any
	if err := utiljson.Unmarshal(b, &m); err != nil {
		return nil, &Error{File: file, Line: n.Line, Msg: err.Error()}
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return fmt.Sprintf("scalar %q", n.Value)
	case yaml.AliasNode:
		return "alias"
	}
	return "non-mapping"
}

// yamlLine finds the line in yaml.v3's messages ("yaml: line 4: ...",
// "line 2: mapping key ... already defined").
var yamlLine = regexp.MustCompile(`line (\d+): `)

// yamlError locates a yaml.v3 error: its line numbers count from the start of
// the whole stream, so they are lines of the file.
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	if m := yamlLine.FindStringSubmatchIndex(msg); m != nil && m[0] == 0 {
		line, _ := strconv.Atoi(msg[m[2]:m[3]])
		return &Error{File: file, Line: line, Msg: "invalid YAML: " + msg[m[1]:]}
	}
	return &Error{File: file, Msg: "invalid YAML: " + msg}
}
