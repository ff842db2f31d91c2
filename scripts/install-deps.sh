#!/usr/bin/env bash
# Installs what berth needs to build, run and test on Debian 12, as root. Idempotent.
# Used by the README's commands and by CI; nothing else needs to be installed by hand.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root (berth manages mounts, namespaces and cgroups)" >&2
    exit 1
fi

# busybox-static: the offline demo and test images; gcc/pkg-config/libseccomp-dev:
# crates that build C (SQLite, zstd, seccomp); tmux: the console smoke test;
# tini: its static build is the init for `run --init`; fonts-dejavu-core: the
# console's screenshots; nftables: bridge networking's NAT and filter rules; iproute2
# and util-linux (nsenter): the network tests; docker-registry, apache2-utils
# (htpasswd), openssl: the registry tests' local registries with basic auth and TLS.
packages=(busybox-static gcc libc6-dev make pkg-config libseccomp-dev curl ca-certificates tmux tini fonts-dejavu-core nftables iproute2 util-linux docker-registry apache2-utils openssl)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Rust: berth needs a current stable toolchain (Debian 12's own cargo is too old).
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
need_rust=1
if command -v cargo >/dev/null 2>&1; then
    minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
    [ "${minor:-0}" -ge 86 ] && need_rust=0
fi
if [ "$need_rust" = 1 ]; then
    echo "install-deps: installing the Rust toolchain with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
        sh -s -- -y --profile minimal --component clippy,rustfmt
fi

# Real Docker for the interop tests (tests/interop_docker.rs): docker.io brings dockerd
# 20.10 with containerd and runc (and a docker CLI where the machine has none; the API
# tests drive `berth serve` with it too); skopeo pushes OCI images. The tests start
# their own private dockerd, so installing must not start the host's: without systemd,
# the package's init script would, adding iptables rules and docker0. A policy-rc.d
# that refuses service starts is put in place for the install unless one exists.
interop=(docker.io skopeo)
missing=()
for p in "${interop[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing ${missing[*]} (no service is started)"
    policy=/usr/sbin/policy-rc.d
    own_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        own_policy=1
    fi
    status=0
    { apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
        status=$?
    if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi
    [ "$status" = 0 ] || exit "$status"
fi
if ! python3 -c 'import docker' >/dev/null 2>&1; then
    echo "install-deps: installing docker-py (PyPI: docker)"
    python3 -m pip install -q docker ||
        python3 -m pip install -q --break-system-packages docker
fi
