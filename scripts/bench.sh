#!/usr/bin/env bash
# Benchmarks berth next to Docker and Podman (when they are installed and running; see
# ../shared/peers/setup.sh). Prints a table of medians in ms. Not a test: numbers go into
# docs/PERFORMANCE.md by hand, with the machine they came from.
#
#   bash scripts/bench.sh            RUNS=15 bash scripts/bench.sh
#   DEBIAN_ARCHIVE=path/to/debian-docker-archive.tar.gz bash scripts/bench.sh
#   bash scripts/bench.sh console   only the console's idle benchmark (IDLE=60 CONTAINERS=50)
#   BERTH=path/to/berth bash ...    use that binary instead of building a release one
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10}
FIX=tests/fixtures
DEBIAN_ARCHIVE=${DEBIAN_ARCHIVE:-../shared/fixtures/debian-docker-archive.tar.gz}
if [ -z "${BERTH:-}" ]; then
  cargo build --release --locked -q
  BERTH=${CARGO_TARGET_DIR:-$PWD/target}/release/berth
fi
WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
# The default layout: data on the disk (/var/lib/berth), runtime files (bundles, the
# runtime's state, sockets) on tmpfs (/run/berth). With --root both would be on the
# disk, so ROOT/run points into /dev/shm.
RUNDIR=$(mktemp -d /dev/shm/berth-bench-run.XXXXXX)
mkdir -p "$WORK/root" && ln -s "$RUNDIR" "$WORK/root/run"
# The root's bridges and nftables table live on the host: remove them too.
trap '$BERTH --root "$WORK/root" __network-teardown >/dev/null 2>&1 || true; rm -rf "$WORK" "$RUNDIR"' EXIT
B="$BERTH --root $WORK/root"

