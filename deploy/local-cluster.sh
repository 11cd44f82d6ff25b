#!/bin/bash
# local-cluster.sh — a whole Corral cluster on this machine: NATS, a controller in the root namespace and N
# emulated hosts, each a network namespace with its own agent, LXC path and (optionally) dockerd.
#
#   local-cluster.sh up [N]          start everything (default 3 hosts); running parts are left alone
#   local-cluster.sh down            stop and remove everything this cluster made; nothing up is fine
#   local-cluster.sh status          one line per part; exit 0 when every part runs, 1 otherwise
#   local-cluster.sh env             shell assignments for scripts (eval "$(local-cluster.sh env)"), TLS paths included
#   local-cluster.sh kill-agent H    SIGKILL host H's agent (H = host2, 2 or the namespace name)
#   local-cluster.sh start-agent H   start host H's agent again if it is not running
#   local-cluster.sh agent-pid H     print the agent's pid; exit 1 when it is not running
#   local-cluster.sh kill-controller  SIGKILL the controller;  start-controller: start it again
#   local-cluster.sh link-down H     cut host H off the bridge (its veth down);  link-up H: reconnect it
#
# Everything is parametrized by environment so that a second cluster (tests) can run beside a person's:
#   CORRAL_LOCAL_ROOT (/var/lib/corral-local)  CORRAL_NS_PREFIX (corral-h)  CORRAL_SUBNET (10.77.0)
#   CORRAL_BRIDGE (corralbr0)  CORRAL_CONTROLLER_PORT (7400)  CORRAL_AGENT_PORT (7401)  CORRAL_NATS_PORT (4222)
#   CORRAL_METRICS_PORT (controller port + 2000; agents serve /metrics on agent port + 2000)
#   CORRAL_NATS_URL (use that NATS, start none)  CORRAL_CONFIG (~/.config/corral/config.json)
#   CORRAL_DOCKER (1 = one dockerd per host; 0 = the hosts have no Docker; default 1 when dockerd is installed)
#   CORRAL_LXD (1 = the hosts drive the machine's one LXD daemon, the default; 0 = they have no LXD)
#   CORRAL_LXD_PROJECT (local-$CORRAL_NS_PREFIX: the LXD project this cluster's instances live in; made by `up`,
#   emptied and deleted by `down`, so clusters side by side never see each other's instances)
#   CORRAL_LOG_LEVEL (info)
# Every hop is mutual TLS: `up` runs `corral cluster init` into $CORRAL_LOCAL_ROOT/controller once, and each
# agent joins with a one-use token on its first start (its certificate then lives in hosts/hostN/tls).
# `up` records the resolved values in $CORRAL_LOCAL_ROOT/cluster.env; the other verbs read them from there, so
# only CORRAL_LOCAL_ROOT has to match between calls.
set -euo pipefail

DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$DEPLOY/.." && pwd)
HX=$DEPLOY/hx
ROOT=${CORRAL_LOCAL_ROOT:-/var/lib/corral-local}
ROOT=${ROOT%/}
CONTROLLER_BIN=$REPO/packages/controller/bin/corral-controller.js
AGENT_BIN=$REPO/packages/agent/bin/corral-agent.js
# The node flags a daemon runs with, from its bin file's first line (the one place they live).
node_flags() { sed -n '1s|^#!/usr/bin/env -S node||p' "$1"; }
CLI_BIN=$REPO/packages/cli/bin/corral.js
MARKER=$ROOT/.corral-local-cluster
# The cluster's identity (corral cluster init): CA, controller certificate, admin client certificate.
CSTATE=$ROOT/controller
PKI=$CSTATE/pki

