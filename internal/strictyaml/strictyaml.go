// Package strictyaml decodes a YAML document into a Go struct and rejects
// unknown keys, duplicate keys and wrong types with errors that name the
// file, the line and the full key.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a document, located by file, line and key path
// (for example `github.app.integration_id` or `clusters[1].name`).
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": %s", e.Key)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

// Errors is every problem found in one document, in document order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Positions maps a key path to the line its value starts on, so checks that
// run after decoding can still point at the line.
type Positions map[string]int

// Line returns the line of key, or of its closest parent that has one.
func (p Positions) Line(key string) int {
	for key != "" {
		if l, ok := p[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

// Decode checks data against the shape of out and, when it fits, decodes it
// into out. An empty document leaves out untouched. The returned error is an
// Errors value listing every problem found.
func Decode(file string, data []byte, out any) (Positions, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Positions{}, nil
		}
		return nil, Errors{syntaxError(file, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Errors{{File: file, Line: extra.Line, Msg: "a second YAML document is not allowed here"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	w := walker{file: file, pos: Positions{}}
	w.check(root, reflect.TypeOf(out).Elem(), "")
	if len(w.errs) > 0 {
		return nil, w.errs
	}
	if err := root.Decode(out); err != nil {
		return nil, Errors{{File: file, Line: root.Line, Msg: err.Error()}}
	}
	return w.pos, nil
}

// syntaxError turns yaml's "yaml: line N: msg" into a located Error.
func syntaxError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if l, convErr := strconv.Atoi(n); convErr == nil {
				line, msg = l, after
			}
		}
	}
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

type walker struct {
	file string
	pos  Positions
	errs Errors
}

func (w *walker) fail(n *yaml.Node, key, format string, args ...any) {
	w.errs = append(w.errs, &Error{File: w.file, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

var (
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	shorthandType   = reflect.TypeOf((*Shorthand)(nil)).Elem()
)

// Shorthand is a struct type that YAML may also give as a single scalar,
// such as a list entry that is either "owner/repo" or a mapping with more
// keys. Its UnmarshalYAML decodes both forms; Decode checks a mapping key by
// key against the struct's fields (unknown keys, types, lines) like any
// other struct, and hands a scalar to UnmarshalYAML.
type Shorthand interface {
	yaml.Unmarshaler
	YAMLShorthand()
}

func (w *walker) check(n *yaml.Node, t reflect.Type, key string) {
	if key != "" {
		w.pos[key] = n.Line
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if reflect.PointerTo(t).Implements(shorthandType) && t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode {
		w.checkStruct(n, t, key)
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Kind() == reflect.Interface {
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			w.fail(n, key, "%s", cleanDecodeError(err))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		w.checkStruct(n, t, key)
	case reflect.Map:
		w.checkMap(n, t, key)
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			w.fail(n, key, "expected a list, got %s", describe(n))
			return
		}
		for i, item := range n.Content {
			w.check(item, t.Elem(), fmt.Sprintf("%s[%d]", key, i))
		}
	default:
		if n.Kind != yaml.ScalarNode {
			w.fail(n, key, "expected %s, got %s", kindName(t), describe(n))
			return
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			w.fail(n, key, "expected %s, got %q", kindName(t), n.Value)
		}
	}
}

func (w *walker) checkStruct(n *yaml.Node, t reflect.Type, key string) {
	if n.Kind != yaml.MappingNode {
		w.fail(n, key, "expected a mapping, got %s", describe(n))
		return
	}
	fields := map[string]reflect.Type{}
	collectFields(t, fields)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := join(key, k.Value)
		if line, dup := seen[k.Value]; dup {
			w.fail(k, sub, "duplicate key (first set on line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		ft, ok := fields[k.Value]
		if !ok {
			w.fail(k, sub, "unknown key%s", suggest(k.Value, fields))
			continue
		}
		w.check(v, ft, sub)
	}
}

func (w *walker) checkMap(n *yaml.Node, t reflect.Type, key string) {
	if n.Kind != yaml.MappingNode {
		w.fail(n, key, "expected a mapping, got %s", describe(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := join(key, k.Value)
		if line, dup := seen[k.Value]; dup {
			w.fail(k, sub, "duplicate key (first set on line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		w.check(v, t.Elem(), sub)
	}
}

// collectFields lists the YAML names of t's fields, flattening `,inline`.
func collectFields(t reflect.Type, into map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			collectFields(f.Type, into)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		into[name] = f.Type
	}
}

func suggest(key string, fields map[string]reflect.Type) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	if best := Closest(key, names); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Sprintf(" (known keys: %s)", strings.Join(names, ", "))
}

func join(key, sub string) string {
	if key == "" {
		return sub
	}
	return key + "." + sub
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return strconv.Quote(n.Value)
	}
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	default:
		return t.String()
	}
}

func cleanDecodeError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if _, after, ok := strings.Cut(msg, "unmarshal errors:\n"); ok {
		msg = strings.TrimSpace(after)
	}
	if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "line ") && i > 0 {
		msg = msg[i+2:]
	}
	return msg
}
