#!/usr/bin/env bash
# Runs deploy/relay-sender.service and deploy/relay-smtp.service under a real systemd, on a machine (or container)
# whose PID 1 is not systemd: systemd becomes PID 1 of new PID, mount, UTS and cgroup namespaces, installs nothing on
# the host, and everything it started dies with it. Installs the units as README.md's "systemd (Linux)" steps do,
# sends one message with swaks, checks it reached the Sender's pickup folder and that the sandboxing took effect.
#
#   deploy/test-units.sh SENDER_DIR SMTP_DIR     (the services' publish or build output; run as root)
#
# Exit 0: all checks passed. Exit 77: this machine cannot run systemd this way (the reason is printed). Anything else:
# a check failed (the reason, the units' status and their journal are printed).
#
# Inside the namespaces, /etc, /opt and /var are overlays whose changes land in a temporary folder: the relay user,
# /etc/relay, /etc/systemd/system and /opt/relay exist there only. /tmp, /run and /sys/fs/cgroup are private mounts,
# and systemd loads no unit of the host's (see SYSTEMD_UNIT_PATH below): nothing of the host's boot runs.
# The network namespace is the host's: the services listen on 127.0.0.1 ports that are free when the script starts.
set -euo pipefail

PASSWORD='units test password'   # a throw-away account that exists only inside this test
LIMIT=300                         # seconds: systemd and everything under it are killed after this, whatever happens

if [ "${1:-}" = "--inside" ]; then
  # PID 1 of the new namespaces. Mounts made here vanish with the mount namespace when systemd exits.
  work=$2
  mount --make-rprivate /
  for dir in etc opt var; do
    mkdir -p "$work/upper/$dir" "$work/overlay-work/$dir"
    mount -t overlay overlay -o "lowerdir=/$dir,upperdir=$work/upper/$dir,workdir=$work/overlay-work/$dir" "/$dir"
  done
  # systemd as PID 1 logs to /dev/console: here, a file the caller prints when something fails.
  touch "$work/console"
  mount --bind "$work/console" /dev/console
  # Last, as $work is under /tmp: nothing started here may see or clean the host's /tmp.
  mount -t tmpfs -o mode=1777 tmpfs /tmp
  mount -t tmpfs -o mode=0755 tmpfs /run
  # Only the cgroup namespace's root (a child cgroup made by the caller) is visible and writable to this systemd.
  mount -t cgroup2 cgroup2 /sys/fs/cgroup

  # systemd looks for units only in /etc/systemd/system (where README.md installs them) and in this folder, never
  # in /lib/systemd/system: the host's sysinit units (tmpfiles, sysctl, udev, modules, …) act on what this
  # namespace shares with the host (/dev, /proc/sys, the kernel) and must not run. The targets the units and
  # systemd name are empty stand-ins; the journal is the real one, so failures can be explained.
  units=/run/relay-units-test
  mkdir -p "$units"
  for target in relay-units-test sysinit basic sockets timers paths local-fs network network-online multi-user \
                shutdown final; do
    printf '[Unit]\nDescription=%s (stand-in)\nDefaultDependencies=no\n' "$target" > "$units/$target.target"
  done
  printf 'Wants=systemd-journald.socket systemd-journald.service\n' >> "$units/relay-units-test.target"
  cp /lib/systemd/system/systemd-journald.service /lib/systemd/system/systemd-journald.socket "$units/"
  exec env container=other SYSTEMD_UNIT_PATH="/etc/systemd/system:$units" \
    /lib/systemd/systemd --unit=relay-units-test.target --log-target=console
fi

unavailable() { echo "cannot run systemd on this machine: $*" >&2; exit 77; }
fail() { echo "FAILED: $*" >&2; exit 1; }