# Settings: recorded ones win over the environment, so `down` tears down what `up` made.
load_settings() {
  N=0
  PREFIX=${CORRAL_NS_PREFIX:-corral-h}
  SUBNET=${CORRAL_SUBNET:-10.77.0}
  BRIDGE=${CORRAL_BRIDGE:-corralbr0}
  CPORT=${CORRAL_CONTROLLER_PORT:-7400}
  APORT=${CORRAL_AGENT_PORT:-7401}
  NPORT=${CORRAL_NATS_PORT:-4222}
  # Prometheus /metrics, plain HTTP: derived from the gRPC ports so a second cluster does not collide.
  MPORT=${CORRAL_METRICS_PORT:-$((CPORT + 2000))}
  AMPORT=$((APORT + 2000))
  NATS_URL=${CORRAL_NATS_URL:-}
  OWN_NATS=1; [ -n "$NATS_URL" ] && OWN_NATS=0
  [ -n "$NATS_URL" ] || NATS_URL=nats://127.0.0.1:$NPORT
  CONFIG=${CORRAL_CONFIG:-${HOME:-/root}/.config/corral/config.json}
  if [ -n "${CORRAL_DOCKER:-}" ]; then DOCKER=$CORRAL_DOCKER
  elif command -v dockerd >/dev/null 2>&1; then DOCKER=1
  else DOCKER=0; fi
  LXD=${CORRAL_LXD:-1}
  LXD_PROJECT=${CORRAL_LXD_PROJECT:-local-$PREFIX}
  LOG_LEVEL=${CORRAL_LOG_LEVEL:-info}
  # shellcheck disable=SC1091
  [ -f "$ROOT/cluster.env" ] && . "$ROOT/cluster.env"
  LOG=$ROOT/log; RUN=$ROOT/run
  return 0
}

save_settings() {
  cat >"$ROOT/cluster.env" <<EOF
N=$N
PREFIX=$PREFIX
SUBNET=$SUBNET
BRIDGE=$BRIDGE
CPORT=$CPORT
APORT=$APORT
NPORT=$NPORT
MPORT=$MPORT
AMPORT=$AMPORT
NATS_URL=$NATS_URL
OWN_NATS=$OWN_NATS
CONFIG=$CONFIG
DOCKER=$DOCKER
LXD=$LXD
LXD_PROJECT=$LXD_PROJECT
LOG_LEVEL=$LOG_LEVEL
EOF
}

say() { printf '%s\n' "$*"; }
die() { printf 'local-cluster: %s\n' "$*" >&2; exit 1; }

