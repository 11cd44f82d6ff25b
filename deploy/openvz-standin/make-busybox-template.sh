#!/bin/bash
# make-busybox-template.sh OUT.tar.gz — builds a tiny OS template for the vzctl STAND-IN (and for
# a real OpenVZ host's template cache): busybox-static with an applet symlink for each command,
# and a /sbin/init that waits until halt(8) signals it, as a distribution's init would.
# Nothing can be pulled on this machine, so the template is made from the host's busybox binary.
set -euo pipefail
out=${1:?usage: make-busybox-template.sh OUT.tar.gz}
bb=${BUSYBOX:-/bin/busybox}
[ -x "$bb" ] || { echo "busybox-static not found at $bb (apt-get install busybox-static)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
r=$tmp/rootfs
mkdir -p "$r"/{bin,sbin,etc,proc,dev,sys,tmp,root,var/log,usr/bin,usr/sbin}
chmod 1777 "$r/tmp"
cp "$bb" "$r/bin/busybox"
for a in $("$bb" --list); do
  [ "$a" = busybox ] || [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
done
rm -f "$r/bin/init"
# halt/poweroff/reboot from busybox signal PID 1 (USR1/USR2/TERM); this init ends the CT on any.
cat >"$r/sbin/init" <<'EOF'
#!/bin/sh
# Container init of the busybox template: keeps the container running until halt/reboot.
trap 'kill -TERM -1 2>/dev/null; exit 0' USR1 USR2 TERM INT HUP
[ -x /etc/rc.local ] && /etc/rc.local
while :; do sleep 2147483647 & wait $!; done
EOF
chmod 755 "$r/sbin/init"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
echo localhost >"$r/etc/hostname"
mkdir -p "$(dirname "$out")"
tar -C "$r" --numeric-owner -czf "$out.tmp" .
mv "$out.tmp" "$out"
