#!/usr/bin/env bash
# staged_install_test.sh CMAKE BUILD_DIR WORK_DIR
# Stages `DESTDIR=WORK_DIR/stage-X cmake --install BUILD_DIR --prefix X` for
# X = /usr (a distribution's prefix, CPack's) and /usr/local (the default),
# and checks, in each, that every absolute path the installed systemd unit
# names is in the staged tree (ExecStart is that prefix's futured, with its
# futured-worker beside it), and that `systemd-analyze verify` accepts the
# staged unit against the staged tree (skipped without systemd-analyze).
set -euo pipefail
cmake=$1 build_dir=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

check_prefix() {
  local prefix=$1 stage=$work/stage-${1//\//_}
  DESTDIR=$stage "$cmake" --install "$build_dir" --prefix "$prefix" \
    >"$stage.log" 2>&1 || { cat "$stage.log" >&2; fail "install to $prefix"; return; }
  # <prefix>/lib/systemd/system, or FUTURED_SYSTEMD_UNIT_DIR's directory.
  local unit
  unit=$(find "$stage" -path '*/systemd/system/futured.service' | head -n 1)
  [[ -f "$unit" ]] || { fail "$prefix: no futured.service installed"; return; }
  echo "== $prefix: ${unit#"$stage"}"
  grep -E '^(Exec[A-Za-z]*|EnvironmentFile)=' "$unit"

  local exec_start
  exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
  [[ "$exec_start" == "$prefix/bin/futured" ]] \
    || fail "$prefix: ExecStart=$exec_start, not $prefix/bin/futured"
  # futured starts the futured-worker beside it.
  [[ -x "$stage$(dirname "$exec_start")/futured-worker" ]] \
    || fail "$prefix: no futured-worker beside $exec_start"

  # Every absolute path of a directive, without its prefix characters
  # (-, @, :, +, !) and arguments; specifiers (%S) are systemd's.
  local key value path
  while IFS='=' read -r key value; do
    path=${value%% *}
    while [[ "$path" == [-@:+!]* ]]; do path=${path:1}; done
    [[ "$path" == /* ]] || continue
    if [[ -e "$stage$path" ]]; then
      echo "   exists: $key -> $path"
    else
      fail "$prefix: $key names $path, which the install does not create"
    fi
  done < <(grep -E '^[A-Za-z]+=' "$unit")

  local analyze=${SYSTEMD_ANALYZE:-/usr/bin/systemd-analyze}
  if [[ ! -x "$analyze" ]]; then
    echo "   systemd-analyze verify: skipped ($analyze is not installed)"
    return
  fi
  # verify --root resolves ExecStart inside the root, and needs the
  # targets the unit refers to: the staged tree plus the host's targets.
  local root=$work/verify-root-${1//\//_}
  cp -a "$stage" "$root"
  mkdir -p "$root/usr/lib/systemd/system"
  cp -n /usr/lib/systemd/system/*.target /usr/lib/systemd/system/*.slice \
    "$root/usr/lib/systemd/system/"
  local verify_out
  if ! verify_out=$("$analyze" verify --root="$root" "$root${unit#"$stage"}" 2>&1); then
    fail "$prefix: systemd-analyze verify failed: $verify_out"
  elif grep -q 'futured.service' <<<"$verify_out"; then
    fail "$prefix: systemd-analyze verify warns: $verify_out"
  else
    echo "   systemd-analyze verify: clean"
  fi
}

check_prefix /usr
check_prefix /usr/local
((failures == 0)) || { echo "$failures failure(s)" >&2; exit 1; }
echo "staged installs are complete"
