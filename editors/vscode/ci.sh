#!/usr/bin/env bash
# CI job for the VS Code extension (editors/vscode): install the locked npm
# dependencies, compile, test the settings and the TextMate grammar, package
# the .vsix and check its contents; when a `deidc` with the `lsp` command is
# available, also run the client smoke test against the real server.
# Exits non-zero on the first failure; prints how long it took either way.
#
#   bash editors/vscode/ci.sh
#   DEIDC=/path/to/deidc bash editors/vscode/ci.sh    (the server for the smoke test)
set -euo pipefail
cd "$(dirname "$0")"

START=$(date +%s)
finish() {
  local status=$?
  local took=$(( $(date +%s) - START ))
  if [ "$status" -eq 0 ]; then
    echo "editors/vscode/ci.sh: passed in ${took} s"
  else
    echo "editors/vscode/ci.sh: FAILED (status $status) after ${took} s"
  fi
}
trap finish EXIT

step() { echo "== vscode [$(( $(date +%s) - START )) s]: $*"; }

step "node $(node --version), npm $(npm --version)"
node -e 'const [major] = process.versions.node.split(".").map(Number); if (major < 20) { console.error("node 20 or later is needed"); process.exit(1); }'

step "npm ci"
# --ignore-scripts: nothing the build needs runs at install time.
npm ci --ignore-scripts --no-audit --no-fund

step "compile (tsc)"
npm run --silent compile

step "unit tests: settings sent to the server, grammar over the repository's recipes"
node --test test/*.test.js

step "grammar tests (vscode-tmgrammar-test)"
timeout 600 npx --no-install vscode-tmgrammar-test -g syntaxes/deid.tmLanguage.json 'test/grammar/*.deid'

step "grammar snapshot (vscode-tmgrammar-snap)"
timeout 600 npx --no-install vscode-tmgrammar-snap -g syntaxes/deid.tmLanguage.json 'test/snap/*.deid'

step "package (vsce)"
rm -f deidlang.vsix
npx --no-install vsce package --allow-missing-repository -o deidlang.vsix
node test/vsix-check.js deidlang.vsix

# The client smoke test needs the real language server: `deidc lsp`.
DEIDC=${DEIDC:-}
if [ -z "$DEIDC" ]; then
  if command -v deidc > /dev/null 2>&1; then
    DEIDC=$(command -v deidc)
  elif [ -x ../../.venv/bin/deidc ]; then
    DEIDC=$(cd ../../.venv/bin && pwd)/deidc
  fi
fi
if [ -n "$DEIDC" ] && timeout 60 "$DEIDC" lsp --help < /dev/null > /dev/null 2>&1; then
  step "client smoke test against $DEIDC lsp"
  timeout 300 node test/client-smoke.js "$DEIDC" lsp
else
  step "client smoke test skipped: no deidc with an 'lsp' command (${DEIDC:-deidc not found})"
fi
