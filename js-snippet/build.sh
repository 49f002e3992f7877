#!/bin/sh
# Build dist/hr.min.js (a classic script) and dist/widget.min.js (an ES module, imported by hr.js)
# from src/ with the terser pinned in package-lock.json. Deterministic: the same sources give the
# same bytes. `./build.sh DIR` builds into DIR instead of dist/.
set -eu
cd "$(dirname "$0")"
out="${1:-dist}"
[ -x node_modules/.bin/terser ] || npm ci --no-audit --no-fund --loglevel=error
mkdir -p "$out"
minify() {
  node_modules/.bin/terser "$@" --ecma 2020 --compress passes=3,unsafe_arrows=true --mangle \
    --format ascii_only=true,comments=false
}
minify src/hr.js --output "$out/hr.min.js"
minify src/widget.js --module --output "$out/widget.min.js"
echo "hr.min.js: $(gzip -9c "$out/hr.min.js" | wc -c) bytes gzipped (budget 3000)"
