// Command tempo is the otelctl end-to-end build of Grafana Tempo 3.0.3.
//
// The Tempo module cannot be installed with `go install` (its go.mod carries replace directives),
// so this wrapper module requires it at the v3.0.3 commit, repeats the replaces, and provides the
// main package itself on top of the importable github.com/grafana/tempo/cmd/tempo/app package.
//
// It behaves like the upstream binary for what otelctl uses:
//   - -config.file, -config.expand-env (envsubst ${VAR}), -config.verify (check and exit)
//   - the config file is decoded strictly: unknown keys are an error, as upstream
//   - every other Tempo flag is registered and parsed after the file, so flags override it
//   - the gogo codec is registered for gRPC before anything dials or serves
//   - logging is set up from server.log_level/log_format
//   - in single-binary mode (target all) every ring uses the in-memory KV store on 127.0.0.1
//   - -version prints `tempo, version 3.0.3 (branch: ..., revision: ...)` like upstream
//
// Left out on purpose: Tempo's own tracing (OTEL_* env), mutex/block profiling knobs, -health.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/drone/envsubst"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"go.yaml.in/yaml/v2"
	"google.golang.org/grpc/encoding"

	"github.com/grafana/tempo/cmd/tempo/app"
	"github.com/grafana/tempo/pkg/gogocodec"
	tempolog "github.com/grafana/tempo/pkg/util/log"
)

const (
	appName = "tempo"
	// The wrapper pins one Tempo commit, so its version is a constant rather than an -ldflags value.
	tempoVersion  = "3.0.3"
	tempoRevision = "1900ed7bb5cad1a3edc285783d7d4ac4278337dc"
	tempoBranch   = "v3.0.3"
)

func init() {
	version.Version = tempoVersion
	version.Revision = tempoRevision
	version.Branch = tempoBranch + " (otelctl e2e wrapper)"
	prometheus.MustRegister(versioncollector.NewCollector(appName))

	// Tempo's gRPC services exchange gogo-protobuf messages; the codec must be registered before use.
	encoding.RegisterCodec(gogocodec.NewCodec())
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	pre := prescan(args)
	if pre.version {
		fmt.Println(version.Print(appName))
		return 0
	}

	cfg, err := loadConfig(pre)
	if err != nil {
		fmt.Fprintf(os.Stderr, "failed parsing config: %v\n", err)
		return 1
	}

	if cfg.Server.LogLevel.String() == "" {
		fmt.Fprintln(os.Stderr, "invalid log level")
		return 1
	}
	tempolog.InitLogger(&cfg.Server)

	valid := logConfigWarnings(cfg)
	if pre.verify {
		if valid {
			return 0
		}
		return 1
	}

	app.InitAutoMemLimit(cfg)

	t, err := app.New(*cfg)
	if err != nil {
		level.Error(tempolog.Logger).Log("msg", "error initialising Tempo", "err", err)
		return 1
	}
	level.Info(tempolog.Logger).Log("msg", "Starting Tempo", "version", version.Info(), "target", cfg.Target)
	if err := t.Run(); err != nil {
		level.Error(tempolog.Logger).Log("msg", "error running Tempo", "err", err)
		return 1
	}
	return 0
}

// preflags are the flags that must be known before Tempo's own flags are registered and parsed.
type preflags struct {
	configFile string
	expandEnv  bool
	verify     bool
	version    bool
}

// prescan picks the wrapper's own flags out of args without failing on Tempo's flags,
// accepting -name, --name, -name=value and (for -config.file) -name value.
func prescan(args []string) preflags {
	var p preflags
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") {
			continue
		}
		boolValue := !hasValue || value == "true" || value == "1"
		switch name {
		case "config.file":
			if !hasValue && i+1 < len(args) {
				i++
				value = args[i]
			}
			p.configFile = value
		case "config.expand-env":
			p.expandEnv = boolValue
		case "config.verify":
			p.verify = boolValue
		case "version":
			p.version = boolValue
		}
	}
	return p
}

func loadConfig(pre preflags) (*app.Config, error) {
	cfg := &app.Config{}
	// Defaults first, then the file on top, then the remaining command-line flags on top of that.
	cfg.RegisterFlagsAndApplyDefaults("", flag.CommandLine)

	if pre.configFile != "" {
		buf, err := os.ReadFile(pre.configFile)
		if err != nil {
			return nil, fmt.Errorf("failed to read configFile %s: %w", pre.configFile, err)
		}
		if pre.expandEnv {
			s, err := envsubst.EvalEnv(string(buf))
			if err != nil {
				return nil, fmt.Errorf("failed to expand env vars from configFile %s: %w", pre.configFile, err)
			}
			buf = []byte(s)
		}
		if err := yaml.UnmarshalStrict(buf, cfg); err != nil {
			return nil, fmt.Errorf("failed to parse configFile %s: %w", pre.configFile, err)
		}
	}
	cfg.Overrides.ExpandEnv = pre.expandEnv

	// Already handled by prescan; registered again so that flag parsing accepts them.
	flag.String("config.file", "", "Configuration file to load")
	flag.Bool("config.expand-env", false, "Whether to expand environment variables in config file")
	flag.Bool("config.verify", false, "Verify configuration and exit")
	flag.Bool("version", false, "Print version information and exit")
	if err := flag.CommandLine.Parse(os.Args[1:]); err != nil {
		return nil, errors.New("invalid command line")
	}

	if app.IsSingleBinary(cfg.Target) {
		forceSingleBinaryRings(cfg)
	}
	return cfg, nil
}

// forceSingleBinaryRings keeps every ring of a single-binary Tempo in memory on loopback,
// as upstream main does for Tempo 3 (live-store, its partition ring, metrics-generator; the
// backend worker runs unsharded).
func forceSingleBinaryRings(cfg *app.Config) {
	cfg.Generator.Ring.KVStore.Store = "inmemory"
	cfg.Generator.Ring.InstanceAddr = "127.0.0.1"

	cfg.LiveStore.Ring.KVStore.Store = "inmemory"
	cfg.LiveStore.Ring.InstanceAddr = "127.0.0.1"
	cfg.LiveStore.PartitionRing.KVStore.Store = "inmemory"

	cfg.BackendWorker.Ring.KVStore.Store = ""
}

// logConfigWarnings logs Tempo's configuration warnings and reports whether there were none.
func logConfigWarnings(cfg *app.Config) bool {
	warnings := cfg.CheckConfig()
	if len(warnings) == 0 {
		return true
	}
	level.Warn(tempolog.Logger).Log("msg", "-- CONFIGURATION WARNINGS --")
	for _, w := range warnings {
		kv := []any{"msg", w.Message}
		if w.Explain != "" {
			kv = append(kv, "explain", w.Explain)
		}
		level.Warn(tempolog.Logger).Log(kv...)
	}
	return false
}
