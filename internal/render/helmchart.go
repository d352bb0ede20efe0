package render

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/message"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/ignore"
)

// utf8BOM is dropped from chart files, as helm's own loader does.
const utf8BOM = "\xEF\xBB\xBF"

// chartFiles reads the chart directory through the jail, as helm's
// loader.LoadDir would read it: .helmignore honoured, symlinks followed (but
// only inside the repository), irregular files refused.
func chartFiles(src *source) ([]*loader.BufferedFile, error) {
	return chartFilesAt(src, src.dir)
}

// chartFilesAt reads the chart directory dir (the environment's, or a
// file:// dependency's) through the jail.
func chartFilesAt(src *source, dir string) ([]*loader.BufferedFile, error) {
	rules := ignore.Empty()
	ignoreFile := filepath.Join(dir, ignore.HelmIgnore)
	ignoreName := src.jail.show(ignoreFile)
	if dir == src.dir {
		ignoreName = path.Join(src.rel, ignore.HelmIgnore) // as the environment names it
	}
	if _, fi, err := src.jail.stat(ignoreFile); err != nil {
		return nil, src.jail.errorAt(ignoreName, err)
	} else if fi != nil {
		data, err := src.jail.readFile(ignoreFile)
		if err != nil {
			return nil, src.jail.errorAt(ignoreName, err)
		}
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, &Error{File: ignoreName, Msg: err.Error()}
		}
	}
	rules.AddDefaults()
	w := &chartWalker{src: src, rules: rules, onPath: map[string]bool{}}
	if err := w.walk(dir, ""); err != nil {
		return nil, err
	}
	return w.files, nil
}

type chartWalker struct {
	src    *source
	rules  *ignore.Rules
	onPath map[string]bool // real directories being walked, to stop link cycles
	files  []*loader.BufferedFile
}

// walk reads dir (asked for by that name; the jail resolves it), whose name
// inside the chart is prefix.
func (w *chartWalker) walk(dir, prefix string) error {
	real, err := w.src.jail.resolve(dir)
	if err != nil {
		return w.fail(dir, w.src.jail.refuse(err))
	}
	if w.onPath[real] {
		return w.fail(dir, errors.New("symlink cycle"))
	}
	w.onPath[real] = true
	defer delete(w.onPath, real)
	entries, err := os.ReadDir(real) // sorted by name
	if err != nil {
		return w.fail(dir, err)
	}
	for _, e := range entries {
		full := filepath.Join(dir, e.Name())
		name := path.Join(prefix, e.Name())
		_, fi, err := w.src.jail.stat(full)
		switch {
		case err != nil:
			return w.fail(full, err)
		case fi == nil:
			return w.fail(full, errors.New("broken symlink"))
		case w.rules.Ignore(name, fi):
			continue
		case fi.IsDir():
			if err := w.walk(full, name); err != nil {
				return err
			}
			continue
		case !fi.Mode().IsRegular():
			return w.fail(full, errors.New("not a regular file; a chart holds only files and directories"))
		case fi.Size() > loader.MaxDecompressedFileSize:
			return w.fail(full, fmt.Errorf("larger than helm's limit of %d bytes", loader.MaxDecompressedFileSize))
		}
		data, err := w.src.jail.readFile(full)
		if err != nil {
			return w.fail(full, err)
		}
		w.files = append(w.files, &loader.BufferedFile{Name: name, Data: bytes.TrimPrefix(data, []byte(utf8BOM))})
	}
	return nil
}

func (w *chartWalker) fail(p string, err error) error {
	return w.src.jail.errorAt(w.src.jail.show(p), err)
}

// validateSchemas checks values against values.schema.json of the chart and
// of each subchart given values, as helm does, except that a $ref may only
// point inside its own schema: helm's validator would read any file on the
// server or fetch any URL a chart names.
func validateSchemas(ch *chart.Chart, values map[string]any) error {
	var sb strings.Builder
	if ch.Schema != nil {
		if err := validateSchema(ch.Schema, values); err != nil {
			fmt.Fprintf(&sb, "%s:\n%s\n", ch.Name(), err)
		}
	}
	for _, sub := range ch.Dependencies() {
		raw, ok := values[sub.Name()]
		if !ok || raw == nil {
			continue
		}
		subValues, ok := raw.(map[string]any)
		if !ok {
			fmt.Fprintf(&sb, "%s:\nvalues must be a map, not %T\n", sub.Name(), raw)
			continue
		}
		if err := validateSchemas(sub, subValues); err != nil {
			sb.WriteString(err.Error())
		}
	}
	if sb.Len() > 0 {
		return fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s", sb.String())
	}
	return nil
}

// schemaURL is where a chart's schema is filed in the compiler: a name, not
// a place anything is read from.
const schemaURL = "file:///values.schema.json"

func validateSchema(schemaJSON []byte, values map[string]any) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(refusingLoader{})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return err
	}
	schema, err := c.Compile(schemaURL)
	if err != nil {
		return err
	}
	if err := schema.Validate(chartutil.Values(values).AsMap()); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			hideValues(ve)
		}
		return errors.New(strings.TrimPrefix(err.Error(), "jsonschema validation failed with '"+schemaURL+"#'\n"))
	}
	return nil
}

// hideValues rewrites the errors that would quote the value they reject
// (pattern, format): values are often passwords and tokens, and the message
// goes to a check run.
func hideValues(ve *jsonschema.ValidationError) {
	switch k := ve.ErrorKind.(type) {
	case *kind.Pattern:
		ve.ErrorKind = hiddenValue{path: k.KeywordPath(), msg: "value does not match pattern '" + k.Want + "' (the value is not shown)"}
	case *kind.Format:
		ve.ErrorKind = hiddenValue{path: k.KeywordPath(), msg: "value is not a valid " + k.Want + " (the value is not shown)"}
	}
	for _, c := range ve.Causes {
		hideValues(c)
	}
}

// hiddenValue is a schema error kind whose message does not quote the value.
type hiddenValue struct {
	path []string
	msg  string
}

func (h hiddenValue) KeywordPath() []string                   { return h.path }
func (h hiddenValue) LocalizedString(*message.Printer) string { return h.msg }

// refusingLoader is asked for every schema a $ref names outside the chart's
// own schema, and refuses.
type refusingLoader struct{}

func (refusingLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("values.schema.json refers to %s; slipway follows only references within the schema itself", url)
}
