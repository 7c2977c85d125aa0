#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Behaviour check for changes to the redaction automaton's layout or walk (not run by
# ctest: it compares two builds). Runs `caregate redact` of a build over every text in
# tests/redact/*.jsonl in its own language and forced to auto/de/en/pl/hu, plus the
# benchmark messages and any extra plain-text files given (one message per line, e.g.
# word lists joined into lines as a test aid), and prints one SHA-256 of all findings.
#   bash tests/bench/redact_same.sh BUILD_DIR [OUT_FILE] [EXTRA.txt ...]
# Two builds whose hashes are equal redact every one of those texts identically; with
# OUT_FILE kept for both, `diff` shows the first difference.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=$1
OUT=${2:-$(mktemp /tmp/redact-same-XXXXXX)}
shift $(( $# >= 2 ? 2 : 1 ))
node -e '
const fs = require("fs");
const langs = ["auto", "de", "en", "pl", "hu"];
const emit = (text, lang) => process.stdout.write(JSON.stringify({text, lang}) + "\n");
for (const f of fs.readdirSync("tests/redact").filter(f => f.endsWith(".jsonl")).sort()) {
  for (const line of fs.readFileSync("tests/redact/" + f, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const o = JSON.parse(line);
    emit(o.text, o.lang || "auto");
    for (const l of langs) emit(o.text, l);
  }
}
const bench = fs.readFileSync("tests/bench/bench_redact.c", "utf8").match(/^    "(.*)",$/gm) || [];
for (const b of bench) emit(JSON.parse(b.trim().replace(/,$/, "")), "auto");
for (const f of process.argv.slice(1))
  for (const line of fs.readFileSync(f, "utf8").split("\n"))
    if (line.trim()) for (const l of langs) emit(line, l);
' "$@" | "$BUILD/gateway/caregate" redact > "$OUT"
echo "$(wc -l < "$OUT") lines, sha256 $(sha256sum < "$OUT" | cut -d" " -f1) ($OUT)"
