#!/usr/bin/env bash
# Settlement throughput on a campaign with N pledges (default 100 000), on PostgreSQL and SQLite.
#
#   bash bench/settlement.sh [pledges=100000] [postgres admin URL]
#
# Seeds a funded-to-be campaign past its deadline with N active pledges from N backers (all
# `pm_card_visa`), then runs `crowdfund settle` until it answers `more: false`, with the default
# bounds (500 per batch, 10 s budget per pass). Reports passes, wall time, pledges/s, what the
# first pass charged (it also closes the campaign, and starts on an empty ledger), the longest
# pass, and peak RSS of any pass (/usr/bin/time). Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
admin_url=${2:-postgres://postgres@127.0.0.1:5432/postgres}
base=${admin_url%/*}
cargo build --quiet --release
bin=$PWD/target/release/crowdfund
scratch=$(mktemp -d)
db=crowdfund_settle_$$
trap 'rm -rf "$scratch"; psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }

seed_sql() { # $1 = generator of 1..n (backend specific)
  cat <<SQL
INSERT INTO users (email, display_name, password_hash, role, created_at, updated_at)
  VALUES ('creator@example.com', 'Creator', 'x', 'user', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
INSERT INTO campaigns (owner_id, slug, title, blurb, description, category, currency, goal_minor, duration_days,
                       status, launched_at, deadline, pledged_minor, backer_count, created_at, updated_at)
  VALUES (1, 'bench', 'Bench', '', 'd', 'games', 'USD', 100, 30, 'live', '2026-01-01 00:00:00',
          '2026-01-31 00:00:00', $n * 2500, $n, '2026-01-01 00:00:00', '2026-01-01 00:00:00');
$1
SQL
}

pg_gen="INSERT INTO users (email, display_name, password_hash, role, created_at, updated_at)
  SELECT 'b' || i || '@example.com', 'Backer ' || i, 'x', 'user', '2026-01-01', '2026-01-01' FROM generate_series(1, $n) i;
INSERT INTO pledges (campaign_id, backer_id, amount_minor, status, payment_method, created_at, updated_at)
  SELECT 1, 1 + i, 2500, 'active', 'pm_card_visa', '2026-01-02', '2026-01-02' FROM generate_series(1, $n) i;
ANALYZE;"
sqlite_gen="WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $n)
  INSERT INTO users (email, display_name, password_hash, role, created_at, updated_at)
  SELECT 'b' || i || '@example.com', 'Backer ' || i, 'x', 'user', '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM s;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $n)
  INSERT INTO pledges (campaign_id, backer_id, amount_minor, status, payment_method, created_at, updated_at)
  SELECT 1, 1 + i, 2500, 'active', 'pm_card_visa', '2026-01-02 00:00:00', '2026-01-02 00:00:00' FROM s;"

run() { # $1 = backend, $2 = DATABASE_URL; prints a table row
  local passes=0 longest=0 peak=0 first=0 start end t0 t1 ms rss more
  DATABASE_URL="$2" "$bin" migrate >/dev/null
  if [ "$1" = postgres ]; then seed_sql "$pg_gen" | psql -q "$2" >/dev/null
  else seed_sql "$sqlite_gen" | sqlite3 "${2#sqlite://}"; fi
  start=$(date +%s%3N)
  while :; do
    t0=$(date +%s%3N)
    DATABASE_URL="$2" RUST_LOG=warn /usr/bin/time -f '%M' -o "$scratch/rss" "$bin" settle > "$scratch/summary.json" 2>/dev/null
    t1=$(date +%s%3N)
    passes=$((passes + 1)); ms=$((t1 - t0)); rss=$(tail -1 "$scratch/rss")
    [ "$ms" -gt "$longest" ] && longest=$ms
    [ "$rss" -gt "$peak" ] && peak=$rss
    more=$(grep -o '"more": [a-z]*' "$scratch/summary.json" | awk '{print $2}')
    [ "$passes" = 1 ] && first=$(grep -o '"collected": [0-9]*' "$scratch/summary.json" | awk '{print $2}')
    [ "$more" = false ] && break
  done
  end=$(date +%s%3N)
  awk -v b="$1" -v n="$n" -v p="$passes" -v ms=$((end - start)) -v l="$longest" -v kib="$peak" \
    -v f="$first" 'BEGIN { printf "| %s | %d | %d | %.1f | %.0f | %d | %.1f | %.1f |\n", b, n, p, ms / 1000, n / (ms / 1000), f, l / 1000, kib / 1024 }'
}

echo "| backend | pledges | passes | wall time (s) | pledges/s | charged by the first pass | longest pass (s) | peak RSS of a pass (MiB) |"
echo "|---|---|---|---|---|---|---|---|"
psql -q "$admin_url" -c "CREATE DATABASE $db"
run postgres "$base/$db"
run sqlite "sqlite://$scratch/bench.db"
