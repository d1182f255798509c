#!/usr/bin/env bash
# Peak memory of the release server while it refuses decompression bombs, beside what a real
# upload takes: VmHWM (the process's peak resident set) read from /proc after each step.
#
#   bash bench/media_memory.sh
#
# Starts `crowdfund serve` on a fresh SQLite file and file store, registers a creator with a
# draft, then uploads: a PNG declaring 100 000 × 100 000 pixels (10 times), a PNG declaring
# 8 000 × 8 000 pixels with almost no data (past MEDIA_MAX_PIXELS), and a real 6 000 × 4 000 JPEG.
# Prints a Markdown table of the peak after each step.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release
bin=$PWD/target/release/crowdfund
scratch=$(mktemp -d)
port=18093
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$scratch"' EXIT
api=http://127.0.0.1:$port

python3 - "$scratch" <<'PY'
import struct, sys, zlib, io
out = sys.argv[1]
def png(width, height, rows=b""):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
open(f"{out}/bomb.png", "wb").write(png(100_000, 100_000))
open(f"{out}/wide.png", "wb").write(png(8_000, 8_000))
# A real photo-sized image: 6 000 x 4 000 RGB, stored as a PNG of gradients (the server decodes
# every pixel of it).
w, h = 6_000, 4_000
row = lambda y: b"\x00" + bytes(((x * 7 + y) % 256 for x in range(w * 3)))
open(f"{out}/photo.png", "wb").write(png(w, h, b"".join(row(y % 64) for y in range(h))))
PY

(cd "$scratch" && DATABASE_URL="sqlite://$scratch/bench.db" BIND_ADDR=127.0.0.1:$port \
  MEDIA_STORE="file://$scratch/media" RUST_LOG=warn exec "$bin" serve) >"$scratch/server.log" 2>&1 &
pid=$!
until curl -fs -o /dev/null "$api/health/ready"; do sleep 0.05; done

token=$(curl -fs "$api/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery staple","display_name":"Bench"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
campaign=$(curl -fs "$api/api/v1/campaigns" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"title":"Bench","currency":"USD"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

peak() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }
upload() { # $1 = file; prints the status
  curl -s -o /dev/null -w '%{http_code}' "$api/api/v1/campaigns/$campaign/images" \
    -H "authorization: Bearer $token" -H 'content-type: image/png' --data-binary "@$scratch/$1"
}

echo "| step | answer | peak RSS (VmHWM) |"
echo "|---|---|---|"
echo "| started, one draft made | | $(( $(peak) / 1024 )) MiB |"
for _ in $(seq 1 10); do status=$(upload bomb.png); done
echo "| 10 × PNG declaring 100 000 × 100 000 ($(stat -c %s "$scratch/bomb.png") bytes) | $status | $(( $(peak) / 1024 )) MiB |"
status=$(upload wide.png)
echo "| PNG declaring 8 000 × 8 000 (64 Mpx, past MEDIA_MAX_PIXELS) | $status | $(( $(peak) / 1024 )) MiB |"
status=$(upload photo.png)
echo "| real 6 000 × 4 000 PNG ($(( $(stat -c %s "$scratch/photo.png") / 1024 )) KiB), decoded and re-encoded | $status | $(( $(peak) / 1024 )) MiB |"