[ $# -eq 2 ] || { echo "usage: $0 SENDER_DIR SMTP_DIR" >&2; exit 2; }
sender_dir=$(realpath "$1")
smtp_dir=$(realpath "$2")
repo=$(cd "$(dirname "$0")/.." && pwd)

# Preconditions: anything missing here means systemd cannot run at all, not that the units are wrong.
[ "$(uname -s)" = Linux ] || unavailable "not Linux"
[ "$(id -u)" -eq 0 ] || unavailable "not root (uid $(id -u)); namespaces, mounts and cgroups need root"
cap_eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
(( (16#$cap_eff >> 21) & 1 )) || unavailable "no CAP_SYS_ADMIN (CapEff $cap_eff in /proc/self/status)"
[ -x /lib/systemd/systemd ] || unavailable "/lib/systemd/systemd missing (apt-get install systemd)"
for tool in unshare nsenter swaks python3 useradd; do
  command -v "$tool" >/dev/null || unavailable "$tool missing"
done
cgroup2_root=$(findmnt -n -t cgroup2 -o TARGET | head -1)
[ -n "$cgroup2_root" ] || unavailable "no cgroup2 hierarchy mounted (findmnt -t cgroup2)"
dotnet=$(command -v dotnet) || unavailable "dotnet missing"

work=$(mktemp -d /tmp/relay-units.XXXXXX)
cgroup="$cgroup2_root$(sed -n 's/^0:://p' /proc/self/cgroup)/relay-units-$$"
cgroup=${cgroup//\/\//\/}
systemd_pid=""
unshare_pid=""

cleanup() {
  local status=$?
  if [ -n "$systemd_pid" ] && kill -0 "$systemd_pid" 2>/dev/null; then
    # The namespace's PID 1: when it dies, the kernel kills every process left in the namespace.
    kill -KILL "$systemd_pid" 2>/dev/null || true
  fi
  if [ -n "$unshare_pid" ]; then wait "$unshare_pid" 2>/dev/null || true; fi
  # Emptied cgroups, deepest first (systemd's slices and scopes, then ours); the last processes may take a moment to go.
  for _ in $(seq 20); do
    [ -d "$cgroup" ] || break
    find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || sleep 0.5
  done
  [ ! -d "$cgroup" ] || echo "warning: $cgroup could not be removed" >&2
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sender_port=$(free_port)
smtp_port=$(free_port)
health_port=$(free_port)

# What README.md's steps put in /opt and /etc, staged as the overlays' upper layers.
mkdir -p "$work/upper/opt/relay" "$work/upper/etc/relay" "$work/upper/etc/systemd/system"
cp -a "$sender_dir" "$work/upper/opt/relay/sender"
cp -a "$smtp_dir" "$work/upper/opt/relay/smtp"
for unit in relay-sender.service relay-smtp.service; do
  # The units name /usr/bin/dotnet; where the runtime lives elsewhere the installed copy names the real one.
  sed "s#/usr/bin/dotnet#$dotnet#" "$repo/deploy/$unit" > "$work/upper/etc/systemd/system/$unit"
done
hash=$(printf '%s\n' "$PASSWORD" | "$dotnet" "$sender_dir/Relay.Sender.dll" hash-password --iterations 100000)
# The examples with loopback ports, pickup mode (no Graph settings) and no TLS certificate.
sed -e "s#^ASPNETCORE_URLS=.*#ASPNETCORE_URLS=http://127.0.0.1:$sender_port#" \
    -e '/^Graph__/d' \
    -e "s#^Identity__Accounts__printer__PasswordHash=.*#Identity__Accounts__printer__PasswordHash=$hash#" \
    "$repo/deploy/sender.env.example" > "$work/upper/etc/relay/sender.env"
sed -e "s#^services__sender__http__0=.*#services__sender__http__0=http://127.0.0.1:$sender_port#" \
    -e 's#^Smtp__BindAddress=.*#Smtp__BindAddress=127.0.0.1#' \
    -e "s#^Smtp__Port=.*#Smtp__Port=$smtp_port#" \
    -e "s#^Smtp__HealthPort=.*#Smtp__HealthPort=$health_port#" \
    -e '/^Smtp__Tls__/d' -e '/^Smtp__ImplicitTlsPort=/d' \
    "$repo/deploy/smtp.env.example" > "$work/upper/etc/relay/smtp.env"

mkdir "$cgroup"
# The subshell moves itself into the new cgroup before it becomes unshare, so systemd's whole tree lives under it.
# --kill-child: if unshare dies (timeout), systemd dies with it, and with systemd every process in its namespace.
(
  echo "$BASHPID" > "$cgroup/cgroup.procs"
  exec timeout -s KILL "$LIMIT" unshare --pid --fork --kill-child --mount --uts --cgroup --mount-proc \
    "$repo/deploy/test-units.sh" --inside "$work"
) > "$work/systemd.log" 2>&1 &
unshare_pid=$!

# The process tree is subshell-become-timeout → unshare → systemd: follow first children until the one named systemd.
child_of() { awk '{ print $1 }' "/proc/$1/task/$1/children" 2>/dev/null || true; }
for _ in $(seq 100); do
  pid=$unshare_pid
  while [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != systemd ]; do pid=$(child_of "$pid"); done
  systemd_pid=$pid
  [ -z "$systemd_pid" ] || break
  sleep 0.1
done
[ -n "$systemd_pid" ] || { cat "$work/systemd.log" "$work/console" >&2; fail "unshare started no child"; }

# A command inside the namespaces, bounded.
inside() { timeout 120 nsenter -t "$systemd_pid" --mount --pid --uts --cgroup "$@"; }

# systemd is up once its manager answers; a failure to boot is the machine's, not the units'.
booted=""
for _ in $(seq 60); do
  state=$(inside systemctl is-system-running 2>/dev/null) || true
  case "$state" in running|degraded) booted=yes; break ;; esac
  kill -0 "$systemd_pid" 2>/dev/null || break
  sleep 0.5
done
if [ -z "$booted" ]; then
  cat "$work/systemd.log" "$work/console" >&2
  unavailable "systemd did not boot in its namespace (state '${state:-none}'; its log above)"
fi
echo "systemd $(inside systemctl --version | head -1 | cut -d' ' -f2) is PID 1 of its namespace (host PID $systemd_pid)"

explain() {
  inside systemctl status --no-pager --lines=0 relay-sender relay-smtp >&2 || true
  inside journalctl --no-pager -u relay-sender -u relay-smtp >&2 || true
  fail "$*"
}

# README.md's steps, inside: the relay user, the settings files' owner and mode, then enable --now.
inside useradd --system --no-create-home --shell /usr/sbin/nologin relay
inside sh -c 'chgrp -R relay /etc/relay && chmod 0750 /etc/relay && chmod 0640 /etc/relay/*.env'
inside systemctl daemon-reload
# Type=notify: start returns once each service sent READY=1, or fails.
inside systemctl enable --now relay-sender relay-smtp || explain "systemctl enable --now failed"

for unit in relay-sender relay-smtp; do
  active=""
  for _ in $(seq 60); do
    if inside systemctl is-active --quiet "$unit"; then active=yes; break; fi
    sleep 0.5
  done
  [ -n "$active" ] || explain "$unit is not active"
  echo "$unit is active"
done

swaks --server "127.0.0.1:$smtp_port" --auth LOGIN --auth-user printer --auth-password "$PASSWORD" \
      --from scanner@contoso.com --to alice@fabrikam.com --header "Subject: through systemd" --timeout 30 \
      > "$work/swaks.log" 2>&1 || { cat "$work/swaks.log" >&2; explain "swaks could not send"; }
pickup="$work/upper/var/lib/relay/sender/pickup"
message=$(find "$pickup" -name '*.eml' 2>/dev/null | head -1)
[ -n "$message" ] || explain "no .eml in /var/lib/relay/sender/pickup after swaks got 250"
grep -q '^Subject: through systemd' "$message" || explain "the pickup file is not the message sent"
grep -q '^X-Receiver: <\?alice@fabrikam.com' "$message" || explain "the pickup file lacks the envelope recipient"
echo "the message reached /var/lib/relay/sender/pickup/$(basename "$message")"

# The sandboxing, as far as it shows from outside the services.
for unit in relay-sender relay-smtp; do
  pid=$(inside systemctl show -p MainPID --value "$unit")
  status=$(inside cat "/proc/$pid/status")
  user=$(inside ps -o user= -p "$pid")
  [ "$user" = relay ] || explain "$unit runs as '$user', not relay"
  grep -q '^NoNewPrivs:[[:space:]]*1' <<<"$status" || explain "$unit: NoNewPrivs is not set"
  # ProtectSystem=strict: /usr and /etc are read-only in the service's own mount namespace, even for root.
  for dir in /usr /etc; do
    if inside nsenter -t "$pid" -m touch "$dir/relay-units-probe" 2>/dev/null; then
      explain "$unit can write $dir: ProtectSystem=strict did not take effect"
    fi
  done
  # PrivateTmp: the service's /tmp is not the host's.
  [ "$(inside stat -L -c %i "/proc/$pid/root/tmp")" != "$(inside stat -c %i /tmp)" ] || explain "$unit shares /tmp"
  echo "$unit runs as relay with NoNewPrivs, a read-only /usr and /etc, and its own /tmp"
done
[ "$(inside stat -c %U /var/lib/relay/sender/pickup)" = relay ] || explain "the pickup folder is not owned by relay"
grep -q '^CapEff:[[:space:]]*0000000000000400$' <<<"$(inside cat "/proc/$(inside systemctl show -p MainPID --value relay-smtp)/status")" \
  || explain "relay-smtp's effective capabilities are not exactly CAP_NET_BIND_SERVICE"
grep -q '^CapEff:[[:space:]]*0000000000000000$' <<<"$(inside cat "/proc/$(inside systemctl show -p MainPID --value relay-sender)/status")" \
  || explain "relay-sender has capabilities"

inside systemctl stop relay-smtp relay-sender || explain "systemctl stop failed"
for unit in relay-sender relay-smtp; do
  state=$(inside systemctl is-active "$unit" || true)
  [ "$state" = inactive ] || explain "$unit is '$state' after stop, not inactive"
done
echo "both units stopped cleanly"
echo "PASS: deploy/*.service run under systemd"