# ---- the console idle (issue: console, item 10). Targets with 50 running containers,
# idle for a minute: console CPU ≤ 0.5 % of a core, engine side ≤ 1 %, RSS ≤ 20 MB.
# The console runs in a private tmux server at 160x45; CPU is read from /proc.
console_idle() {
  local n=${CONTAINERS:-50} idle=${IDLE:-60} sock="berth-bench-$$" hz pid mons i
  command -v tmux >/dev/null || { echo "the console benchmark needs tmux (apt-get install tmux)" >&2; return 1; }
  $B load -q -i $FIX/busybox-docker-archive.tar >/dev/null
  for i in $(seq "$n"); do $B run -d --network none --name "bench-idle-$i" busybox sleep 3600 >/dev/null; done
  local t0 t1 first
  t0=$(date +%s%N)
  tmux -L "$sock" -f /dev/null new-session -d -s idle -x 160 -y 45 "${BENCH_ENV:-} exec $B"
  # First frame: until the pane shows the header (tmux's own start and capture polling
  # included, so this is an upper bound).
  until tmux -L "$sock" capture-pane -p -t idle 2>/dev/null | grep -q "1 Containers"; do :; done
  t1=$(date +%s%N); first=$(( (t1 - t0) / 100000 ))
  sleep 5 # loads and stats samples
  pid=$(tmux -L "$sock" list-panes -t idle -F '#{pane_pid}')
  mons=$(pgrep -f -- "--root $WORK/root __monitor" || true)
  hz=$(getconf CLK_TCK)
  # utime + stime of a set of pids, in clock ticks
  cputicks() { local p t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
  local c0 m0 c1 m1
  c0=$(cputicks "$pid"); m0=$(cputicks $mons)
  sleep "$idle"
  c1=$(cputicks "$pid"); m1=$(cputicks $mons)
  local rss; rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  row "console idle, $n containers, ${idle}s: CPU % of a core" "$(awk -v d=$((c1 - c0)) -v hz="$hz" -v s="$idle" 'BEGIN {printf "%.2f", d / hz / s * 100}')" - -
  row "  monitors (engine side), all $n: CPU %" "$(awk -v d=$((m1 - m0)) -v hz="$hz" -v s="$idle" 'BEGIN {printf "%.2f", d / hz / s * 100}')" - -
  row "  console RSS (MB)" "$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')" - -
  row "  first frame after start, in tmux (ms)" "$(awk -v d="$first" 'BEGIN {printf "%.1f", d / 10}')" - -
  tmux -L "$sock" kill-server >/dev/null 2>&1 || true
  for i in $(seq "$n"); do $B rm -f "bench-idle-$i" >/dev/null 2>&1 || true; done
}

have_docker=0; docker info >/dev/null 2>&1 && have_docker=1
have_podman=0; command -v podman >/dev/null 2>&1 && podman info >/dev/null 2>&1 && have_podman=1

now() { date +%s%N; }
# median of N runs of a shell command, in ms (setup runs before each, untimed)
median() { # SETUP CMD
  local setup=$1 cmd=$2 i t0 samples=()
  for ((i = 0; i < RUNS; i++)); do
    eval "$setup" >/dev/null 2>&1 || true
    t0=$(now); eval "$cmd" >/dev/null 2>&1; samples+=($(( ($(now) - t0) / 1000 )))
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'
}
row() { printf '%-44s %10s %10s %10s\n' "$@"; }
if [ "${1:-}" = console ]; then
  row "workload" berth docker podman
  console_idle
  exit 0
fi

row "workload (median ms)" berth docker podman
row "--------------------------------------------" ---------- ---------- ----------
d=-; p=-
[ $have_docker = 1 ] && d=$(median "docker rmi -f busybox:latest" "docker load -i $FIX/busybox-docker-archive.tar")
[ $have_podman = 1 ] && p=$(median "podman rmi -f busybox:latest" "podman load -i $FIX/busybox-docker-archive.tar")
row "load busybox docker-archive (2 MB)" "$(median "$B rmi -f busybox" "$B load -i $FIX/busybox-docker-archive.tar")" "$d" "$p"
row "load busybox OCI archive (gzip layer)" "$(median "$B rmi -f busybox" "$B load -i $FIX/busybox-oci-archive.tar")" - -
$B load -q -i $FIX/busybox-docker-archive.tar >/dev/null
d=-; p=-
[ $have_docker = 1 ] && d=$(median : "docker save -o $WORK/d.tar busybox")
[ $have_podman = 1 ] && p=$(median : "podman save -o $WORK/p.tar busybox")
row "save busybox" "$(median : "$B save -o $WORK/b.tar busybox")" "$d" "$p"
d=-; p=-
[ $have_docker = 1 ] && d=$(median : "docker images")
[ $have_podman = 1 ] && p=$(median : "podman images")
row "images" "$(median : "$B images")" "$d" "$p"
d=-; p=-
[ $have_docker = 1 ] && d=$(median : "docker image inspect busybox")
[ $have_podman = 1 ] && p=$(median : "podman image inspect busybox")
row "image inspect" "$(median : "$B image inspect busybox")" "$d" "$p"
if [ -f "$DEBIAN_ARCHIVE" ]; then
  # Five loads of 117 MB are enough; the rows after it get RUNS again.
  RUNS_SAVED=$RUNS; RUNS=$(( RUNS < 5 ? RUNS : 5 ))
  d=-; p=-
  [ $have_docker = 1 ] && d=$(median "docker rmi -f debian:bookworm" "docker load -i $DEBIAN_ARCHIVE")
  [ $have_podman = 1 ] && p=$(median "podman rmi -f debian:bookworm" "podman load -i $DEBIAN_ARCHIVE")
  row "load debian:bookworm (gzip archive, 117 MB)" "$(median "$B rmi -f debian:bookworm" "$B load -i $DEBIAN_ARCHIVE")" "$d" "$p"
  RUNS=$RUNS_SAVED
fi

# ---- registry (issue: registries). Target: pull debian:bookworm incl. unpack ≤ 1.2 s.
# A private docker-registry on a free port; each timed pull goes into a fresh root.
if [ -f "$DEBIAN_ARCHIVE" ] && command -v docker-registry >/dev/null 2>&1; then
  REG_PORT=$((20000 + RANDOM % 20000))
  REG=127.0.0.1:$REG_PORT
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
    "$WORK/registry" "$REG" >"$WORK/registry.yml"
  docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
  REG_PID=$!
  # Replaces the trap above: keep its network teardown.
  trap 'kill $REG_PID 2>/dev/null; $BERTH --root "$WORK/root" __network-teardown >/dev/null 2>&1 || true; rm -rf "$WORK" "$RUNDIR"' EXIT
  for _ in $(seq 50); do curl -fs "http://$REG/v2/" >/dev/null && break; sleep 0.1; done
  $B load -q -i "$DEBIAN_ARCHIVE" >/dev/null
  $B tag debian:bookworm "$REG/debian:bookworm"
  $B push -q "$REG/debian:bookworm" >/dev/null
  $B tag busybox:latest "$REG/busybox:latest"
  $B push -q "$REG/busybox:latest" >/dev/null
  P="$BERTH --root $WORK/pull"
  RUNS_SAVED=$RUNS; RUNS=$(( RUNS < 5 ? RUNS : 5 ))
  d=-; p=-
  [ $have_docker = 1 ] && d=$(median "docker rmi -f $REG/busybox:latest" "docker pull $REG/busybox:latest")
  [ $have_podman = 1 ] && p=$(median "podman rmi -f $REG/busybox:latest" "podman pull --tls-verify=false $REG/busybox:latest")
  row "pull busybox from a local registry" "$(median "rm -rf $WORK/pull" "$P pull $REG/busybox:latest")" "$d" "$p"
  d=-; p=-
  [ $have_docker = 1 ] && d=$(median "docker rmi -f $REG/debian:bookworm" "docker pull $REG/debian:bookworm")
  [ $have_podman = 1 ] && p=$(median "podman rmi -f $REG/debian:bookworm" "podman pull --tls-verify=false $REG/debian:bookworm")
  row "pull debian:bookworm incl. unpack (50 MB gz)" "$(median "rm -rf $WORK/pull" "$P pull $REG/debian:bookworm")" "$d" "$p"
  RUNS=$RUNS_SAVED
  rm -rf "$WORK/pull"
fi

# ---- containers (issue: runtime). Targets: run --rm ≤ 15 ms, 20 detached ≤ 1 s,
# logs of 1e6 lines ≤ 0.4 s, logs --tail 10 ≤ 3 ms.
d=-; p=-
[ $have_docker = 1 ] && d=$(median : "docker run --rm --network none busybox true")
[ $have_podman = 1 ] && p=$(median : "podman run --rm --network none busybox true")
row "run --rm --network none busybox true" "$(median : "$B run --rm --network none busybox true")" "$d" "$p"
# ---- the Docker API (issue 7). Target: docker CLI -> berth serve run --rm ≤ 60 ms
# (docker CLI -> dockerd measured at 307 ms, -> podman's service at 522 ms).
if command -v docker >/dev/null 2>&1; then
  $BERTH --root "$WORK/root" serve -H "unix://$WORK/api.sock" 2>/dev/null &
  serve_pid=$!
  for _ in $(seq 100); do [ -S "$WORK/api.sock" ] && break; sleep 0.05; done
  d=-
  [ $have_docker = 1 ] && d=$(median : "docker run --rm busybox true")
  row "docker CLI: run --rm busybox true" "$(median : "DOCKER_HOST=unix://$WORK/api.sock docker run --rm busybox true")" "$d" -
  kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
fi
twenty() { # ENGINE-CMD
  local e=$1 ids i
  ids=$(for i in $(seq 20); do $e create --network none busybox sleep 300; done)
  for i in $ids; do $e start "$i"; done
  for i in $ids; do $e stop -t 0 "$i"; done
  for i in $ids; do $e rm "$i"; done
}
d=-; p=-
[ $have_docker = 1 ] && d=$(RUNS=3 median : "twenty docker")
[ $have_podman = 1 ] && p=$(RUNS=3 median : "twenty podman")
row "20 detached: create+start+stop+rm" "$(RUNS=3 median : "twenty '$B'")" "$d" "$p"
$B rm -f berth-bench-logs >/dev/null 2>&1 || true
$B run --name berth-bench-logs --network none busybox seq 1 1000000 >/dev/null
row "logs of 1e6 lines" "$(median : "$B logs berth-bench-logs")" - -
row "logs --tail 10 of that log" "$(median : "$B logs --tail 10 berth-bench-logs")" - -
$B rm -f berth-bench-logs >/dev/null


# ---- networking (issue: network). Targets: run --rm on the default bridge ≤ 25 ms,
# run -d -p until the first successful curl ≤ 40 ms.
d=-; p=-
[ $have_docker = 1 ] && d=$(median : "docker run --rm busybox true")
[ $have_podman = 1 ] && p=$(median : "podman run --rm busybox true")
row "run --rm busybox true (default bridge)" "$(median : "$B run --rm busybox true")" "$d" "$p"
mkdir -p "$WORK/www" && echo bench > "$WORK/www/index.html"
PORT=18473
first_curl() { # ENGINE-CMD
  $1 run -d --name berth-bench-web -p $PORT:80 -v "$WORK/www:/www" busybox httpd -f -p 80 -h /www &&
    until curl -sf -o /dev/null "http://127.0.0.1:$PORT/"; do :; done
}
d=-; p=-
[ $have_docker = 1 ] && d=$(median "docker rm -f berth-bench-web" "first_curl docker")
[ $have_podman = 1 ] && p=$(median "podman rm -f berth-bench-web" "first_curl podman")
row "run -d -p until the first curl answers" "$(median "$B rm -f berth-bench-web" "first_curl '$B'")" "$d" "$p"
$B rm -f berth-bench-web >/dev/null 2>&1 || true

console_idle
