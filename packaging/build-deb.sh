#!/usr/bin/env bash
# Builds futured's Debian packages with CPack and checks them:
#   bash packaging/build-deb.sh
# -> BUILD_DIR/futured_<version>_amd64.deb (daemon, worker, futurectl, unit,
#    /etc/default/futured, man pages) and futured-dev_<version>_amd64.deb
#    (client library, headers, SDK, CMake package, futured.pc).
# A Release build for the /usr prefix with the unit in /lib/systemd/system
# (where Debian 12's own packages have theirs), of only what the packages
# hold. It installs what it needs from Debian 12 that is missing (the
# build's packages, as `bash .ci/run --daemon` does, and help2man, dpkg-dev,
# file, lintian), then prints each package's Depends and files and checks
# them (packaging/check-deb.sh: the files, Depends, the unit's ExecStart,
# and no lintian error).
# Environment: BUILD_DIR (default: build-deb), BUILD_TYPE (default:
# Release), LINTIAN=0 to skip lintian (the Docker build does).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build-deb}
build_type=${BUILD_TYPE:-Release}
lintian=${LINTIAN:-1}

bash .ci/run --deps
packages=(help2man dpkg-dev file)
[[ "$lintian" == 1 ]] && packages+=(lintian)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q \
    --no-install-recommends "${missing[@]}"
fi

# CMAKE_SKIP_INSTALL_ALL_DEPENDENCY: cpack then builds nothing more (not
# the tests) before it installs.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" \
  -DCMAKE_INSTALL_PREFIX=/usr -DFUTURED_SYSTEMD_UNIT_DIR=/lib/systemd/system \
  -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON ${FUTURED_GIT_COMMIT:+-DFUTURED_GIT_COMMIT="$FUTURED_GIT_COMMIT"}
cmake --build "$build_dir" -j "$(nproc)" --target futured futured-worker \
  futurectl futured_client futured_client_proto futured_man_pages
(cd "$build_dir" && rm -f ./*.deb && cpack -G DEB)

bash packaging/check-deb.sh "$build_dir"
