#!/usr/bin/env bash
# Copies the web console's third-party players from their pinned npm packages into the
# crate (crates/tokio/console/vendor/), where the server embeds them. The versions are the
# ones crates/tokio/tests/browser/package-lock.json pins; `npm ci` installs exactly those.
# The test `browser::vendored_console_files_match_the_pinned_npm_packages` checks the copies
# stay byte-identical to the packages.
#
# To move to a new version: change it in crates/tokio/tests/browser/package.json, run
# `npm install` there (updates package-lock.json), then this script, and commit all three.
set -euo pipefail
cd "$(dirname "$0")/.."

browser=crates/tokio/tests/browser
vendor=crates/tokio/console/vendor
(cd "$browser" && npm ci --no-audit --no-fund --silent)

nm="$browser/node_modules"
version() { node -p "require('./$nm/$1/package.json').version"; }
hls_version=$(version hls.js)
mpegts_version=$(version mpegts.js)

mkdir -p "$vendor"
# (package file, vendored name)
copy() { cp "$nm/$1" "$vendor/$2"; }
copy hls.js/dist/hls.min.js hls.min.js
copy hls.js/LICENSE hls.js.LICENSE
copy mpegts.js/dist/mpegts.js mpegts.js
copy mpegts.js/LICENSE mpegts.js.LICENSE
copy mpegts.js/dist/mpegts.js.LICENSE.txt mpegts.js.LICENSE.txt

cat >"$vendor/README.md" <<README
# Vendored browser players

The web console's third-party JavaScript, copied unchanged from the npm packages that
\`crates/tokio/tests/browser/package-lock.json\` pins, by \`scripts/vendor-console.sh\`.
The server embeds these files and serves them under \`/console/vendor/\`; the page never
loads anything from a CDN.

| file | npm package | version | from | license |
|---|---|---|---|---|
| \`hls.min.js\` | hls.js | $hls_version | \`dist/hls.min.js\` | Apache-2.0 (\`hls.js.LICENSE\`) |
| \`mpegts.js\` | mpegts.js | $mpegts_version | \`dist/mpegts.js\` (minified) | Apache-2.0 (\`mpegts.js.LICENSE\`); bundled es6-promise and events: MIT (\`mpegts.js.LICENSE.txt\`) |

Do not edit these files: the test \`vendored_console_files_match_the_pinned_npm_packages\`
(in \`crates/tokio/tests/browser.rs\`) checks they are byte-identical to the packages.
README
echo "vendored hls.js $hls_version and mpegts.js $mpegts_version into $vendor"
