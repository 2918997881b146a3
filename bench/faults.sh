#!/usr/bin/env bash
# The fault-injection suite of issue 7 in its full form: more messages, storms of 90 s, a 30-minute soak.
# Takes about 40 minutes. Everything listens on 127.0.0.1; the disk-full scenarios mount a small tmpfs (root needed).
# What each scenario does and what it asserts: docs/faults.md. The short form runs in every `dotnet test`.
#
#   bench/faults.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
export RELAY_FAULTS=full
exec dotnet test tests/Relay.EndToEnd.Tests \
  --filter "FullyQualifiedName~Relay.EndToEnd.Tests.Faults" \
  --logger "console;verbosity=detailed" \
  "$@"
