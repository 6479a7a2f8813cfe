# Tests of the pure helpers (builtins only: no nixpkgs needed).
#
#   nix-instantiate --eval --strict --json nix/tests/pure.nix
#
# Returns { passed = [ name ]; failed = [ { name; expected; actual; } ]; skipped = [ { name; reason; } ]; }
let
  hasInfix = infix: s: builtins.match ".*${escapeRegex infix}.*" (builtins.replaceStrings [ "\n" ] [ " " ] s) != null;
  # As nixpkgs' lib.strings.escapeRegex.
  escapeRegex = builtins.replaceStrings
    [ "\\" "[" "{" "(" ")" "^" "$" "?" "*" "+" "|" "." ]
    [ "\\\\" "\\[" "\\{" "\\(" "\\)" "\\^" "\\$" "\\?" "\\*" "\\+" "\\|" "\\." ];
  throws = v: !(builtins.tryEval (builtins.deepSeq v v)).success;

  env = import ../lib/env.nix;
  scripts = import ../devenv-modules/otel/scripts.nix { otelctl = "/bin/otelctl"; };
  trace = import ../devenv-modules/tasks/lib/trace.nix { otelctl = "/bin/otelctl"; };
  cache = import ../devenv-modules/tasks/lib/cache.nix { otelctl = "/bin/otelctl"; };
  helpers = import ../lib { };

  lock = builtins.fromJSON (builtins.readFile ../../flake.lock);
  flake = import ../../flake.nix;
  locked = lock.nodes.nixpkgs.locked;
  original = lock.nodes.nixpkgs.original;

  cachedBuild = cache.task "app:build" { exec = "make"; key = "sha256sum Makefile"; after = [ "app:deps" ]; };
  statusOnly = cache.task "app:lint" { exec = "lint"; status = "test -e .linted"; };

  tests = {
    envDefaults = {
      expr = env { };
      expected = { OTELCTL_MODE = "auto"; OTELCTL_PORT_RANGE = "10000-32767"; OTELCTL_DEVENV_TRACE = "otlp-grpc"; };
    };
    envAll = {
      expr = env {
        basePort = 14000;
        mode = "system";
        portRangeStart = 1;
        portRangeEnd = 2;
        extraDashboards = [ "/a" "/b" ];
        tempoRetention = "1h";
        devenvTrace = "otlp-grpc";
      };
      expected = {
        OTELCTL_MODE = "system";
        OTELCTL_BASE_PORT = "14000";
        OTELCTL_PORT_RANGE = "1-2";
        OTELCTL_EXTRA_DASHBOARDS = "/a:/b";
        OTELCTL_TEMPO_RETENTION = "1h";
        OTELCTL_DEVENV_TRACE = "otlp-grpc";
      };
    };
    envPathNotCopied = { expr = (env { extraDashboards = [ ./. ]; }).OTELCTL_EXTRA_DASHBOARDS; expected = toString ./.; };
    envRejectsMode = { expr = throws (env { mode = "remote"; }); expected = true; };
    envRejectsTrace = {
      expr = map (t: throws (env { devenvTrace = t; })) [ "zipkin" "otlp-http-protobuf" "otlp-http-json" ];
      expected = [ true true true ];
    };

    dtWrapsDevenvTasks = {
      expr = map (n: hasInfix n scripts.dt) [
        "exec '/bin/otelctl' span dt \"$task_name\" --attr \"dt.args=$dt_args\" -- '/bin/otelctl' relay -- devenv tasks run \"$@\""
        "if [ -z \"$mode_given\" ]; then set -- --mode before \"$@\"; fi"
      ];
      expected = [ true true ];
    };
    dtUsage = { expr = map (n: hasInfix n scripts.dt) [ "usage: dt TASK" "-h|--help)" ]; expected = [ true true ]; };
    otelSpan = { expr = scripts.otel-span; expected = "exec '/bin/otelctl' span \"$@\"\n"; };
    otel = { expr = scripts.otel; expected = "exec '/bin/otelctl' \"$@\"\n"; };

    traceExec = {
      expr = trace.exec "ts:check" "tsc --build";
      expected = ''
        if command -v '/bin/otelctl' >/dev/null 2>&1; then
          '/bin/otelctl' span 'dt-task' 'ts:check' --attr task.cached=false -- "''${BASH:-bash}" -e -c 'tsc --build'
        else
          "''${BASH:-bash}" -e -c 'tsc --build'
        fi
      '';
    };
    traceQuotes = { expr = hasInfix "-c 'echo '\\''hi'\\'''" (trace.exec "x" "echo 'hi'"); expected = true; };
    traceStatusCached = {
      expr = hasInfix "span 'dt-task' 'ts:check' --attr task.cached=true -- true || true" (trace.status "ts:check" "true");
      expected = true;
    };
    traceDefaultsToPath = {
      expr = hasInfix "command -v 'otelctl'" ((import ../devenv-modules/tasks/lib/trace.nix { lib = null; }).exec "a" "b");
      expected = true;
    };
    traceService = {
      expr = hasInfix "span 'ci' 'a'" ((import ../devenv-modules/tasks/lib/trace.nix { service = "ci"; }).exec "a" "b");
      expected = true;
    };

    cacheKeepsOtherAttrs = { expr = cachedBuild.after; expected = [ "app:deps" ]; };
    cacheDropsKey = { expr = cachedBuild ? key; expected = false; };
    cacheExecRecordsKey = {
      expr = hasInfix "> \"$DEVENV_STATE/otel-task-cache/${builtins.hashString "sha256" "app:build"}.new\" && mv" cachedBuild.exec
        && hasInfix "task.cached=false" cachedBuild.exec;
      expected = true;
    };
    cacheStatusComparesKey = {
      expr = hasInfix "[ -f \"$DEVENV_STATE/otel-task-cache/${builtins.hashString "sha256" "app:build"}\" ]" cachedBuild.status
        && hasInfix "task.cached=true" cachedBuild.status;
      expected = true;
    };
    cacheStatusPassthrough = { expr = statusOnly.status == trace.status "app:lint" "test -e .linted"; expected = true; };
    cacheNoStatus = { expr = (cache.task "a" { exec = "b"; }) ? status; expected = false; };
    # app:build, app/build and "app build" used to share app_build; a name never reaches the shell.
    cacheStampsDistinct = {
      expr = let names = [ "app:build" "app/build" "app build" "app_build" "a$HOME" "it's \"x\"" ]; in
        builtins.length (builtins.attrNames (builtins.listToAttrs (map (n: { name = cache.stampFile n; value = n; }) names)));
      expected = 6;
    };
    cacheStampsSafe = {
      expr = builtins.all (n: builtins.match "\\$DEVENV_STATE/otel-task-cache/[0-9a-f]{64}" (cache.stampFile n) != null) [ "a$HOME" "it's" "a b" "../x" ];
      expected = true;
    };
    cacheRejectsKeyAndStatus = { expr = throws (cache.task "a" { exec = "b"; key = "c"; status = "d"; }); expected = true; };

    libHelpers = {
      expr = builtins.attrNames helpers;
      expected = [ "cache" "moduleEnv" "ports" "scripts" "trace" ];
    };

    lockVersion = { expr = lock.version; expected = 7; };
    lockRev = { expr = builtins.match "[0-9a-f]{40}" locked.rev != null; expected = true; };
    lockNarHash = { expr = builtins.match "sha256-[A-Za-z0-9+/]{43}=" locked.narHash != null; expected = true; };
    lockLastModified = { expr = builtins.isInt locked.lastModified; expected = true; };
    lockMatchesFlakeInputs = {
      expr = {
        inputs = builtins.attrNames flake.inputs;
        url = flake.inputs.nixpkgs.url;
        rootInputs = lock.nodes.root.inputs;
      };
      expected = {
        inputs = [ "nixpkgs" ];
        url = "github:${original.owner}/${original.repo}/${original.ref}";
        rootInputs = { nixpkgs = "nixpkgs"; };
      };
    };
  };

  # The port function belongs to the foundation work; test it when it is there.
  portsFile = ../lib/ports.nix;
  portsTests =
    if !builtins.pathExists portsFile then { }
    else
      let
        ports = import portsFile;
        p = ports { root = "/home/dev/project"; };
        q = ports { root = "/home/dev/other"; portRangeStart = 20000; portRangeEnd = 20100; };
        fixed = ports { root = "/x"; basePort = 14000; };
        offsets = s: map (k: s.${k} - s.base) [
          "collector_otlp_http" "tempo_otlp_grpc" "tempo_http" "grafana_http" "collector_metrics" "tempo_grpc"
          "metrics_store_http" "logs_store_http"
        ];
        # Linux hands out 32768-60999 for outgoing connections, macOS 49152-65535.
        roots = builtins.genList (i: "/home/user${toString i}/project") 200;
        clearOfOutgoing = builtins.all (r: (ports { root = r; }).logs_store_http < 32768) roots;
        legacy = ports { root = "/work/project"; portRangeEnd = 60000; };
      in
      {
        portsOffsets = { expr = offsets p; expected = [ 0 1 2 3 4 5 6 7 ]; };
        portsInRange = { expr = p.base >= 10000 && p.base + 7 <= 32767; expected = true; };
        portsCustomRange = { expr = q.base >= 20000 && q.base + 7 <= 20100; expected = true; };
        portsClearOfOutgoingRange = { expr = clearOfOutgoing; expected = true; };
        portsLegacyRangeKeepsOldBase = { expr = legacy.base; expected = 13938; };
        portsStable = { expr = p == ports { root = "/home/dev/project"; }; expected = true; };
        portsBasePort = { expr = fixed.base; expected = 14000; };
      };

  results = builtins.map
    (name: let t = (tests // portsTests).${name}; in { inherit name; ok = t.expr == t.expected; inherit (t) expr expected; })
    (builtins.attrNames (tests // portsTests));
in
{
  passed = map (r: r.name) (builtins.filter (r: r.ok) results);
  failed = map (r: { inherit (r) name expected; actual = r.expr; }) (builtins.filter (r: !r.ok) results);
  skipped =
    if builtins.pathExists portsFile then [ ]
    else [{ name = "ports"; reason = "nix/lib/ports.nix is not in this tree yet (foundation work)"; }];
}
