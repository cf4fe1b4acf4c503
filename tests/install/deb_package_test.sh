#!/usr/bin/env bash
# deb_package_test.sh CPACK BUILD_DIR WORK_DIR SOURCE_DIR HELP2MAN
# The Debian packages from this build tree, as CI checks them without a
# second build: CPack (DEB) packs what the build already made into WORK_DIR
# (for the /usr prefix, as packaging/CPack.cmake says), then
# packaging/check-deb.sh checks their files, Depends, the unit's ExecStart
# and lintian. The packages to ship come from packaging/build-deb.sh (a
# Release build); these are the tree's own build type, left in WORK_DIR. Skipped (exit 77)
# where dpkg-shlibdeps or lintian is missing, or the tree was configured
# without help2man (HELP2MAN, the path CMake found: the man pages).
set -euo pipefail
cpack=$1 build_dir=$2 work=$3 source_dir=$4 help2man=$5
skip() { echo "skipped: $* (apt-get install dpkg-dev lintian help2man, then configure again)"; exit 77; }
[[ -x "$help2man" ]] || skip "configured without help2man"
for tool in dpkg-shlibdeps lintian; do
  command -v "$tool" >/dev/null || skip "no $tool"
done
rm -rf "$work"
mkdir -p "$work"
"$cpack" -G DEB --config "$build_dir/CPackConfig.cmake" -B "$work" >"$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log" >&2; echo "FAIL: cpack" >&2; exit 1; }
# lintian on futured alone: futured-dev's static libraries carry a Debug
# tree's debug information, which takes lintian 45 s on 2 cores (the
# Release futured-dev of build-deb.sh is checked whole).
LINTIAN=futured bash "$source_dir/packaging/check-deb.sh" "$work"
# The packages stay in WORK_DIR for the ctest deb_package_systemd.
