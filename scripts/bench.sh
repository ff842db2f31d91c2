#!/usr/bin/env bash
# Benchmarks berth next to Docker and Podman (when they are installed and running; see
# ../shared/peers/setup.sh). Prints a table of medians in ms. Not a test: numbers go into
# docs/PERFORMANCE.md by hand, with the machine they came from.
#
#   bash scripts/bench.sh            RUNS=15 bash scripts/bench.sh
#   DEBIAN_ARCHIVE=path/to/debian-docker-archive.tar.gz bash scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10}
FIX=tests/fixtures
DEBIAN_ARCHIVE=${DEBIAN_ARCHIVE:-../shared/fixtures/debian-docker-archive.tar.gz}
cargo build --release --locked -q
BERTH=$PWD/target/release/berth
WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
B="$BERTH --root $WORK/root"

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
  RUNS=$(( RUNS < 5 ? RUNS : 5 ))
  d=-; p=-
  [ $have_docker = 1 ] && d=$(median "docker rmi -f debian:bookworm" "docker load -i $DEBIAN_ARCHIVE")
  [ $have_podman = 1 ] && p=$(median "podman rmi -f debian:bookworm" "podman load -i $DEBIAN_ARCHIVE")
  row "load debian:bookworm (gzip archive, 117 MB)" "$(median "$B rmi -f debian:bookworm" "$B load -i $DEBIAN_ARCHIVE")" "$d" "$p"
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

