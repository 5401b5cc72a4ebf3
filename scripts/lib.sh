# Shared helpers for vmmkit's shell scripts (sourced, not run).
log()  { printf '[vmmkit] %s\n' "$*" >&2; }
warn() { printf '[vmmkit] warning: %s\n' "$*" >&2; }
die()  { printf '[vmmkit] error: %s\n' "$*" >&2; exit 1; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
# Where downloaded and built assets live: outside the source tree, reused
# across clones and runs, keyed by package versions.
vmmkit_cache() { local d=${VMMKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmmkit}; mkdir -p "$d"; echo "$d"; }
arm64_sysroot() { echo "$(vmmkit_cache)/sysroot-arm64"; }
