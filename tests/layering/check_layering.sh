#!/usr/bin/env bash
# Checks that includes point only downward through the layers (README's
# architecture notes, docs/architecture.md):
#   common/ < server/os < task < tasks < future < worker < pools < store
#           < engine < rpc < daemon
# A file of one layer may include its own layer's files and those of the
# layers below; common/ includes nothing of server/ or client/, server/
# includes nothing of client/, and no source file sits directly in server/.
#   bash tests/layering/check_layering.sh [SOURCE_DIR]
# Prints each include that points upward and exits 1 if there is any.
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"

layers=(os task tasks future worker pools store engine rpc daemon)
declare -A rank
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done

failures=0
fail() { echo "upward include: $*"; failures=$((failures + 1)); }

for f in server/*.h server/*.cc; do
  [[ -e "$f" ]] && fail "$f sits in server/ itself, not in a layer's folder"
done
while IFS=: read -r file line target; do
  fail "$file:$line includes $target"
done < <(grep -rnoE '#include "(server|client)/[^"]+"' common \
  | sed -E 's/#include "([^"]+)"/\1/')
while IFS=: read -r file line target; do
  fail "$file:$line includes $target"
done < <(grep -rnoE '#include "client/[^"]+"' server \
  | sed -E 's/#include "([^"]+)"/\1/')

for layer in "${layers[@]}"; do
  [[ -d "server/$layer" ]] || { fail "server/$layer is missing"; continue; }
  while IFS=: read -r file line target; do
    other=${target#server/}
    other=${other%%/*}
    if [[ -z "${rank[$other]+set}" ]]; then
      fail "$file:$line includes $target, in no layer"
    elif ((rank[$other] > rank[$layer])); then
      fail "$file:$line includes $target ($layer may not use $other)"
    fi
  done < <(grep -rnoE '#include "server/[^"]+"' "server/$layer" \
    | sed -E 's/#include "([^"]+)"/\1/')
done

if ((failures)); then
  echo "$failures upward include(s)"
  exit 1
fi
echo "layering: every include points downward (${layers[*]})"
