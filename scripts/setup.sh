#!/bin/bash
# setup.sh — makes this machine ready to build, run and test Corral: Debian packages, node modules, the build,
# a running dockerd and an initialized LXD. Installs only what is missing, so a second run takes seconds.
# No systemd here (PID 1 is not systemd): daemons are started with nohup, never systemctl.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
export DEBIAN_FRONTEND=noninteractive npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
T0=$SECONDS

step() { printf 'setup: %-28s %s\n' "$1" "$2"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (installs packages, starts dockerd and LXD)"

# 1. Debian packages.
PKGS=(lxc lxd lxcfs docker.io nats-server zstd busybox-static iptables iproute2 jq curl debootstrap)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  t=$SECONDS
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
  step "apt packages" "installed ${missing[*]} ($((SECONDS - t))s)"
else
  step "apt packages" "all present"
fi

# 2. Node.
command -v node >/dev/null 2>&1 || die "node is not installed (Node 20 or later is required)"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || die "node $(node -v) is too old (Node 20 or later is required)"
step "node" "$(node -v), npm $(npm -v 2>/dev/null)"

# 3. Node modules: reinstalled when the lock file or a package.json changed since the last install.
stamp_of() { cat package-lock.json package.json packages/*/package.json test/package.json 2>/dev/null | sha256sum | cut -c1-64; }
STAMP=node_modules/.corral-setup-stamp
want=$(stamp_of)
have=$(cat "$STAMP" 2>/dev/null || true)
# An install made before this script existed (no stamp) counts when npm's own record is newer than the lock file.
if [ -z "$have" ] && [ -f node_modules/.package-lock.json ] && [ -f package-lock.json ] &&
  [ ! package-lock.json -nt node_modules/.package-lock.json ]; then have=$want; echo "$want" >"$STAMP"; fi
if [ ! -d node_modules ] || [ "$have" != "$want" ]; then
  t=$SECONDS
  # npm ci installs exactly the lock file, so every machine gets the same tree; a lock file out of step with
  # package.json is a bug to fix in the repo (npm install, commit the lock), never papered over here.
  npm ci --loglevel=error </dev/null >/tmp/corral-npm.log 2>&1 || { tail -20 /tmp/corral-npm.log >&2; die "npm ci failed (log: /tmp/corral-npm.log)"; }
  stamp_of >"$STAMP"
  step "node modules" "installed ($((SECONDS - t))s)"
else
  step "node modules" "up to date"
fi

# 4. Build (tsc --build is incremental: seconds when nothing changed).
t=$SECONDS
npm run --silent build >/tmp/corral-build.log 2>&1 || { cat /tmp/corral-build.log >&2; die "build failed"; }
step "build" "ok ($((SECONDS - t))s)"

# 5. dockerd.
if docker version >/dev/null 2>&1; then
  step "dockerd" "running"
else
  nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 300); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
  docker version >/dev/null 2>&1 || { tail -20 /var/log/dockerd.log >&2; die "dockerd did not start (log: /var/log/dockerd.log)"; }
  step "dockerd" "started (log /var/log/dockerd.log)"
fi

# 6. LXD: started once, then initialized once with a dir pool and a default profile holding only the root disk
#    (automatic network set-up fails on this machine: no free subnet is found).
if lxd waitready --timeout=1 >/dev/null 2>&1; then
  step "lxd" "running"
else
  nohup lxd --group root >>/var/log/lxd.log 2>&1 </dev/null &
  lxd waitready --timeout=30 || { tail -20 /var/log/lxd.log >&2; die "LXD did not start (log: /var/log/lxd.log)"; }
  step "lxd" "started (log /var/log/lxd.log)"
fi
if lxc storage show default >/dev/null 2>&1 && lxc profile device get default root pool >/dev/null 2>&1; then
  step "lxd init" "already initialized"
else
  lxd init --preseed < "$REPO/deploy/lxd-preseed.yaml"
  step "lxd init" "dir pool 'default', profile with the root disk only"
fi

# 7. LXC tools and the offline template the demo and tests use.
command -v lxc-create >/dev/null 2>&1 || die "lxc-create is missing (package lxc)"
[ -x /usr/share/lxc/templates/lxc-busybox ] || die "the LXC busybox template is missing (/usr/share/lxc/templates/lxc-busybox)"
[ -x /bin/busybox ] || die "busybox is missing (package busybox-static)"
step "lxc" "lxc-create and the busybox template present"

# 8. lxcfs: /proc/meminfo and friends as a container's own limits (LXD uses it when it runs).
#    A killed lxcfs leaves its FUSE mount behind ("Transport endpoint is not connected"): unmount that
#    first. Nothing Corral creates depends on it yet, so one that cannot start is said, not fatal.
if mountpoint -q /var/lib/lxcfs 2>/dev/null; then
  step "lxcfs" "running"
else
  umount -l /var/lib/lxcfs 2>/dev/null || true
  mkdir -p /var/lib/lxcfs
  nohup lxcfs /var/lib/lxcfs >>/var/log/lxcfs.log 2>&1 </dev/null &
  for _ in $(seq 1 100); do mountpoint -q /var/lib/lxcfs && break; sleep 0.1; done
  if mountpoint -q /var/lib/lxcfs; then
    step "lxcfs" "started on /var/lib/lxcfs (log /var/log/lxcfs.log)"
  else
    step "lxcfs" "did not start (log /var/log/lxcfs.log); continuing without it"
  fi
fi
# 9. A subordinate id range for root: LXC containers are unprivileged, their ids mapped onto it.
for f in /etc/subuid /etc/subgid; do
  if ! grep -Eq '^(root|0):[0-9]+:[0-9]+$' "$f" 2>/dev/null || ! awk -F: '($1=="root"||$1=="0") && $2>=65536 && $3>=65536 {ok=1} END {exit !ok}' "$f"; then
    echo "root:100000:65536" >> "$f"
    step "$(basename "$f")" "added root:100000:65536 (unprivileged LXC containers)"
  fi
done
step "id maps" "root has subordinate ids in /etc/subuid and /etc/subgid"

step "done" "in $((SECONDS - T0))s"
