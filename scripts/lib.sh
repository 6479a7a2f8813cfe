# Shared helpers for the scripts in this directory (sourced, not run).

# step NAME: prints a visible heading for a phase of a script.
step() { printf '\n==> %s\n' "$*"; }

# apt_ensure CMD PKG [CMD PKG ...]: installs each Debian package whose command is missing.
# Runs `apt-get update` once, only when something is missing. Never fails the caller:
# tests that need a command skip with a printed reason when it is still absent.
apt_ensure() {
  local missing=()
  while [ $# -ge 2 ]; do
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
    shift 2
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: cannot install ${missing[*]} (needs root and apt-get); dependent tests will skip" >&2
    return 0
  fi
  step "installing ${missing[*]} from Debian"
  if [ -z "${_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    _APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || echo "note: apt-get install ${missing[*]} failed; dependent tests will skip" >&2
}

# Toolchains installed the usual way but not on a bare PATH (a non-login shell): rustup's
# ~/.cargo/bin and the Go tarball's /usr/local/go/bin.
for _dir in "${CARGO_HOME:-$HOME/.cargo}/bin" /usr/local/go/bin; do
  case ":$PATH:" in *":$_dir:"*) ;; *) [ -d "$_dir" ] && PATH="$PATH:$_dir" ;; esac
done
export PATH

# rust_ensure: rustfmt and clippy for the checks.
rust_ensure() {
  command -v cargo >/dev/null 2>&1 || { echo "error: cargo is required (install Rust with rustup)" >&2; exit 1; }
  cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
  cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
}

# otel_python_ensure: a cached virtualenv with the official OpenTelemetry Python SDK, the distro
# (`opentelemetry-instrument`, which exports traces, metrics and logs with the SDK's defaults)
# and the OTLP exporters (gRPC and HTTP), pinned. Exports OTELCTL_OTEL_PYTHON=<venv>/bin/python
# for the tests (which skip with the reason when it is unset). Cached under the e2e cache
# (${OTELCTL_E2E_CACHE:-~/.cache/otelctl-e2e}/python-otel-<versions>); never fails the caller.
OTEL_PYTHON_SDK_VERSION=1.45.2
OTEL_PYTHON_DISTRO_VERSION=0.66b2
otel_python_ensure() {
  local cache=${OTELCTL_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/otelctl-e2e}
  local venv="$cache/python-otel-$OTEL_PYTHON_SDK_VERSION-$OTEL_PYTHON_DISTRO_VERSION"
  # .complete is written last: a half-installed venv is rebuilt, never used.
  if [ ! -e "$venv/.complete" ]; then
    command -v python3 >/dev/null 2>&1 || { echo "note: python3 is missing: the OpenTelemetry SDK tests will skip" >&2; return 0; }
    step "OpenTelemetry Python SDK $OTEL_PYTHON_SDK_VERSION (distro $OTEL_PYTHON_DISTRO_VERSION) into $venv"
    rm -rf "$venv"
    if ! { python3 -m venv "$venv" \
      && "$venv/bin/pip" install -q --disable-pip-version-check \
        "opentelemetry-sdk==$OTEL_PYTHON_SDK_VERSION" \
        "opentelemetry-exporter-otlp==$OTEL_PYTHON_SDK_VERSION" \
        "opentelemetry-distro==$OTEL_PYTHON_DISTRO_VERSION"; } >&2; then
      echo "note: installing the OpenTelemetry Python SDK failed: its tests will skip" >&2
      rm -rf "$venv"
      return 0
    fi
    touch "$venv/.complete"
  fi
  export OTELCTL_OTEL_PYTHON="$venv/bin/python"
}