ns_of() { echo "${PREFIX}$1"; }
ip_of() { echo "${SUBNET}.$((10 + $1))"; }
# Root-side veth name: readable when it fits the kernel's 15 characters, hashed from the prefix otherwise.
veth_of() {
  local v="${PREFIX}$1br"
  if [ ${#v} -gt 15 ]; then v="cv$(printf '%s' "$PREFIX" | md5sum | cut -c1-8)-$1"; fi
  echo "$v"
}
# LXD is one daemon in the root namespace for every emulated host: each host gets a root-side bridge
# for its LXD containers' NICs (agent --lxd-bridge), joined to the host's Corral bridge by a veth whose
# other end is "corral-lxd" inside the host (agent --bridge-ports). A real host needs neither.
lxd_br_of() {
  local v="${PREFIX}$1lx"
  if [ ${#v} -gt 15 ]; then v="cl$(printf '%s' "$PREFIX" | md5sum | cut -c1-8)-$1"; fi
  echo "$v"
}
lxd_veth_of() {
  local v="${PREFIX}$1lv"
  if [ ${#v} -gt 15 ]; then v="cw$(printf '%s' "$PREFIX" | md5sum | cut -c1-8)-$1"; fi
  echo "$v"
}

lxd_link_up() {
  local i=$1 ns lb lv; ns=$(ns_of "$i"); lb=$(lxd_br_of "$i"); lv=$(lxd_veth_of "$i")
  if ! ip link show "$lb" >/dev/null 2>&1; then
    ip link add "$lb" type bridge
    ip link set "$lb" mtu 1450 up
  fi
  iptables -C FORWARD -i "$lb" -o "$lb" -j ACCEPT 2>/dev/null || iptables -I FORWARD -i "$lb" -o "$lb" -j ACCEPT
  ip -n "$ns" link show corral-lxd >/dev/null 2>&1 && return 0
  ip link del "$lv" 2>/dev/null || true
  ip link add "$lv" mtu 1450 type veth peer name corral-lxd mtu 1450 netns "$ns"
  ip link set "$lv" master "$lb" up
}

# The cluster's own LXD project: its instances and images apart from any other cluster's (and from a
# person's own LXD instances); profiles are the default project's, whose root disk the instances use.
lxd_project_up() {
  [ "${LXD:-1}" = 1 ] && command -v lxc >/dev/null 2>&1 && lxc project list >/dev/null 2>&1 || return 0
  lxc project show "$LXD_PROJECT" >/dev/null 2>&1 && return 0
  lxc project create "$LXD_PROJECT" -c features.profiles=false -c features.images=true \
    -c features.storage.volumes=false >/dev/null || die "cannot create the LXD project $LXD_PROJECT"
}
lxd_project_down() {
  [ -n "${LXD_PROJECT:-}" ] && command -v lxc >/dev/null 2>&1 && lxc project show "$LXD_PROJECT" >/dev/null 2>&1 || return 0
  local x
  for x in $(lxc list --project "$LXD_PROJECT" -c n --format csv 2>/dev/null); do lxc delete --force --project "$LXD_PROJECT" "$x" >/dev/null 2>&1 || true; done
  for x in $(lxc image list --project "$LXD_PROJECT" -c f --format csv 2>/dev/null); do lxc image delete --project "$LXD_PROJECT" "$x" >/dev/null 2>&1 || true; done
  lxc project delete "$LXD_PROJECT" >/dev/null 2>&1 || say "LXD project $LXD_PROJECT left: $(lxc project show "$LXD_PROJECT" 2>&1 | grep -A5 used_by | tr -s ' \n' ' ')"
}

lxd_link_down() {
  local lb; lb=$(lxd_br_of "$1")
  ip link del "$(lxd_veth_of "$1")" 2>/dev/null || true
  while iptables -D FORWARD -i "$lb" -o "$lb" -j ACCEPT 2>/dev/null; do :; done
  ip link del "$lb" 2>/dev/null || true
}

# Each host's dockerd gets its own bridge subnet, derived from the cluster's subnet (10.77.0 -> 10.77.21.1/24 for host1).
docker_bip_of() {
  local a b c; IFS=. read -r a b c <<<"$SUBNET"
  echo "$a.$b.$((c + 20 + $1)).1/24"
}
host_dir() { echo "$ROOT/hosts/host$1"; }
docker_dir() { echo "$ROOT/hosts/host$1/docker"; }
docker_sock() { echo "$(docker_dir "$1")/docker.sock"; }

# Host argument: host2, 2 or the namespace name (corral-h2).
host_index() {
  local h=$1
  case $h in
    host[0-9]*) h=${h#host} ;;
    "$PREFIX"[0-9]*) h=${h#"$PREFIX"} ;;
  esac
  [[ $h =~ ^[0-9]+$ ]] && [ "$h" -ge 1 ] || die "unknown host '$1' (use host1..hostN)"
  echo "$h"
}

# PID 1 here does not always reap orphans: a zombie answers kill -0, so look at the process state instead.
alive() {
  local st; st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pid of a process started by this script, if it is still the same process (guards against pid reuse).
pid_of() {
  local name=$1 pat=$2 pid
  [ -f "$RUN/$name.pid" ] || return 1
  pid=$(cat "$RUN/$name.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pat" || return 1
  echo "$pid"
}

# Every long-running process: own session, no stdin, output to log/<name>.log, pid to run/<name>.pid.
spawn() {
  local name=$1; shift
  # 9>&-: the lock stays with this script, not with the daemons it starts.
  setsid nohup "$@" >>"$LOG/$name.log" 2>&1 </dev/null 9>&- &
  local pid=$! self i
  echo "$pid" >"$RUN/$name.pid"
  # Until the child has exec'd it still looks like this script; later checks match on the command line.
  self=$(tr '\0' ' ' </proc/$$/cmdline)
  # While it execs, /proc/PID/cmdline can read empty: that is not "exec'd" yet either.
  local now
  for ((i = 0; i < 250; i++)); do
    now=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
    [ -n "$now" ] && [ "$now" != "$self" ] && break
    sleep 0.02
  done
}

stop_proc() {
  local name=$1 pat=$2 wait=${3:-10} pid i
  if pid=$(pid_of "$name" "$pat"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < wait * 10; i++)); do alive "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/$name.pid"
}

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

log_tail() { [ -f "$LOG/$1.log" ] && { echo "--- tail of $LOG/$1.log" >&2; tail -n "${2:-20}" "$LOG/$1.log" >&2; } || true; }

# Waits until CHECK succeeds; fails early when the process NAME dies, showing its log.
wait_for() {
  local name=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    # Alive is enough here: the pid was written a moment ago by spawn, and matching the command line
    # could fail while a slow exec is still under way (a fresh machine's demo once died so, with
    # nats up and ready).
    alive "$(cat "$RUN/$name.pid" 2>/dev/null || echo 0)" || { log_tail "$name"; die "$name exited during start-up (log: $LOG/$name.log)"; }
    [ $SECONDS -lt $deadline ] || { log_tail "$name"; die "$name not ready after ${secs}s (log: $LOG/$name.log)"; }
    sleep 0.2
  done
}

lock() {
  exec 9>"/run/lock/corral-local-$(printf '%s' "$ROOT" | md5sum | cut -c1-12).lock"
  flock 9
}

# ---------------------------------------------------------------------------------------------------------- up

check_prereqs() {
  [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, LXC, dockerd)"
  local missing=()
  for c in node ip iptables lxc-create lxc-start lxc-stop lxc-destroy setsid flock; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  [ "$OWN_NATS" = 1 ] && ! command -v nats-server >/dev/null 2>&1 && missing+=(nats-server)
  [ "$DOCKER" = 1 ] && { command -v dockerd >/dev/null 2>&1 || missing+=(dockerd); command -v docker >/dev/null 2>&1 || missing+=(docker); }
  [ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} — run 'bash scripts/setup.sh' first (or CORRAL_DOCKER=0 / CORRAL_NATS_URL=...)"
  for f in "$CONTROLLER_BIN" "$AGENT_BIN"; do [ -f "$f" ] || die "missing $f"; done
  for p in wire agent controller; do
    [ -f "$REPO/packages/$p/lib/index.js" ] || die "packages/$p is not built — run 'npm run build' (or 'bash scripts/setup.sh')"
  done
}

net_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "${SUBNET}.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
  fi
  # dockerd sets FORWARD to DROP and bridged frames pass iptables here: without this host1 -> host2 times out.
  iptables -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  local i ns hv
  for ((i = 1; i <= N; i++)); do
    ns=$(ns_of "$i"); hv=$(veth_of "$i")
    if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns" && ip -n "$ns" link show eth0 >/dev/null 2>&1; then continue; fi
    ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns" || ip netns add "$ns"
    ip link del "$hv" 2>/dev/null || true
    ip link add "$hv" type veth peer name eth0 netns "$ns"
    ip link set "$hv" master "$BRIDGE" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$(ip_of "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "${SUBNET}.1"
  done
  for ((i = 1; i <= N; i++)); do lxd_link_up "$i"; done
  lxd_project_up
}

nats_up() {
  [ "$OWN_NATS" = 1 ] || return 0
  pid_of nats nats-server >/dev/null && return 0
  tcp_open 127.0.0.1 "$NPORT" && die "port $NPORT is taken by another process (set CORRAL_NATS_PORT or CORRAL_NATS_URL)"
  mkdir -p "$ROOT/nats"
  : >"$LOG/nats.log"
  spawn nats nats-server -js -a 127.0.0.1 -p "$NPORT" -sd "$ROOT/nats"
  wait_for nats 15 grep -q "Server is ready" "$LOG/nats.log"
}

controller_up() {
  pid_of controller corral-controller.js >/dev/null && return 0
  tcp_open 127.0.0.1 "$CPORT" && die "port $CPORT is taken by another process (set CORRAL_CONTROLLER_PORT)"
  mkdir -p "$CSTATE"
  # Once per cluster: the CA and credentials. The CLI config it writes stays inside the cluster;
  # write_config copies the controller address and the admin's paths into $CONFIG.
  [ -f "$PKI/ca.key" ] || CORRAL_CONFIG="$CSTATE/cli-config.json" node "$CLI_BIN" cluster init \
    --state-dir "$CSTATE" --controller "127.0.0.1:$CPORT" >/dev/null
  # shellcheck disable=SC2046
  spawn controller node $(node_flags "$CONTROLLER_BIN") "$CONTROLLER_BIN" --listen "0.0.0.0:$CPORT" --db "$CSTATE/corral.db" --state-dir "$CSTATE" \
    --nats "$NATS_URL" --log-level "$LOG_LEVEL" --metrics-listen "127.0.0.1:$MPORT"
  wait_for controller 30 tcp_open 127.0.0.1 "$CPORT"
}

dockerd_up() {
  local i=$1 d ns; d=$(docker_dir "$i"); ns=$(ns_of "$i")
  pid_of "dockerd-host$i" dockerd >/dev/null && return 0
  mkdir -p "$d/root" "$d/exec"
  rm -f "$d/docker.sock" "$d/docker.pid"
  spawn "dockerd-host$i" "$HX" "$ns" dockerd --data-root "$d/root" --exec-root "$d/exec" \
    -H "unix://$d/docker.sock" --pidfile "$d/docker.pid" --bip "$(docker_bip_of "$i")" \
    --cgroup-parent "/corral-host$i-docker"
}

docker_ready() { docker -H "unix://$(docker_sock "$1")" version >/dev/null 2>&1; }

agent_up() {
  local i=$1 hd; hd=$(host_dir "$i")
  pid_of "agent-host$i" corral-agent.js >/dev/null && return 0
  mkdir -p "$hd/lxc"
  local args=(--name "host$i" --listen "$(ip_of "$i"):$APORT" --controller "${SUBNET}.1:$CPORT"
    --state-dir "$hd" --lxc-path "$hd/lxc" --log-level "$LOG_LEVEL" --metrics-listen "$(ip_of "$i"):$AMPORT"
    --bridge-ports corral-lxd --lxd-bridge "$(lxd_br_of "$i")")
  # A host without Docker or LXD is given a socket path where none listens: the agent then reports
  # that backend unavailable instead of driving the machine's own dockerd or another cluster's LXD
  # instances (the one LXD daemon is shared by every emulated host of every local cluster).
  if [ "$DOCKER" = 1 ]; then args+=(--docker-socket "$(docker_sock "$i")" --docker-cgroup-parent "/corral-host$i-docker")
  else args+=(--docker-socket "$hd/no-docker.sock"); fi
  if [ "${LXD:-1}" = 1 ]; then args+=(--lxd-project "$LXD_PROJECT"); else args+=(--lxd-socket "$hd/no-lxd.sock"); fi
  # OpenVZ needs its own kernel: each host gets the vzctl/vzlist STAND-IN with its own VZ_ROOT and
  # the emulated kernel files (/proc/vz/veinfo, /proc/bc, fairsched) under its own proc root. The
  # hosts of one local cluster are one operator's: a CT's host-side action scripts move with it.
  openvz_root "$i"
  args+=(--vzctl "$DEPLOY/openvz-standin/vzctl" --vzlist "$DEPLOY/openvz-standin/vzlist" --vz-root "$hd/vz"
    --openvz-proc-root "$hd/vzproc" --openvz-host-scripts install)
  # A host without its certificate joins with a fresh one-use token; later starts use $hd/tls.
  if [ ! -f "$hd/tls/host.pem" ]; then
    local token; token=$(cli host join-token --ttl 10m) || die "cannot get a join token for host$i from the controller"
    args+=(--join "$token")
  fi
  # CORRAL_AGENT_NODE_FLAGS: V8 flags for profiling the agents (e.g. --trace-gc, --cpu-prof), which
  # NODE_OPTIONS does not take.
  # shellcheck disable=SC2046,SC2086
  spawn "agent-host$i" "$HX" "$(ns_of "$i")" node $(node_flags "$AGENT_BIN") ${CORRAL_AGENT_NODE_FLAGS:-} "$AGENT_BIN" "${args[@]}"
}

# The admin's credentials from cluster init: every call is mutual TLS.
cli() { CORRAL_CA=$PKI/ca.pem CORRAL_CERT=$PKI/admin.pem CORRAL_KEY=$PKI/admin.key node "$CLI_BIN" --controller "127.0.0.1:$CPORT" "$@"; }

# Number of host1..hostN the controller lists as ready. Accepts a bare array or {"hosts": [...]}.
ready_count() {
  cli host list --json 2>/dev/null | jq --argjson n "$N" \
    '(if type == "array" then . else (.hosts // []) end)
     | map(select(.state == "ready" and (.name | test("^host[0-9]+$")) and ((.name[4:] | tonumber) <= $n))) | length' \
    2>/dev/null || echo 0
}

wait_registered() {
  if [ ! -f "$CLI_BIN" ] || [ ! -f "$REPO/packages/cli/lib/index.js" ]; then
    say "warning: the CLI is not built; not waiting for registration"; return 0
  fi
  local deadline=$((SECONDS + ${CORRAL_REGISTER_TIMEOUT:-30})) got=0 i
  while :; do
    got=$(ready_count); got=${got:-0}
    [ "$got" -ge "$N" ] && return 0
    for ((i = 1; i <= N; i++)); do
      pid_of "agent-host$i" corral-agent.js >/dev/null || { log_tail "agent-host$i"; die "agent of host$i exited (log: $LOG/agent-host$i.log)"; }
    done
    if [ $SECONDS -ge $deadline ]; then
      for ((i = 1; i <= N; i++)); do log_tail "agent-host$i" 10; done
      log_tail controller 10
      die "only $got of $N hosts registered as ready after ${CORRAL_REGISTER_TIMEOUT:-30}s"
    fi
    sleep 0.5
  done
}

write_config() {
  mkdir -p "$(dirname "$CONFIG")"
  local want="127.0.0.1:$CPORT" cur=""
  [ -f "$CONFIG" ] && cur=$(jq -r '.controller // ""' "$CONFIG" 2>/dev/null || true)
  # Keep whatever else the file holds (and the previous one, restored by `down`).
  local doc='{}'
  if [ -f "$CONFIG" ] && jq -e . "$CONFIG" >/dev/null 2>&1; then
    [ "$cur" = "$want" ] || [ -f "$RUN/config.prev" ] || cp "$CONFIG" "$RUN/config.prev"
    doc=$(cat "$CONFIG")
  fi
  # The controller address with this cluster's CA and the admin's client certificate.
  jq --arg c "$want" --arg ca "$PKI/ca.pem" --arg cert "$PKI/admin.pem" --arg key "$PKI/admin.key" \
    '.controller = $c | .ca = $ca | .cert = $cert | .key = $key' <<<"$doc" >"$CONFIG.tmp"
  chmod 600 "$CONFIG.tmp" && mv "$CONFIG.tmp" "$CONFIG"
}

cmd_up() {
  local want=${1:-3}
  [[ $want =~ ^[0-9]+$ ]] && [ "$want" -ge 1 ] || die "usage: local-cluster.sh up [N]  (N >= 1)"
  check_prereqs
  lock
  # Growing is allowed; a smaller N keeps the hosts already there.
  [ "$N" -gt "$want" ] || N=$want
  local t0=$SECONDS i
  mkdir -p "$ROOT" "$ROOT/log" "$ROOT/run" "$ROOT/hosts"
  touch "$MARKER"
  save_settings   # first, so that `down` can clean up whatever a failure below leaves
  trap 'rc=$?; [ $rc -eq 0 ] || echo "local-cluster: up failed; logs in $LOG; clean up with: CORRAL_LOCAL_ROOT=$ROOT $0 down" >&2' EXIT
  net_up
  nats_up
  controller_up
  if [ "$DOCKER" = 1 ]; then
    for ((i = 1; i <= N; i++)); do dockerd_up "$i"; done
    for ((i = 1; i <= N; i++)); do wait_for "dockerd-host$i" 30 docker_ready "$i"; done
  fi
  for ((i = 1; i <= N; i++)); do agent_up "$i"; done
  wait_registered
  write_config
  trap - EXIT
  say "corral local cluster up in $((SECONDS - t0))s: $N hosts"
  say "  controller  127.0.0.1:$CPORT (agents reach it at ${SUBNET}.1:$CPORT)   nats  $NATS_URL"
  for ((i = 1; i <= N; i++)); do
    say "  host$i       netns $(ns_of "$i")  agent $(ip_of "$i"):$APORT  lxc $(host_dir "$i")/lxc$([ "$DOCKER" = 1 ] && echo "  docker unix://$(docker_sock "$i")")"
  done
  say "  logs $LOG   CLI config $CONFIG"
  say "  tear down: $([ "$ROOT" != /var/lib/corral-local ] && echo "CORRAL_LOCAL_ROOT=$ROOT ")$0 down"
}

# -------------------------------------------------------------------------------------------------------- down

# Hosts to tear down: those recorded, plus any namespace with this prefix and any host dir left behind.
known_hosts() {
  {
    seq 1 "$N" 2>/dev/null
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n "s/^${PREFIX//./\\.}\([0-9][0-9]*\)\$/\1/p"
    for d in "$ROOT"/hosts/host*; do [ ! -d "$d" ] || echo "${d##*/host}"; done
  } | { grep -E '^[0-9]+$' || true; } | sort -un
}

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

# LXC's command socket is per network namespace: stop containers from inside their host's namespace.
lxc_down() {
  local i=$1 lp ns c name pid
  lp=$(host_dir "$i")/lxc; ns=$(ns_of "$i")
  [ -d "$lp" ] || return 0
  for c in "$lp"/*/; do
    [ -f "$c/config" ] || continue
    name=$(basename "$c")
    if ns_exists "$ns"; then
      timeout 30 "$HX" "$ns" lxc-stop -P "$lp" -n "$name" -k >/dev/null 2>&1 || true
      timeout 30 "$HX" "$ns" lxc-destroy -P "$lp" -n "$name" >/dev/null 2>&1 || true
    fi
  done
  # Whatever survived (namespace already gone, destroy refused): kill the monitors of this path and their children.
  for pid in $(pgrep -f "^\[lxc monitor\] $lp " 2>/dev/null || true); do
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# The stand-in's vz.conf and template cache (a busybox OS template, built once per cluster and shared
# by its hosts). host1 has vzctl's upstream /vz layout (RHEL/CentOS), the others Debian's /var/lib/vz.
openvz_root() {
  local hd vz base; hd=$(host_dir "$1"); vz=$hd/vz
  if [ "$1" = 1 ]; then base=$vz/vz; else base=$vz/var/lib/vz; fi
  mkdir -p "$base/template/cache" "$vz/etc/vz/conf" "$base/private" "$base/root" "$hd/vzproc"
  printf '%s\n' "LOCKDIR=$base/lock" "DISK_QUOTA=yes" "TEMPLATE=$base/template" 'VE_ROOT='"$base"'/root/$VEID' \
    'VE_PRIVATE='"$base"'/private/$VEID' 'CONFIGFILE="vswap-256m"' >"$vz/etc/vz/vz.conf"
  [ -f "$ROOT/busybox.tar.gz" ] || bash "$DEPLOY/openvz-standin/make-busybox-template.sh" "$ROOT/busybox.tar.gz" >/dev/null
  ln -sf "$ROOT/busybox.tar.gz" "$base/template/cache/busybox.tar.gz"
}

openvz_down() {
  local vz conf ctid; vz=$(host_dir "$1")/vz
  for conf in "$vz"/etc/vz/conf/*.conf; do
    [ -f "$conf" ] || continue
    ctid=$(basename "$conf" .conf)
    VZ_ROOT=$vz VZ_PROC_ROOT=$(host_dir "$1")/vzproc timeout 30 "$DEPLOY/openvz-standin/vzctl" stop "$ctid" --fast >/dev/null 2>&1 || true
  done
}

docker_down() {
  local i=$1 sock ids; sock=$(docker_sock "$i")
  if [ -S "$sock" ] && command -v docker >/dev/null 2>&1; then
    ids=$(timeout 15 docker -H "unix://$sock" ps -aq 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || timeout 60 docker -H "unix://$sock" rm -f $ids >/dev/null 2>&1 || true
  fi
  stop_proc "dockerd-host$i" dockerd 20
  # A dockerd that lost its pid file: find it by its own pid file.
  local pf; pf=$(docker_dir "$i")/docker.pid
  if [ -f "$pf" ]; then
    local p; p=$(cat "$pf" 2>/dev/null || true)
    if [ -n "$p" ] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$(docker_dir "$i")"; then
      kill -TERM "$p" 2>/dev/null || true
      for ((k = 0; k < 100; k++)); do alive "$p" || break; sleep 0.1; done
      kill -KILL "$p" 2>/dev/null || true
    fi
  fi
}

# Leftover cgroups: only rmdir (depth first), so a live container of another cluster is never touched.
cgroups_down() {
  local i=$1 d
  for d in /sys/fs/cgroup/*/corral/"host$i" /sys/fs/cgroup/*/"corral-host$i-docker"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

config_down() {
  [ -f "$CONFIG" ] || return 0
  local cur; cur=$(jq -r '.controller // ""' "$CONFIG" 2>/dev/null || true)
  [ "$cur" = "127.0.0.1:$CPORT" ] || return 0
  if [ -f "$RUN/config.prev" ]; then cp "$RUN/config.prev" "$CONFIG"; else rm -f "$CONFIG"; fi
}

cmd_down() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  lock
  local hosts i ns t0=$SECONDS
  hosts=$(known_hosts)
  # Agents first, so that nothing reacts to containers disappearing.
  for i in $hosts; do stop_proc "agent-host$i" corral-agent.js 5; done
  stop_proc controller corral-controller.js 10
  for i in $hosts; do lxc_down "$i"; openvz_down "$i"; done
  lxd_project_down
  for i in $hosts; do docker_down "$i"; done
  [ "$OWN_NATS" = 1 ] && stop_proc nats nats-server 10
  for i in $hosts; do cgroups_down "$i"; done
  for i in $hosts; do
    ns=$(ns_of "$i")
    ns_exists "$ns" && ip netns del "$ns" 2>/dev/null || true
    ip link del "$(veth_of "$i")" 2>/dev/null || true
    lxd_link_down "$i"
  done
  while iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null; do :; done
  ip link del "$BRIDGE" 2>/dev/null || true
  config_down
  if [ -f "$MARKER" ] && [ "${#ROOT}" -gt 4 ]; then rm -rf "$ROOT"; fi
  say "corral local cluster down ($ROOT) in $((SECONDS - t0))s"
}

# ------------------------------------------------------------------------------------------------- other verbs

cmd_status() {
  local ok=0 i pid line
  if [ ! -f "$ROOT/cluster.env" ]; then say "not up ($ROOT)"; return 1; fi
  if [ "$OWN_NATS" = 1 ]; then
    if pid=$(pid_of nats nats-server); then say "nats        running  pid $pid  $NATS_URL"; else say "nats        STOPPED"; ok=1; fi
  else say "nats        external $NATS_URL"; fi
  if pid=$(pid_of controller corral-controller.js); then say "controller  running  pid $pid  127.0.0.1:$CPORT  metrics http://127.0.0.1:$MPORT/metrics"; else say "controller  STOPPED"; ok=1; fi
  for ((i = 1; i <= N; i++)); do
    line="host$i       netns $(ns_of "$i") $(ip_of "$i")"
    ns_exists "$(ns_of "$i")" || { line+=" (MISSING)"; ok=1; }
    if pid=$(pid_of "agent-host$i" corral-agent.js); then line+="  agent pid $pid  metrics http://$(ip_of "$i"):$AMPORT/metrics"; else line+="  agent STOPPED"; ok=1; fi
    if [ "$DOCKER" = 1 ]; then
      if pid=$(pid_of "dockerd-host$i" dockerd); then line+="  dockerd pid $pid"; else line+="  dockerd STOPPED"; ok=1; fi
    fi
    say "$line"
  done
  say "logs        $LOG"
  return $ok
}

cmd_env() {
  [ -f "$ROOT/cluster.env" ] || die "not up ($ROOT)"
  say "CORRAL_CONTROLLER=127.0.0.1:$CPORT"
  say "CORRAL_CA=$PKI/ca.pem"
  say "CORRAL_CERT=$PKI/admin.pem"
  say "CORRAL_KEY=$PKI/admin.key"
  say "CORRAL_NATS_URL=$NATS_URL"
  say "CORRAL_LOCAL_ROOT=$ROOT"
  say "CORRAL_HOSTS=$N"
}

cmd_kill_agent() {
  local i pid; i=$(host_index "${1:?usage: kill-agent HOST}")
  if pid=$(pid_of "agent-host$i" corral-agent.js); then
    kill -KILL "$pid"
    while alive "$pid"; do sleep 0.05; done
    say "killed agent of host$i (pid $pid)"
  else
    say "agent of host$i is not running"
  fi
}

cmd_start_agent() {
  local i pid; i=$(host_index "${1:?usage: start-agent HOST}")
  [ -f "$ROOT/cluster.env" ] || die "cluster not up ($ROOT)"
  [ "$i" -le "$N" ] || die "host$i is not part of this cluster (1..$N)"
  lock
  if pid=$(pid_of "agent-host$i" corral-agent.js); then say "agent of host$i already running (pid $pid)"; return 0; fi
  agent_up "$i"
  sleep 0.3
  pid=$(pid_of "agent-host$i" corral-agent.js) || { log_tail "agent-host$i"; die "agent of host$i exited at start"; }
  say "started agent of host$i (pid $pid)"
}

cmd_agent_pid() {
  local i; i=$(host_index "${1:?usage: agent-pid HOST}")
  pid_of "agent-host$i" corral-agent.js
}

cmd_kill_controller() {
  local pid
  if pid=$(pid_of controller corral-controller.js); then
    kill -KILL "$pid"
    while alive "$pid"; do sleep 0.05; done
    say "killed controller (pid $pid)"
  else
    say "controller is not running"
  fi
}

cmd_start_controller() {
  [ -f "$ROOT/cluster.env" ] || die "cluster not up ($ROOT)"
  lock
  controller_up
  say "controller running (pid $(pid_of controller corral-controller.js))"
}

# A link fault: the host's root-side veth goes down, so nothing reaches it and it reaches nothing.
cmd_link() {
  local state=$1 i; i=$(host_index "${2:?usage: link-$state HOST}")
  ip link set "$(veth_of "$i")" "$state"
  say "link of host$i $state"
}

load_settings
verb=${1:-}; [ $# -gt 0 ] && shift
case $verb in
  up) cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  kill-agent) cmd_kill_agent "$@" ;;
  start-agent) cmd_start_agent "$@" ;;
  agent-pid) cmd_agent_pid "$@" ;;
  kill-controller) cmd_kill_controller ;;
  start-controller) cmd_start_controller ;;
  link-down) cmd_link down "$@" ;;
  link-up) cmd_link up "$@" ;;
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
