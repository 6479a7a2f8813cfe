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
