#!/usr/bin/env bash
# outside_project_test.sh CMAKE BUILD_DIR PROJECT_DIR FUTURED WORK_DIR
# Installs futured's client library from BUILD_DIR into WORK_DIR/prefix,
# builds PROJECT_DIR against it with find_package(futured) and with
# pkg-config, builds the example task plugin (PROJECT_DIR/../plugin) against
# the installed SDK headers alone, starts FUTURED on a unix socket with that
# plugin and runs both builds on it.
set -euo pipefail
cmake=$1 build_dir=$2 project_dir=$3 futured=$4 work=$5

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

"$cmake" --install "$build_dir" --prefix "$prefix" >"$work/install.log"
test -f "$prefix/include/futured/futured.h"
test -f "$prefix/lib/cmake/futured/futuredConfig.cmake"
test -f "$prefix/include/futured/plugin.h"

# A plugin needs the SDK headers and nothing to link.
g++ -std=c++20 -shared -fPIC -I"$prefix/include" \
  -o "$work/example_plugin.so" "$project_dir/../plugin/example_plugin.cc"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
"$cmake" -S "$project_dir" -B "$work/build" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log"
"$cmake" --build "$work/build" >"$work/build.log"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
read -r -a pc_flags <<<"$(pkg-config --cflags --libs futured)"
g++ -std=c++20 -o "$work/outside_project_pc" "$project_dir/main.cc" \
  "${pc_flags[@]}"

# A daemon for this test only, ended on every exit path.
socket=$work/futured.sock
"$futured" --listen="unix:$socket" --plugin="$work/example_plugin.so" \
  --state_dir="$work/state" \
  >"$work/futured.out" 2>"$work/futured.err" &
daemon=$!
trap 'kill -TERM "$daemon" 2>/dev/null || true; wait "$daemon" || true' EXIT
for _ in $(seq 300); do
  grep -q "futured listening on" "$work/futured.out" && break
  kill -0 "$daemon" 2>/dev/null || { cat "$work/futured.err"; exit 1; }
  sleep 0.1
done
grep -q "futured listening on" "$work/futured.out"
grep -q "loaded plugin $work/example_plugin.so" "$work/futured.err"

expected=$'square(7) = 49\nmap: 1 4 9\nas_completed: 2 downloads\ntask error: ValueError: bad input'
for program in "$work/build/outside_project" "$work/outside_project_pc"; do
  actual=$("$program" "unix:$socket")
  if [[ "$actual" != "$expected" ]]; then
    echo "$program printed:"; echo "$actual"
    echo "expected:"; echo "$expected"
    exit 1
  fi
done
echo "outside project built against the installed package and ran"
