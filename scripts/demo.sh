#!/usr/bin/env bash
# The README's first command: builds berth, makes the demo image (offline, from Debian's
# busybox-static) and a few containers to look at, then opens the console on them.
# Run it again at any time: what exists is reused. `berth rm -f $(berth ps -aq -f
# name=demo-)` removes the demo containers.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build --release --locked
berth=$PWD/target/release/berth

"$berth" demo

# demo NAME RUN-ARGS...: a running container NAME, created the first time.
demo() {
    local name=$1
    shift
    if [ "$("$berth" inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ]; then
        return
    fi
    if "$berth" inspect "$name" >/dev/null 2>&1; then
        "$berth" start "$name" >/dev/null
    else
        "$berth" run -d --name "$name" "$@" >/dev/null
    fi
    echo "container $name is running"
}

demo demo-counter busybox sh -c 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done'
# A demo-web made by an older berth, before bridge networking, has no published port.
if "$berth" inspect demo-web >/dev/null 2>&1 &&
    ! "$berth" inspect -f '{{json .HostConfig.PortBindings}}' demo-web | grep -q 8080; then
    "$berth" rm -f demo-web >/dev/null
fi
demo demo-web -p 8080 -v demo-site:/www -e GREETING=hello busybox sh -c \
    'echo "<h1>$GREETING from berth</h1>" > /www/index.html; httpd -f -v -p 8080 -h /www & while true; do wget -q -O /dev/null http://127.0.0.1:8080/ 2>&1; echo "GET / 200"; sleep 2; done'
if url=$("$berth" port demo-web 8080 2>/dev/null | head -n 1) && [ -n "$url" ]; then
    echo "demo-web answers on http://${url/0.0.0.0/127.0.0.1}/"
fi
demo demo-worker -m 64m --cpus 0.5 busybox sh -c \
    'n=0; while true; do n=$((n+1)); i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; echo "batch $n done"; echo "warning: batch $n was slow" >&2; sleep 1; done'
demo demo-shell -it busybox sh
# One that has finished, for the exited state and its logs.
if ! "$berth" inspect demo-once >/dev/null 2>&1; then
    "$berth" run --name demo-once busybox sh -c 'echo "ran once at $(date)"; exit 3' || true
fi

if [ -t 0 ] && [ -t 1 ]; then
    exec "$berth"
fi
echo
"$berth" ps -a
echo
echo "No terminal here: run $berth (no arguments) in a terminal to open the console."
