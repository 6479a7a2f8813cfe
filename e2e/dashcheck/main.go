// Command dashcheck decodes Grafana dashboard JSON files strictly with Grafana's published schema
// (github.com/grafana/grafana-foundation-sdk/go, pinned in go.mod) and validates them.
//
// Usage: dashcheck FILE|DIR...
//
// A directory stands for its *.json files; `.otel/` below a directory (a project's dashboards)
// is searched too. A file holds one dashboard object, an array of them, `{"dashboards": [...]}`
// (the shapes `otelctl dash sync` reads) or `{"dashboard": {...}, "meta": ...}` (an API answer).
// Each dashboard goes through dashboard.Dashboard.UnmarshalJSONStrict, after
// cog/plugins.RegisterDefaultPlugins() so panel options, field config and data queries (Tempo's
// included) are decoded into their own types, strictly too, and then through Validate().
// The SDK picks a target's type from the target's own `datasource.type` (it decodes `targets`
// before the panel's `datasource`), so a target without one stays an untyped bag; Grafana runs
// such a target on the panel's datasource, and so does this check: it decodes it strictly as
// the panel datasource's query type.
//
// Output: one line per problem, `FILE #N (uid U): JSON.PATH: message`, then a summary line
// `dashcheck: P passed, F failed`. Exit 0 when every dashboard passed, 1 when one failed, 2 on
// bad usage or an unreadable file.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: dashcheck FILE|DIR...")
		os.Exit(2)
	}
	plugins.RegisterDefaultPlugins()

	files, err := collect(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "dashcheck: %v\n", err)
		os.Exit(2)
	}
	if len(files) == 0 {
		fmt.Fprintln(os.Stderr, "dashcheck: no dashboard files found")
		os.Exit(2)
	}
	passed, failed := 0, 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dashcheck: %v\n", err)
			os.Exit(2)
		}
		entries, err := dashboards(raw)
		if err != nil {
			fmt.Printf("%s: %v\n", file, err)
			failed++
			continue
		}
		for i, entry := range entries {
			problems := check(entry)
			label := fmt.Sprintf("%s #%d%s", file, i+1, uidOf(entry))
			if len(problems) == 0 {
				passed++
				continue
			}
			failed++
			for _, p := range problems {
				fmt.Printf("%s: %s\n", label, p)
			}
		}
	}
	fmt.Printf("dashcheck: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// collect expands directories into their *.json files (and those of a project's .otel/).
func collect(args []string) ([]string, error) {
	var files []string
	for _, arg := range args {
		info, err := os.Stat(arg)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, arg)
			continue
		}
		err = filepath.WalkDir(arg, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != arg && strings.HasPrefix(d.Name(), ".") && d.Name() != ".otel" {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(path, ".json") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	return files, nil
}

// dashboards splits a file into its dashboards (the shapes `otelctl dash sync` reads).
func dashboards(raw []byte) ([]json.RawMessage, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var object map[string]json.RawMessage
	if err := json.Unmarshal(raw, &object); err != nil {
		return nil, fmt.Errorf("not a dashboard object, an array of them or {\"dashboards\": [...]}: %w", err)
	}
	if inner, ok := object["dashboards"]; ok {
		if err := json.Unmarshal(inner, &list); err != nil {
			return nil, fmt.Errorf("dashboards: %w", err)
		}
		return list, nil
	}
	if inner, ok := object["dashboard"]; ok {
		if _, titled := object["title"]; !titled {
			return []json.RawMessage{inner}, nil
		}
	}
	return []json.RawMessage{raw}, nil
}

// check decodes one dashboard strictly and validates it; it returns "path: message" lines.
func check(raw json.RawMessage) []string {
	var d dashboard.Dashboard
	if problems := lines(d.UnmarshalJSONStrict(raw)); len(problems) > 0 {
		return problems
	}
	if problems := lines(d.Validate()); len(problems) > 0 {
		return problems
	}
	return inheritedTargets(raw)
}

// inheritedTargets decodes strictly, as the panel's datasource type, every target that names no
// datasource of its own (rows' nested panels included).
func inheritedTargets(raw json.RawMessage) []string {
	type target = map[string]json.RawMessage
	type panel struct {
		Datasource *struct {
			Type string `json:"type"`
		} `json:"datasource"`
		Targets []json.RawMessage `json:"targets"`
		Panels  []json.RawMessage `json:"panels"`
	}
	var out []string
	var walk func(path string, panels []json.RawMessage)
	walk = func(path string, panels []json.RawMessage) {
		for i, rawPanel := range panels {
			var p panel
			if json.Unmarshal(rawPanel, &p) != nil {
				continue
			}
			at := fmt.Sprintf("%s[%d]", path, i)
			walk(at+".panels", p.Panels)
			if p.Datasource == nil || p.Datasource.Type == "" {
				continue
			}
			for j, rawTarget := range p.Targets {
				var t target
				if json.Unmarshal(rawTarget, &t) != nil {
					continue
				}
				var own struct {
					Datasource *struct {
						Type string `json:"type"`
					} `json:"datasource"`
				}
				if json.Unmarshal(rawTarget, &own) == nil && own.Datasource != nil && own.Datasource.Type != "" {
					continue // typed by the SDK already
				}
				prefix := fmt.Sprintf("%s.targets[%d]", at, j)
				q, err := cog.StrictUnmarshalDataquery(rawTarget, p.Datasource.Type)
				if len(lines(err)) == 0 && q != nil {
					err = q.Validate()
				}
				if len(lines(err)) > 0 {
					for _, l := range lines(cog.MakeBuildErrors(prefix, err)) {
						out = append(out, l+" (as a "+p.Datasource.Type+" query: the target names no datasource)")
					}
				}
			}
		}
	}
	var d struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if json.Unmarshal(raw, &d) == nil {
		walk("panels", d.Panels)
	}
	return out
}

// lines renders an SDK error as "path: message" lines; none for no error. The SDK returns its
// error list as a (possibly empty) cog.BuildErrors, so an empty list is no error.
func lines(err error) []string {
	if err == nil {
		return nil
	}
	var build cog.BuildErrors
	if errors.As(err, &build) {
		out := make([]string, 0, len(build))
		for _, e := range build {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

func uidOf(raw json.RawMessage) string {
	var head struct {
		UID string `json:"uid"`
	}
	if json.Unmarshal(raw, &head) == nil && head.UID != "" {
		return fmt.Sprintf(" (uid %s)", head.UID)
	}
	return ""
}
