#!/bin/bash
# demo.sh (`npm run demo`) — Corral end to end on this machine: brings up the local 3-host cluster if needed,
# creates two LXC containers, writes a file in one, migrates it to another host and checks that the file
# arrived intact. Leaves the cluster up; `deploy/local-cluster.sh down` removes it.
# Honours the same CORRAL_* variables as local-cluster.sh (a second cluster beside a person's, for example).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LC=deploy/local-cluster.sh
T0=$SECONDS

if [ -t 1 ]; then B=$'\033[1m' R=$'\033[0m'; else B="" R=""; fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$R"; }
fail() { printf '\ndemo: FAILED: %s\n' "$*" >&2; exit 1; }
corral() { node packages/cli/bin/corral.js "$@"; }

[ -f packages/cli/lib/main.js ] || fail "Corral is not built: run 'bash scripts/setup.sh' first"

step "Local cluster (3 hosts)"
if bash "$LC" status >/dev/null 2>&1 && [ "$(bash "$LC" env | sed -n 's/^CORRAL_HOSTS=//p')" -ge 3 ]; then
  echo "already up"
else
  bash "$LC" up 3 || fail "the local cluster did not come up"
fi
# The CLI talks to this cluster's controller, whatever the config file says.
eval "$(bash "$LC" env | sed 's/^/export /')"

step "Identity: one cluster CA, mutual TLS on every hop"
echo "CA $CORRAL_CA (sha256 $(openssl x509 -in "$CORRAL_CA" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'))"
echo "\$ corral host list   # without a client certificate"
# No config file either: `up` wrote the admin's certificate into it, and the CLI would take it from there.
if anon=$(CORRAL_CONFIG="$CORRAL_LOCAL_ROOT/no-such-config.json" CORRAL_CERT="" CORRAL_KEY="" corral host list 2>&1); then fail "an anonymous call was answered: $anon"; fi
echo "$anon"

step "Removing containers left by an earlier demo"
for ct in demo-web demo-db; do
  if corral ct show "$ct" >/dev/null 2>&1; then corral ct rm --force "$ct" || fail "could not remove $ct"; fi
done
echo "clean"

step "Creating two LXC containers (busybox) — the scheduler picks their hosts"
corral ct create demo-web --backend lxc --template busybox --memory 128M --cpus 0.5 || fail "create demo-web"
corral ct create demo-db --backend lxc --template busybox --memory 128M --cpus 0.5 || fail "create demo-db"

step "Writing a file in demo-web"
echo "\$ corral ct exec demo-web -- sh -c 'echo hello-from-corral > /root/greeting; sha256sum /root/greeting'"
out=$(corral ct exec demo-web -- sh -c 'mkdir -p /root; echo hello-from-corral > /root/greeting; sha256sum /root/greeting') ||
  fail "exec in demo-web"
echo "$out"
before=$(awk '{print $1}' <<<"$out")
[ ${#before} -eq 64 ] || fail "unexpected sha256sum output: $out"

src=$(corral ct show demo-web --json | jq -r .host)
[ -n "$src" ] && [ "$src" != null ] || fail "demo-web has no host"
echo "demo-web runs on $src"

# Target: the first other host that is ready.
dst=$(corral host list --json | jq -r --arg src "$src" '[.[] | select(.state == "ready" and .name != $src)][0].name // empty')
[ -n "$dst" ] || fail "no other ready host to migrate to"

step "Migrating demo-web from $src to $dst (stop, archive, copy, verify, start)"
corral ct migrate demo-web --to "$dst" || fail "migration of demo-web to $dst"

step "Checking demo-web on $dst"
now=$(corral ct show demo-web --json | jq -r '"\(.host) \(.state)"')
[ "$now" = "$dst running" ] || fail "demo-web should run on $dst, but is: $now"
out=$(corral ct exec demo-web -- sh -c 'cat /root/greeting; sha256sum /root/greeting') || fail "exec in demo-web on $dst"
echo "$out"
after=$(tail -n1 <<<"$out" | awk '{print $1}')
[ "$after" = "$before" ] || fail "checksum changed in migration: $before before, $after after"
echo "checksum matches: $after"

step "Hosts"
corral host list
step "Containers"
corral ct list

down="$LC down"
[ "$CORRAL_LOCAL_ROOT" = /var/lib/corral-local ] || down="CORRAL_LOCAL_ROOT=$CORRAL_LOCAL_ROOT $down"
printf '\ndemo: OK in %ss. The cluster stays up (try: node packages/cli/bin/corral.js ct list).\nTear it down with: %s\n' \
  "$((SECONDS - T0))" "$down"
