#!/usr/bin/env bash
# libvirt-host.sh turns the e2e host it runs in into a libvirt host of the
# VM tests and execs libvirtd. The harness runs it inside the host (its
# network and mount namespaces: its own /run, a fresh tmpfs, where no
# D-Bus or systemd socket reaches libvirtd) as
#   unshare --uts -- libvirt-host.sh
# so the host name below is libvirtd's own; every mount below is the
# host's (the agent, in the same mount namespace, reaches libvirtd at
# qemu:///system). Its input is the environment only (no arguments):
#   PL_VM_NAME    host name (UTS namespace; libvirt refuses a migration to
#                 a host with its own name)
#   PL_VM_ADDR    the address libvirtd listens on and migrates over
#   PL_VM_UUID    libvirt's host UUID (it must differ between the hosts)
#   PL_VM_DIR     this host's private directory: etc, lib, cache, log and
#                 local (the host's local storage), and hosts (/etc/hosts)
#   PL_VM_SHARED  the directory every host shares (the "shared storage")
# Inside, /etc/libvirt, /var/lib/libvirt, /var/cache/libvirt and
# /var/log/libvirt are this host's, the shared storage is mounted at
# /mnt/pl-vm/shared and the local storage at /mnt/pl-vm/local. A host
# that booted again (after a crash) runs it again: the new mounts cover
# the old ones.
set -euo pipefail
: "${PL_VM_NAME:?}" "${PL_VM_ADDR:?}" "${PL_VM_UUID:?}" "${PL_VM_DIR:?}" "${PL_VM_SHARED:?}"

hostname "$PL_VM_NAME"
mkdir -p /run/libvirt /run/lock
for d in etc lib cache log local; do mkdir -p "$PL_VM_DIR/$d"; done
mount --bind "$PL_VM_DIR/etc" /etc/libvirt
mount --bind "$PL_VM_DIR/lib" /var/lib/libvirt
mount --bind "$PL_VM_DIR/cache" /var/cache/libvirt
mount --bind "$PL_VM_DIR/log" /var/log/libvirt
mkdir -p /var/lib/libvirt/qemu /var/cache/libvirt/qemu /var/log/libvirt/qemu

# The cluster's node names (a migration's target uri names the node)
# resolve to the hosts' addresses on this host.
if [ -f "$PL_VM_DIR/hosts" ]; then mount --bind "$PL_VM_DIR/hosts" /etc/hosts; fi

mount -t tmpfs -o mode=0755 pl-vm-mnt /mnt
mkdir -p /mnt/pl-vm/shared /mnt/pl-vm/local
mount --bind "$PL_VM_DIR/local" /mnt/pl-vm/local
# The shared storage: a FUSE mount of the common directory. libvirt
# (virFileIsSharedFS, util/virfile.c) treats a FUSE mount as shared only
# when its type in /proc/mounts is fuse.glusterfs or fuse.quobyte, and
# refuses a live migration of a disk on any other local file system
# ("migration without shared storage is unsafe"); the subtype option
# gives bindfs's mount the type fuse.glusterfs. bindfs stays in the
# foreground, a child of this host, killed with it.
bindfs -f -o subtype=glusterfs,fsname=pl-vm-shared "$PL_VM_SHARED" /mnt/pl-vm/shared &
for _ in $(seq 100); do
	grep -q ' /mnt/pl-vm/shared fuse.glusterfs ' /proc/self/mounts && break
	sleep 0.05
done
grep -q ' /mnt/pl-vm/shared fuse.glusterfs ' /proc/self/mounts || {
	echo "libvirt-host.sh: bindfs did not mount /mnt/pl-vm/shared" >&2
	exit 1
}

# TCP without authentication: the test network is a private bridge
# between namespaces this test created, reachable from nowhere else, and
# the hosts' libvirtds must reach each other for peer-to-peer migration.
# Never do this on a real network (use TLS, listen_tls with certificates).
cat >/etc/libvirt/libvirtd.conf <<CONF
listen_tls = 0
listen_tcp = 1
listen_addr = "$PL_VM_ADDR"
auth_tcp = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_dir = "/run/libvirt"
host_uuid = "$PL_VM_UUID"
log_outputs = "3:stderr"
keepalive_interval = 2
keepalive_count = 3
CONF
# No cgroups (the hosts' daemons would collide in the one cgroup tree), no
# virtlogd (stdio to a file), no private /dev namespaces, no security
# driver or ownership changes (everything runs as root in the test).
cat >/etc/libvirt/qemu.conf <<CONF
cgroup_controllers = [ ]
migration_host = "$PL_VM_ADDR"
migration_address = "$PL_VM_ADDR"
stdio_handler = "file"
namespaces = [ ]
security_driver = "none"
dynamic_ownership = 0
remember_owner = 0
user = "root"
group = "root"
CONF
exec libvirtd --listen --pid-file /run/libvirtd.pid --config /etc/libvirt/libvirtd.conf
