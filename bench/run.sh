#!/usr/bin/env bash
# Relay's benchmark (issue 7), one command:
#   bench/run.sh            full matrix (≤ 25 minutes on 2 cores), writes docs/benchmarks.md
#   bench/run.sh --quick    smoke run (≤ 3 minutes), writes artifacts/bench/benchmarks-quick.md
#   bench/run.sh --profile  also records CPU per thread name of both services for every Relay cell
#   bench/run.sh faults     runs bench/faults.sh (the fault-injection run), passing the remaining arguments
# Other arguments go to the harness (--out FILE). Variables RELAY_BENCH_SERVICE_X=V reach both services as X=V
# (e.g. RELAY_BENCH_SERVICE_DOTNET_gcServer=1 to compare garbage collectors).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "faults" ]; then
  shift
  if [ ! -f bench/faults.sh ]; then
    echo "bench/faults.sh does not exist yet: there is no fault run to start." >&2
    exit 2
  fi
  exec bash bench/faults.sh "$@"
fi

# The load generator and the comparison servers are Debian packages: postfix (smtp-source, smtp-sink; preseeded to
# "No configuration" so it neither prompts nor starts a mail server) and python3-aiosmtpd.
if [ ! -x /usr/sbin/smtp-source ] || [ ! -x /usr/sbin/smtp-sink ] || ! /usr/bin/python3 -c "import aiosmtpd" 2>/dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix python3-aiosmtpd >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
out=artifacts/bench
echo "Publishing Relay.Smtp and Relay.Sender (Release) and building the harness..."
dotnet publish src/Relay.Smtp -c Release -o "$out/smtp" --nologo -v quiet
dotnet publish src/Relay.Sender -c Release -o "$out/sender" --nologo -v quiet
dotnet build bench/Relay.Bench -c Release --nologo -v quiet
exec dotnet bench/Relay.Bench/bin/Release/net10.0/Relay.Bench.dll --smtp "$out/smtp" --sender "$out/sender" "$@"
