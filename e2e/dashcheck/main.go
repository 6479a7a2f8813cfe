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
	if err := d.UnmarshalJSONStrict(raw); err != nil {
		return lines(err)
	}
	if err := d.Validate(); err != nil {
		return lines(err)
	}
	return nil
}

func lines(err error) []string {
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
