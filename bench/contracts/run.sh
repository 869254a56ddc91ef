#!/usr/bin/env bash
# Provider contracts: checking a 200-interaction pact against a ~1 MB OpenAPI document
# (parsing, reference resolution, schema compilation, every interaction checked), a
# 200-message pact against an AsyncAPI document with the same schemas, and
# publishing a document to a broker (SQLite) whose provider has 50 consumers, the answer
# coming back once every pact was compared. There is no official open-source tool to
# compare against: PactFlow's bi-directional checks run only in its hosted service.
#
#   RESOURCES=900 INTERACTIONS=200 CONSUMERS=50 RUNS=10 bench/contracts/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
build_release
echo "== check a pact against a document"
"$BENCH" contract-check --resources "${RESOURCES:-900}" --interactions "${INTERACTIONS:-200}" --runs "${RUNS:-10}"
echo "== check a message pact against an AsyncAPI document"
"$BENCH" contract-check-events --resources "${RESOURCES:-900}" --messages "${INTERACTIONS:-200}" --runs "${RUNS:-10}"
echo "== publish a provider contract"
"$BENCH" contract-publish --accord "$ACCORD" --consumers "${CONSUMERS:-50}" --resources "${RESOURCES:-900}" --runs "${RUNS:-10}"
