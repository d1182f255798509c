#!/usr/bin/env bash
# What a pledge's update of its campaign's totals costs on PostgreSQL after N earlier ones on
# the same campaign, without vacuum: with the schema as migrated (the listings' indexes on the
# ranked copies of the totals, so that most updates are HOT) and with migration 000009 reverted
# (the totals themselves indexed, so that no update is HOT).
#
#   bash bench/campaign_update.sh [updates=20000] [postgres admin URL]
#
# For each schema: a scratch database with 30 live campaigns, N updates of campaign 1 by
# pgbench (one client, the statement the pledge path runs, prepared), then one more under
# EXPLAIN (ANALYZE, BUFFERS); reports pgbench's rate, the HOT share of the updates, the size of
# the campaign table's indexes and the last update's buffers and time.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
admin_url=${2:-postgres://postgres@127.0.0.1:5432/postgres}
base=${admin_url%/*}
pgbench=${PGBENCH:-$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)}
cargo build --quiet --release
db=crowdfund_update_$$
trap 'psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
scratch=$(mktemp -d)

totals="pledged_minor = pledged_minor + 1000, backer_count = backer_count + 1"
ranked="ranked_pledged_minor = CASE WHEN abs(pledged_minor - ranked_pledged_minor + 1000) * 100 >= \
ranked_pledged_minor THEN pledged_minor + 1000 ELSE ranked_pledged_minor END, \
ranked_backer_count = CASE WHEN abs(backer_count - ranked_backer_count + 1) * 100 >= \
ranked_backer_count THEN backer_count + 1 ELSE ranked_backer_count END"
where="updated_at = CURRENT_TIMESTAMP WHERE id = 1 AND status = 'live' RETURNING id"

echo "| schema | updates before | pgbench updates/s | HOT updates | index size | last update: buffers | last update: ms |"
echo "|---|---|---|---|---|---|---|"
for schema in ranked totals-indexed; do
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  url="$base/$db"
  DATABASE_URL="$url" ./target/release/crowdfund migrate >/dev/null
  if [ "$schema" = ranked ]; then
    update="UPDATE campaigns SET $totals, $ranked, $where"
  else
    psql -q "$url" -f migrations/postgres/2026-11-23-000009_rank_campaigns_apart/down.sql
    update="UPDATE campaigns SET $totals, $where"
  fi
  psql -q "$url" <<'SQL'
INSERT INTO users (email, display_name, password_hash, role, created_at, updated_at)
SELECT 'u' || i || '@example.com', 'U' || i, 'x', 'user', now(), now() FROM generate_series(1, 30) i;
INSERT INTO campaigns (owner_id, slug, title, blurb, description, currency, goal_minor,
                       duration_days, status, launched_at, deadline, created_at, updated_at)
SELECT i, 'c' || i, 'Campaign ' || i, 'Blurb', repeat('d', 300), 'USD', 1000000, 30, 'live',
       now(), now() + interval '30 days', now(), now()
FROM generate_series(1, 30) i;
ANALYZE;
SQL
  echo "$update;" > "$scratch/update.sql"
  rate=$("$pgbench" -n -M prepared -c 1 -t "$n" -f "$scratch/update.sql" "$url" | sed -n 's/^tps = \([0-9]*\).*/\1/p')
  plan=$(psql -At "$url" -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) $update")
  buffers=$(echo "$plan" | grep -m1 "Buffers" | sed 's/^ *Buffers: //')
  ms=$(echo "$plan" | sed -n 's/^Execution Time: \(.*\) ms/\1/p')
  hot=$(psql -At "$url" -c "SELECT n_tup_hot_upd || ' of ' || n_tup_upd FROM pg_stat_user_tables WHERE relname = 'campaigns'")
  size=$(psql -At "$url" -c "SELECT pg_size_pretty(pg_indexes_size('campaigns'))")
  echo "| $schema | $n | $rate | $hot | $size | $buffers | $ms |"
done
