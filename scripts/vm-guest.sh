#!/usr/bin/env bash
# vm-guest.sh builds the tiny test guest of Paceline's VM tests: Debian's
# kernel (linux-image-amd64) and an initramfs holding busybox-static whose
# init loads the virtio network drivers, gives eth0 the address named on
# the kernel command line (pl.ip=ADDR/LEN), answers ping, serves its
# uptime over HTTP (http://ADDR/cgi-bin/uptime: seconds since boot and the
# boot id), writes its uptime to the serial console every second and
# powers off when the ACPI power button is pressed (busybox acpid).
#
# Usage: scripts/vm-guest.sh [CACHE-DIR]
#   CACHE-DIR defaults to $PL_VM_CACHE, else ~/.cache/paceline-vm-guest (not under ~/.cache/paceline, which the demo keeps 0700 and to itself).
# It writes CACHE-DIR/vmlinuz and CACHE-DIR/initrd.img (not committed) and
# prints CACHE-DIR. It rebuilds only when the kernel, busybox or this
# script changed (a stamp file records their identity).
set -euo pipefail

cache=${1:-${PL_VM_CACHE:-$HOME/.cache/paceline-vm-guest}}
busybox=/bin/busybox
die() { echo "vm-guest.sh: $*" >&2; exit 1; }

kernel=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
[[ -n $kernel ]] || die "no /boot/vmlinuz-* (apt-get install linux-image-amd64)"
kver=${kernel#/boot/vmlinuz-}
moddir=/lib/modules/$kver
[[ -f $moddir/modules.dep ]] || die "no $moddir/modules.dep for kernel $kver"
# (grep reads the whole list: grep -q would end the pipe early, and
# pipefail would take busybox's SIGPIPE for a failure)
[[ -x $busybox ]] && "$busybox" --list | grep -x httpd >/dev/null ||
	die "no static busybox with httpd at $busybox (apt-get install busybox-static)"
file -L "$busybox" 2>/dev/null | grep 'dynamically linked' >/dev/null &&
	die "$busybox is dynamically linked (apt-get install busybox-static)"

stamp="$kernel $(stat -c %s.%Y "$kernel" "$busybox" "$0" | tr '\n' ' ')"
mkdir -p "$cache"
if [[ -f $cache/stamp && $(cat "$cache/stamp") == "$stamp" && -f $cache/initrd.img ]]; then
	echo "$cache"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,www/cgi-bin,lib/modules,etc/acpi/PWRF}
cp "$busybox" "$root/bin/busybox"

# The network and disk drivers with their dependencies, in load order
# (modules.dep lists each module's dependencies, the deepest last).
want=(kernel/drivers/virtio/virtio_pci.ko kernel/drivers/net/virtio_net.ko kernel/drivers/block/virtio_blk.ko
	kernel/drivers/acpi/button.ko kernel/drivers/input/evdev.ko)
order=()
add_mod() {
	local m=$1 dep deps
	for dep in "${order[@]}"; do [[ $dep == "$m" ]] && return 0; done
	deps=$(awk -v m="$m:" '$1 == m { $1 = ""; print }' "$moddir/modules.dep")
	local rev=()
	for dep in $deps; do rev=("$dep" "${rev[@]}"); done
	for dep in "${rev[@]}"; do add_mod "$dep"; done
	order+=("$m")
}
for m in "${want[@]}"; do add_mod "$m"; done
: >"$root/lib/modules/order"
for m in "${order[@]}"; do
	cp "$moddir/$m" "$root/lib/modules/"
	basename "$m" >>"$root/lib/modules/order"
done

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m 2>/dev/null; done
# The ACPI power button (libvirt's graceful shutdown) powers the guest
# off; acpid starts before the network, so a guest that answers ping
# hears the button.
acpid -c /etc/acpi -l /tmp/acpid.log
ip=""
for arg in $(cat /proc/cmdline); do
	case $arg in pl.ip=*) ip=${arg#pl.ip=} ;; esac
done
cat /proc/sys/kernel/random/boot_id >/tmp/boot_id
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ip link set lo up
ip link set eth0 up
[ -n "$ip" ] && ip addr add "$ip" dev eth0
echo "pl-guest: up, eth0 $ip, boot_id $(cat /tmp/boot_id)" >/dev/console
httpd -p 80 -h /www
while :; do
	echo "pl-guest: uptime $(cut -d' ' -f1 /proc/uptime)" >/dev/console
	sleep 1
done
INIT
chmod 755 "$root/init"
cat >"$root/www/cgi-bin/uptime" <<'CGI'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
echo "$(cut -d' ' -f1 /proc/uptime) $(cat /tmp/boot_id)"
CGI
chmod 755 "$root/www/cgi-bin/uptime"
cat >"$root/etc/acpi/PWRF/00000080" <<'PWR'
#!/bin/sh
echo "pl-guest: power button, powering off" >/dev/console
poweroff -f
PWR
chmod 755 "$root/etc/acpi/PWRF/00000080"

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.img"
cp "$kernel" "$cache/vmlinuz.new" && mv "$cache/vmlinuz.new" "$cache/vmlinuz"
mv "$work/initrd.img" "$cache/initrd.img"
echo "$stamp" >"$cache/stamp"
echo "$cache"
