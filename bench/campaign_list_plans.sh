#!/usr/bin/env bash
# Query plans of the public campaign listing on PostgreSQL with 10 000 campaigns.
#
#   bash bench/campaign_list_plans.sh [postgres://postgres@127.0.0.1:5432/postgres]
#
# Creates a scratch database, applies the migrations with `crowdfund migrate`, seeds 10 000
# campaigns (80 % live, 15 categories, spread launch dates and totals), runs EXPLAIN ANALYZE on
# the exact statements the server sends (copied from PostgreSQL's statement log), and drops the
# database. Output: one plan per listing. Search (`q`) has its own: `cargo bench --bench search`.
set -euo pipefail
cd "$(dirname "$0")/.."
admin_url=${1:-postgres://postgres@127.0.0.1:5432/postgres}
db=crowdfund_plans_$$
base=${admin_url%/*}
psql -q "$admin_url" -c "CREATE DATABASE $db"
trap 'psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
cargo build --quiet --release
DATABASE_URL="$base/$db" ./target/release/crowdfund migrate >/dev/null

psql -q "$base/$db" <<'SQL'
INSERT INTO users (email, display_name, password_hash, role, created_at, updated_at)
SELECT 'creator' || i || '@example.com', 'Creator ' || i, 'x', 'user', now(), now()
FROM generate_series(1, 500) AS i;

INSERT INTO campaigns (owner_id, slug, title, blurb, description, category, currency, goal_minor,
                       duration_days, status, launched_at, deadline, pledged_minor, backer_count,
                       ranked_pledged_minor, ranked_backer_count, created_at, updated_at)
SELECT 1 + i % 500, 'campaign-' || i, 'Campaign ' || i || CASE WHEN i % 97 = 0 THEN ' solar lamp' ELSE '' END,
       'Blurb ' || i, 'Description', (ARRAY['art','comics','crafts','dance','design','fashion','film','food',
       'games','journalism','music','photography','publishing','technology','theater'])[1 + i % 15],
       'USD', 100000 + (i % 50) * 10000, 30,
       CASE WHEN i % 5 = 0 THEN (ARRAY['funded','failed','successful','canceled'])[1 + (i / 5) % 4] ELSE 'live' END,
       now() - (i || ' minutes')::interval, now() - (i || ' minutes')::interval + interval '30 days',
       (i * 7919) % 300000, (i * 31) % 500, (i * 7919) % 300000, (i * 31) % 500, now(), now()
FROM generate_series(1, 10000) AS i;
ANALYZE;
SQL

cols='"campaigns"."id", "campaigns"."owner_id", "campaigns"."slug", "campaigns"."title", "campaigns"."blurb", "campaigns"."description", "campaigns"."category", "campaigns"."currency", "campaigns"."goal_minor", "campaigns"."duration_days", "campaigns"."status", "campaigns"."launched_at", "campaigns"."deadline", "campaigns"."pledged_minor", "campaigns"."backer_count", "campaigns"."created_at", "campaigns"."updated_at", "users"."display_name"'
from='FROM ("campaigns" INNER JOIN "users" ON ("campaigns"."owner_id" = "users"."id"))'
explain() {
  printf '\n### %s\n\n```\n' "$1"
  psql -q -At "$base/$db" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING ON, SUMMARY ON) SELECT $cols $from $2"
  printf '```\n'
}
explain "newest (default)" "WHERE (\"campaigns\".\"status\" = 'live') ORDER BY \"campaigns\".\"launched_at\" DESC, \"campaigns\".\"id\" DESC LIMIT 21"
explain "newest, page 50 (keyset cursor)" "WHERE (((\"campaigns\".\"status\" = 'live') AND (\"campaigns\".\"launched_at\" <= now() - interval '1000 minutes')) AND ((\"campaigns\".\"launched_at\" < now() - interval '1000 minutes') OR (\"campaigns\".\"id\" < 1000))) ORDER BY \"campaigns\".\"launched_at\" DESC, \"campaigns\".\"id\" DESC LIMIT 21"
explain "ending_soon" "WHERE (\"campaigns\".\"status\" = 'live') ORDER BY \"campaigns\".\"deadline\" ASC, \"campaigns\".\"id\" ASC LIMIT 21"
explain "most_funded" "WHERE (\"campaigns\".\"status\" = 'live') ORDER BY ((campaigns.ranked_pledged_minor * 10000) / campaigns.goal_minor) DESC, \"campaigns\".\"id\" DESC LIMIT 21"
explain "most_backed" "WHERE (\"campaigns\".\"status\" = 'live') ORDER BY \"campaigns\".\"ranked_backer_count\" DESC, \"campaigns\".\"id\" DESC LIMIT 21"
explain "category=games" "WHERE ((\"campaigns\".\"status\" = 'live') AND (\"campaigns\".\"category\" = 'games')) ORDER BY \"campaigns\".\"launched_at\" DESC, \"campaigns\".\"id\" DESC LIMIT 21"
