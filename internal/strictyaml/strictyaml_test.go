package strictyaml

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

type doc struct {
	Name  string            `yaml:"name"`
	Count int               `yaml:"count"`
	On    bool              `yaml:"on"`
	Inner inner             `yaml:"inner"`
	Items []inner           `yaml:"items"`
	Tags  map[string]string `yaml:"tags"`
	Wait  dur               `yaml:"wait"`
}

type inner struct {
	Path string `yaml:"path"`
}

type dur time.Duration

func (d *dur) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	*d = dur(v)
	return err
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr []string // each must appear in the error
		check   func(t *testing.T, d doc, pos Positions)
	}{
		{
			name: "valid document decodes and records lines",
			in:   "name: a\ncount: 3\ninner:\n  path: x\nitems:\n  - path: y\ntags: {k: v}\nwait: 5s\n",
			check: func(t *testing.T, d doc, pos Positions) {
				if d.Name != "a" || d.Count != 3 || d.Inner.Path != "x" || d.Items[0].Path != "y" || d.Tags["k"] != "v" || time.Duration(d.Wait) != 5*time.Second {
					t.Errorf("decoded %+v", d)
				}
				if pos["items[0].path"] != 6 || pos.Line("inner.path.missing") != 4 {
					t.Errorf("positions %v", pos)
				}
			},
		},
		{name: "empty document", in: "", check: func(t *testing.T, d doc, _ Positions) {
			if d.Name != "" {
				t.Errorf("decoded %+v", d)
			}
		}},
		{name: "unknown key with suggestion", in: "name: a\ncuont: 1\n", wantErr: []string{`f.yaml:2: cuont: unknown key (did you mean "count"?)`}},
		{name: "unknown nested key lists known keys", in: "inner:\n  zzzzzz: 1\n", wantErr: []string{"f.yaml:2: inner.zzzzzz: unknown key (known keys: path)"}},
		{name: "wrong scalar type", in: "count: many\n", wantErr: []string{`f.yaml:1: count: expected an integer, got "many"`}},
		{name: "wrong bool", in: "on: maybe\n", wantErr: []string{"on: expected true or false"}},
		{name: "mapping where a list belongs", in: "items: {path: x}\n", wantErr: []string{"f.yaml:1: items: expected a list, got a mapping"}},
		{name: "list item problem names the index", in: "items:\n  - path: a\n  - pth: b\n", wantErr: []string{"f.yaml:3: items[1].pth: unknown key"}},
		{name: "duplicate key", in: "name: a\nname: b\n", wantErr: []string{"f.yaml:2: name: duplicate key (first set on line 1)"}},
		{name: "custom unmarshaler error", in: "wait: soon\n", wantErr: []string{"f.yaml:1: wait:", "soon"}},
		{name: "syntax error has a line", in: "name: a\n  bad: [\n", wantErr: []string{"f.yaml:", "invalid YAML"}},
		{name: "several errors reported together", in: "cuont: 1\nname: [x]\n", wantErr: []string{"f.yaml:1: cuont", "f.yaml:2: name: expected a string, got a list"}},
		{name: "second document refused", in: "name: a\n---\nname: b\n", wantErr: []string{"f.yaml:2: a second YAML document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			pos, err := Decode("f.yaml", []byte(tt.in), &d)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, decoded %+v", d)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			tt.check(t, d, pos)
		})
	}
}

func TestClosest(t *testing.T) {
	tests := []struct {
		word string
		want string
	}{
		{"aply", "apply"},
		{"plan", "plan"},
		{"xyzzy", ""},
		{"unlcok", "unlock"},
	}
	for _, tt := range tests {
		if got := Closest(tt.word, []string{"plan", "apply", "unlock", "help"}); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

// short is either a bare name or a mapping with more keys.
type short struct {
	Name  string   `yaml:"name"`
	Extra []string `yaml:"extra"`
	Bare  bool     `yaml:"-"`
}

func (s *short) YAMLShorthand() {}

func (s *short) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = short{Name: n.Value, Bare: true}
		return nil
	}
	type long short // without the methods, so Decode does not recurse
	return n.Decode((*long)(s))
}

func TestDecodeShorthand(t *testing.T) {
	type list struct {
		Entries []short `yaml:"entries"`
	}
	var l list
	pos, err := Decode("f.yaml", []byte("entries:\n  - a\n  - name: b\n    extra: [x]\n"), &l)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 2 || l.Entries[0].Name != "a" || !l.Entries[0].Bare || l.Entries[1].Name != "b" || l.Entries[1].Bare || l.Entries[1].Extra[0] != "x" {
		t.Errorf("decoded %+v", l)
	}
	if pos["entries[1].extra"] != 4 {
		t.Errorf("positions %v", pos)
	}
	for in, want := range map[string]string{
		"entries:\n  - name: b\n    extar: [x]\n": `f.yaml:3: entries[0].extar: unknown key (did you mean "extra"?)`,
		"entries:\n  - name: b\n    extra: x\n":   `f.yaml:3: entries[0].extra: expected a list`,
		"entries:\n  - name: b\n    Bare: true\n": `f.yaml:3: entries[0].Bare: unknown key`,
	} {
		if _, err := Decode("f.yaml", []byte(in), &list{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}
