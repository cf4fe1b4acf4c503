#!/usr/bin/env bash
# Checks the Debian packages CPack made in DIR (futured_*.deb and
# futured-dev_*.deb) and prints what an operator would look at:
#   bash packaging/check-deb.sh DIR
# Each package's Package, Version and Depends and its files; then fails
# unless: futured holds futured, futured-worker, futurectl, the unit with
# ExecStart=/usr/bin/futured, the /etc/default/futured conffile, the man
# pages, the copyright file and its maintainer scripts; its Depends (from
# dpkg-shlibdeps) names gRPC's, protobuf's and the C library's packages;
# futured-dev holds the client library, headers, CMake package and
# futured.pc; and lintian reports no error (LINTIAN=0: not run;
# LINTIAN=futured: on the futured package alone).
# Run by packaging/build-deb.sh and by the ctest deb_package.
set -euo pipefail
dir=$1
lintian=${LINTIAN:-1}
failures=0
fail() { echo "check-deb: FAIL: $*" >&2; failures=$((failures + 1)); }

# has DEB REGEX...: every regex matches a file of DEB.
has() {
  local deb=$1 files
  shift
  files=$(dpkg-deb --contents "$deb" | awk '{print $6}')
  for want in "$@"; do
    grep -qE "^\./$want\$" <<<"$files" || fail "$(basename "$deb") has no $want"
  done
}

show() {
  echo "== $1"
  dpkg-deb --field "$1" Package Version Depends
  dpkg-deb --contents "$1" | awk '{print $1, $6}' | grep -v '/$'
}

shopt -s nullglob
debs=("$dir"/futured_*.deb) devs=("$dir"/futured-dev_*.deb)
((${#debs[@]} == 1 && ${#devs[@]} == 1)) \
  || { fail "want one futured and one futured-dev package in $dir"; exit 1; }
deb=${debs[0]} dev=${devs[0]}

show "$deb"
has "$deb" usr/bin/futured usr/bin/futured-worker usr/bin/futurectl \
  '(usr/)?lib/systemd/system/futured\.service' etc/default/futured \
  usr/share/man/man8/futured\.8\.gz usr/share/man/man1/futurectl\.1\.gz \
  usr/share/doc/futured/copyright
depends=$(dpkg-deb --field "$deb" Depends)
for want in 'libgrpc\+\+1\.51' 'libprotobuf32' 'libc6'; do
  grep -qE "(^|, )$want( |,|$)" <<<"$depends" || fail "Depends has no $want: $depends"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb --extract "$deb" "$work/data"
dpkg-deb --control "$deb" "$work/control"
exec_start=$(grep -h '^ExecStart=' "$work"/data/{,usr/}lib/systemd/system/futured.service 2>/dev/null || true)
[[ "$exec_start" == ExecStart=/usr/bin/futured ]] || fail "the unit's ${exec_start:-ExecStart is missing}"
grep -qx /etc/default/futured "$work/control/conffiles" 2>/dev/null \
  || fail "/etc/default/futured is not a conffile"
for script in postinst prerm postrm; do
  [[ -x "$work/control/$script" ]] || fail "no $script"
done

show "$dev"
# usr/lib/x86_64-linux-gnu when the tree was configured for /usr (as
# build-deb.sh does); GNUInstallDirs' usr/lib for any other prefix.
libdir='usr/lib(/[a-z0-9_]+-linux-gnu)?'
has "$dev" usr/include/futured/futured\.h usr/include/futured/plugin\.h \
  "$libdir/libfutured_client\.a" "$libdir/cmake/futured/futuredConfig\.cmake" \
  "$libdir/pkgconfig/futured\.pc" usr/share/doc/futured-dev/copyright

lint=()
case "$lintian" in
  1) lint=("$deb" "$dev") ;;
  futured) lint=("$deb") ;;
esac
if ((${#lint[@]})); then
  for d in "${lint[@]}"; do
    echo "== lintian $(basename "$d")"
    # lintian's "running with root privileges is not recommended!" is noise.
    lintian --fail-on error "$d" 2> >(grep -v 'root privileges' >&2) \
      || fail "lintian reports an error in $(basename "$d")"
  done
fi
((failures == 0)) || exit 1
echo "check-deb: ok"
