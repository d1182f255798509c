#!/usr/bin/env bash
# Contract fuzzing: schemathesis against the OpenAPI document the server serves, with every
# phase (examples, coverage, fuzzing, stateful) and every check, as the creator, a backer, an
# admin and cron (tests/contract/schemathesis.toml says who calls what). Fails on any failure.
#
#   bash tests/contract/run.sh [sqlite|postgres]        (default sqlite)
#
# Settings: CONTRACT_SEED (default 20261122), CONTRACT_MAX_EXAMPLES per operation (default 50),
# PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres). Installs schemathesis into
# .venv if it is not there. Starts the debug build (`cargo build`) on a fresh database that it
# removes afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
backend=${1:-sqlite}
seed=${CONTRACT_SEED:-20261122}
examples=${CONTRACT_MAX_EXAMPLES:-50}
admin_url=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
schemathesis_version=4.32.5

if [ ! -x .venv/bin/schemathesis ] || ! .venv/bin/schemathesis --version | grep -q "$schemathesis_version"; then
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi
cargo build --quiet
bin=$root/target/debug/crowdfund

scratch=$(mktemp -d)
server=
db=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "$db" ]; then psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

case $backend in
  sqlite) export DATABASE_URL="sqlite://$scratch/contract.db" ;;
  postgres)
    db=crowdfund_contract_$$
    psql -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null
    export DATABASE_URL="${admin_url%/*}/$db" ;;
  *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
export BIND_ADDR=127.0.0.1:$port
export JWT_SECRET=contract-run-jwt-secret-0123456789abcdef
export CRON_SECRET=contract-run-cron-secret-0123456789
# Long enough for the whole run; the limiter would otherwise answer the fuzzer's logins 429.
export ACCESS_TOKEN_TTL_SECONDS=7200
export AUTH_RATE_LIMIT_PER_MINUTE=1000000 PLEDGE_CHANGE_RATE_LIMIT_PER_MINUTE=1000000
export MAIL_WORKER=off MAIL_DIR=$scratch/mail RUST_LOG=warn LOG_FORMAT=json
export MEDIA_STORE=file://$scratch/media MEDIA_UPLOADS_PER_HOUR=100000

"$bin" migrate >/dev/null
admin_password=contract-run-admin-password
CROWDFUND_ADMIN_PASSWORD=$admin_password "$bin" create-admin --email admin@example.com >/dev/null
"$bin" serve >"$scratch/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/health/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$base/health/ready" >/dev/null

# Exports CREATOR_TOKEN, BACKER_TOKEN and ADMIN_TOKEN for schemathesis.toml.
eval "$(CROWDFUND_BIN=$bin python3 tests/contract/seed.py "$base" admin@example.com "$admin_password")"

status=0
read -r -a CONTRACT_ARGS <<< "${CONTRACT_EXTRA_ARGS:-}"
.venv/bin/schemathesis --config-file tests/contract/schemathesis.toml run "$base/api-docs/openapi.json" \
  --checks all --exclude-checks ensure_resource_availability --seed "$seed" --max-examples "$examples" --workers 1 --no-color \
  --request-timeout 30 "${CONTRACT_ARGS[@]}" || status=$?
if ! kill -0 "$server" 2>/dev/null; then
  echo "the server died during the run; its log:" >&2
  cat "$scratch/server.log" >&2
  status=1
fi
# Errors of our own (a 500 logs one); actix's reports of unparsable requests are the fuzzer's.
errors='"level":"ERROR".*"target":"crowdfund'
if grep -q "$errors" "$scratch/server.log"; then
  echo "the server logged errors:" >&2
  grep "$errors" "$scratch/server.log" >&2
  status=1
fi
exit $status
