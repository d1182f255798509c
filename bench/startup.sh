#!/usr/bin/env bash
# Cold start to ready, and idle memory, of the release binary on SQLite and PostgreSQL.
#
#   bash bench/startup.sh [runs=5] [postgres admin URL]
#
# Each run starts `crowdfund serve` on a fresh database (new SQLite file / new PostgreSQL
# database, so migrations run too), polls GET /health/ready every 5 ms, and records the time
# from spawn to the first 200; then reads VmRSS after 2 s idle. Prints a Markdown table of
# medians.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
admin_url=${2:-postgres://postgres@127.0.0.1:5432/postgres}
base=${admin_url%/*}
port=18090
cargo build --quiet --release
bin=$PWD/target/release/crowdfund
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

now_ms() { date +%s%3N; }

measure() { # $1 = DATABASE_URL; prints "ms kib"
  local start pid ready rss
  start=$(now_ms)
  (cd "$scratch" && DATABASE_URL="$1" BIND_ADDR=127.0.0.1:$port RUST_LOG=warn exec "$bin" serve) \
    >>"$scratch/server.log" 2>&1 &
  pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$port/health/ready"; do sleep 0.005; done
  ready=$(( $(now_ms) - start ))
  sleep 2
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" || true
  echo "$ready $rss"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A ready rss
for backend in sqlite postgres; do
  : > "$scratch/$backend"
  for i in $(seq 1 "$runs"); do
    if [ "$backend" = sqlite ]; then
      url="sqlite://$scratch/run$i.db"
    else
      db=crowdfund_startup_$$_$i
      psql -q "$admin_url" -c "CREATE DATABASE $db"
      url="$base/$db"
    fi
    measure "$url" >> "$scratch/$backend"
    [ "$backend" = postgres ] && psql -q "$admin_url" -c "DROP DATABASE $db WITH (FORCE)"
  done
  ready[$backend]=$(awk '{print $1}' "$scratch/$backend" | median)
  rss[$backend]=$(awk '{print $2}' "$scratch/$backend" | median)
done

echo "| backend | cold start to /health/ready (ms, median of $runs, migrations included) | idle RSS (MiB) |"
echo "|---|---|---|"
for backend in sqlite postgres; do
  awk -v b="$backend" -v ms="${ready[$backend]}" -v kib="${rss[$backend]}" \
    'BEGIN { printf "| %s | %s | %.1f |\n", b, ms, kib / 1024 }'
done
