#!/usr/bin/env bash
# The README's first command: builds berth and shows it working on a demo image that
# berth builds itself, offline, from Debian's busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build --release --locked
berth=target/release/berth

run() {
    printf '\n\033[1m$ berth %s\033[0m\n' "$*"
    "$berth" "$@"
}

run demo
run images
run inspect -f '{{.Id}} {{json .Config.Cmd}} {{.Architecture}}' busybox
run history busybox
run tag busybox demo/web:v1
run images --format 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}'
printf '\n\033[1m$ berth save busybox | berth load\033[0m\n'
"$berth" save busybox | "$berth" load
run rmi demo/web:v1
run run --rm busybox sh -c 'echo "hello from a berth container: $(hostname), $(id -un)"'
run run -d --name berth-demo-counter busybox sh -c 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done' || true
sleep 2
run ps
run logs --tail 2 berth-demo-counter
run stats --no-stream
run rm -f berth-demo-counter
run system df
echo
echo "berth is at $PWD/$berth (state in /var/lib/berth; use --root DIR to keep it elsewhere)."
