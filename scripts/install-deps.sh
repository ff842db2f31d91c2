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

# The API tests drive `berth serve` with the docker CLI (the machine ships a static
# 28.x one in /usr/local/bin; elsewhere Debian's docker.io brings one) and docker-py.
if ! command -v docker >/dev/null 2>&1; then
    echo "install-deps: installing Debian's docker.io for its docker CLI"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
if ! python3 -c 'import docker' >/dev/null 2>&1; then
    echo "install-deps: installing docker-py (PyPI: docker)"
    python3 -m pip install -q docker ||
        python3 -m pip install -q --break-system-packages docker
fi
