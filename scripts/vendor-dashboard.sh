#!/usr/bin/env bash
# Re-fetches the dashboard's browser libraries from the npm registry (no CDN) into
# src/flagramp/server/dashboard/static/vendor/, with their licences, and rewrites
# VENDORED.md. Run it to move to another version: HTMX_VERSION=2.0.11 UPLOT_VERSION=1.6.32.
set -euo pipefail
HTMX_VERSION="${HTMX_VERSION:-2.0.11}"
UPLOT_VERSION="${UPLOT_VERSION:-1.6.32}"
here="$(cd "$(dirname "$0")/.." && pwd)"
target="$here/src/flagramp/server/dashboard/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "htmx.org@$HTMX_VERSION" "uplot@$UPLOT_VERSION" >/dev/null
mkdir htmx uplot
tar -xzf "htmx.org-$HTMX_VERSION.tgz" -C htmx
tar -xzf "uplot-$UPLOT_VERSION.tgz" -C uplot
mkdir -p "$target"
cp htmx/package/dist/htmx.min.js "$target/htmx.min.js"
cp htmx/package/LICENSE "$target/htmx.LICENSE"
cp uplot/package/dist/uPlot.iife.min.js "$target/uPlot.iife.min.js"
cp uplot/package/dist/uPlot.min.css "$target/uPlot.min.css"
cp uplot/package/LICENSE "$target/uPlot.LICENSE"
sha() { sha256sum "$target/$1" | cut -d' ' -f1; }
cat > "$target/VENDORED.md" <<DOC
# Vendored browser libraries

Fetched from the npm registry by \`scripts/vendor-dashboard.sh\` (never from a CDN);
served by the dashboard from \`/dashboard/static/vendor/\`.

| file | npm package | version | licence | sha256 |
|---|---|---|---|---|
| \`htmx.min.js\` | \`htmx.org\` | $HTMX_VERSION | BSD Zero Clause (\`htmx.LICENSE\`) | \`$(sha htmx.min.js)\` |
| \`uPlot.iife.min.js\` | \`uplot\` | $UPLOT_VERSION | MIT (\`uPlot.LICENSE\`) | \`$(sha uPlot.iife.min.js)\` |
| \`uPlot.min.css\` | \`uplot\` | $UPLOT_VERSION | MIT (\`uPlot.LICENSE\`) | \`$(sha uPlot.min.css)\` |
DOC
echo "vendored htmx.org $HTMX_VERSION and uplot $UPLOT_VERSION into $target"
