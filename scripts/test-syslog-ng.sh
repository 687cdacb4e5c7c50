#!/usr/bin/env bash
# Checks examples/shippers/syslog-ng.conf for real: syslog-ng (Debian syslog-ng-core) tails an NDJSON file
# of Windows events and posts them to `dcomhunt serve`; the alerts stored must equal what `dcomhunt scan`
# finds on the same file. Needs syslog-ng on PATH and a built CLI (npm run build).
# Usage: scripts/test-syslog-ng.sh [EVENTS.ndjson]   (default: the emulated estate as evtx_dump NDJSON)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v syslog-ng >/dev/null || { echo "syslog-ng not installed (apt-get install syslog-ng-core syslog-ng-mod-http)" >&2; exit 2; }
tmp=$(mktemp -d)
serve_pid=""; sng_pid=""
cleanup() {
  [ -n "$sng_pid" ] && kill "$sng_pid" 2>/dev/null || true
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
events=${1:-}
if [ -z "$events" ]; then
  events="$tmp/events.ndjson"
  node bin/dcomhunt.js emulate all --noise 500 --format ndjson -o "$events"
fi
token=$(cat /proc/sys/kernel/random/uuid)
read_token=$(cat /proc/sys/kernel/random/uuid)
printf '%s\n%s read\n' "$token" "$read_token" > "$tmp/tokens"
node bin/dcomhunt.js serve --listen 127.0.0.1:0 --data "$tmp/data" --tokens "$tmp/tokens" --no-stdout --idle-flush 3 2> "$tmp/serve.err" &
serve_pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/serve.err" && break; sleep 0.2; done
url=$(grep -o 'http://[^ ]*' "$tmp/serve.err")
sed -e "s#@EVENTS_FILE@#$events#" -e "s#@HEC_URL@#$url#" -e "s#@HEC_TOKEN@#$token#" \
  examples/shippers/syslog-ng.conf > "$tmp/syslog-ng.conf"
syslog-ng --foreground --no-caps -f "$tmp/syslog-ng.conf" -R "$tmp/persist" -p "$tmp/sng.pid" -c "$tmp/sng.ctl" 2> "$tmp/sng.err" &
sng_pid=$!
expected=$(node bin/dcomhunt.js scan "$events" -f ndjson -q | wc -l)
lines=$(wc -l < "$events")
# Wait until every line was taken (metrics) and the idle flush has run.
for _ in $(seq 300); do
  kill -0 "$sng_pid" 2>/dev/null || { echo "syslog-ng stopped:" >&2; cat "$tmp/sng.err" >&2; exit 1; }
  m=$(curl -s -H "Authorization: Splunk $read_token" "$url/metrics")
  got=$(echo "$m" | awk '/^dcomhunt_hec_events_total /{print $2}')
  [ "${got:-0}" -ge "$lines" ] && break
  sleep 0.5
done
sleep 5
stored=$(curl -s -H "Authorization: Splunk $read_token" "$url/alerts" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).count))')
echo "syslog-ng -> dcomhunt serve: $got of $lines events taken; $stored alerts stored; scan finds $expected"
[ "$got" -eq "$lines" ] && [ "$stored" -eq "$expected" ] || { cat "$tmp/sng.err" >&2; exit 1; }
echo "OK"
