#!/usr/bin/env bash
# The body of scripts/bench.sh, run inside the private keyring session it sets up.
set -euo pipefail
runs=$1
root=$(pwd)
keyfob="$root/target/release/keyfob"
browser="$root/target/release/examples/browser"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# start_idp NAME CONFIG_JSON -> sets $issuer
start_idp() {
  echo "$2" > "$work/$1.json"
  IDP_IGNORE_STDIN=1 node tests/idp/server.mjs "$work/$1.json" > "$work/$1.ready" 2> "$work/$1.log" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/$1.ready" ] && break; sleep 0.1; done
  issuer=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).issuer)' "$work/$1.ready")
}

# link HOME ISSUER: adds the provider and links an account through the headless browser.
link() {
  KEYFOB_HOME=$1 "$keyfob" provider add local --issuer "$2" --client-id keyfob-native \
    --scopes "openid email profile offline_access" --param prompt=consent 2>/dev/null
  KEYFOB_HOME=$1 BROWSER=$browser KEYFOB_BROWSER_LOGIN=bench "$keyfob" link local >/dev/null 2>&1
}

# write_accounts FILE N: an accounts.json of N linked accounts of a provider "local", each
# token valid for an hour (metadata only: no secret is stored for them).
write_accounts() {
  node -e '
const n = Number(process.argv[2]), accounts = [];
for (let i = 0; i < n; i++) accounts.push({
  id: `local-${i.toString(16).padStart(10, "0")}`, provider: "local", issuer: "http://127.0.0.1:1",
  subject: `user${i}`, display_name: `user${i}@example.test`, email: `user${i}@example.test`,
  login: `user${i}`, scopes: ["openid", "email", "offline_access"],
  access_expires_at: new Date(Date.now() + 3600e3).toISOString(), has_refresh_token: true,
  refresh_expires_at: null, linked_at: new Date().toISOString(), refreshed_at: null, status: {state: "ok"}});
require("fs").writeFileSync(process.argv[1], JSON.stringify({schema: 1, accounts}));' "$1" "$2"
}

refreshes() { curl -s "$1/__test/stats" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token.refresh_token))'; }

# keeper_share: 2 hours of 5-minute tokens, compressed 50 times (6 s tokens, 144 s), with
# `keyfob keep` running and `keyfob token` called twice a second (asking for 1.2 s of
# validity, the default 60 s compressed alike). A call waits on the network only when it
# refreshes itself: the provider's refresh count minus the keeper's logged refreshes.
# Sets kept_calls, kept_waits and kept_refreshes.
keeper_share() {
  start_idp keeper '{"ttl": {"AccessToken": 6}}'
  local keeper_issuer=$issuer home="$work/keeper"
  link "$home" "$keeper_issuer"
  KEYFOB_HOME=$home "$keyfob" keep 2> "$work/keep.log" &
  local keep_pid=$!
  pids+=("$keep_pid")
  kept_calls=0
  local end=$((SECONDS + ${KEYFOB_BENCH_KEEP_SECONDS:-144}))
  while [ $SECONDS -lt $end ]; do
    KEYFOB_HOME=$home "$keyfob" token local --min-valid 1s > /dev/null
    kept_calls=$((kept_calls + 1))
    sleep 0.5
  done
  kill -TERM "$keep_pid"
  wait "$keep_pid"
  kept_refreshes=$(refreshes "$keeper_issuer")
  kept_waits=$((kept_refreshes - $(grep -c ': refreshed;' "$work/keep.log")))
}

echo "Preparing: local OpenID provider, linked accounts, gh configuration..." >&2

# 1. Cached token vs gh auth token.
start_idp cached '{}'
link "$work/cached" "$issuer"
token=$(KEYFOB_HOME="$work/cached" "$keyfob" token local)
mkdir -p "$XDG_CONFIG_HOME/gh"
# Debian's gh 2.23 keeps the token in hosts.yml: keyring storage arrived in gh 2.24.
printf 'github.com:\n    oauth_token: %s\n    user: bench\n    git_protocol: https\n' "$token" > "$XDG_CONFIG_HOME/gh/hosts.yml"
[ "$(gh auth token)" = "$token" ] || { echo "bench: gh auth token does not return the token" >&2; exit 1; }
KEYFOB_HOME="$work/cached" hyperfine -N --style none --warmup 10 --runs "$runs" \
  --export-json "$work/hot.json" "$keyfob token local" "gh auth token" >/dev/null

# Instructions that one cached `keyfob token` executes (callgrind counts them, so unlike
# wall time the figure hardly moves with the machine's load). The keyring daemon's own work
# is not counted: it runs in another process.
instructions() {
  KEYFOB_HOME="$work/cached" valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$1" \
    "$keyfob" token local > /dev/null 2> "$work/callgrind.$1.log"
  sed -n 's/^summary: //p' "$work/callgrind.$1"
}
counts=()
for i in 1 2 3; do counts+=("$(instructions "$i")"); done

# 2. Bursts of 50 concurrent calls on an expired account: tokens live 1 s, so each burst
#    (after a 1.5 s pause) starts expired and must cause exactly one refresh.
start_idp burst '{"ttl": {"AccessToken": 1, "RefreshedAccessToken": 1}}'
burst_issuer=$issuer
link "$work/burst" "$burst_issuer"
cat > "$work/burst.sh" <<BURST
#!/usr/bin/env bash
set -e
rm -f "$work"/out.*
for i in \$(seq 50); do KEYFOB_HOME="$work/burst" "$keyfob" token local > "$work/out.\$i" & done
fail=0; for job in \$(jobs -p); do wait \$job || fail=1; done
[ \$fail = 0 ] && [ "\$(cat "$work"/out.* | sort -u | wc -l)" = 1 ]
BURST
bursts=10
before=$(refreshes "$burst_issuer")
hyperfine --style none --warmup 0 --runs "$bursts" --prepare "sleep 1.5" \
  --export-json "$work/burst.json" "bash $work/burst.sh" >/dev/null
after=$(refreshes "$burst_issuer")

# 3. keyfob list with 1,000 accounts (metadata only: listing reads no secret).
mkdir -p "$work/many/data"
write_accounts "$work/many/data/accounts.json" 1000
[ "$(KEYFOB_HOME="$work/many" "$keyfob" list | wc -l)" = 1001 ]
KEYFOB_HOME="$work/many" hyperfine -N --style none --warmup 5 --runs "$runs" \
  --export-json "$work/list.json" "$keyfob list" "$keyfob list --json" >/dev/null

# 4. `keyfob token` with the keeper running: the share of calls that wait on the network.
keeper_share

# 5. The idle desktop app (release build) with its keeper: CPU over 60 s and PSS of the app
#    with its WebKit processes, with 100 linked accounts and with none; then, with 100, the
#    same app after its window was closed to the tray (its web process ends with the window,
#    its network process a moment later: tray_memory.rs).
app="$root/target/release/keyfob-app"
descendants() { # PID and every process below it
  echo "$1"
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do descendants "$c"; done
}
pss_kb() {
  local total=0 p v
  for p in $(descendants "$1"); do
    v=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
cpu_ticks() { # user + system clock ticks of PID and its descendants (fields 14 and 15)
  local total=0 p v
  for p in $(descendants "$1"); do
    [ -n "${2:-}" ] && [ "$p" != "$1" ] && continue # "self": the process alone
    v=$(sed 's/.*) //' /proc/"$p"/stat 2>/dev/null | awk '{print $12 + $13}' || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
# idle_app NAME ACCOUNTS: starts the app on its own profile and display, lets it settle, and
# sets idle_cpu (percent of one core over 60 s, with its WebKit processes), idle_self (the
# app's own process: the keeper, tray and store watcher), idle_pss and tray_pss (kB).
idle_app() {
  local home="$work/app-$1" display_file="$work/display-$1"
  mkdir -p "$home/data"
  write_accounts "$home/data/accounts.json" "$2"
  Xvfb -displayfd 3 -screen 0 1280x900x24 3> "$display_file" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$display_file" ] && break; sleep 0.1; done
  local display=":$(cat "$display_file")"
  DISPLAY=$display KEYFOB_HOME=$home "$app" > "$work/app-$1.log" 2>&1 &
  local app_pid=$!
  pids+=("$app_pid")
  sleep 10 # start-up: the page loads, the tray and the keeper start
  local hz ticks
  hz=$(getconf CLK_TCK)
  ticks=$(cpu_ticks "$app_pid")
  self_ticks=$(cpu_ticks "$app_pid" self)
  sleep 60
  idle_cpu=$(awk -v a="$ticks" -v b="$(cpu_ticks "$app_pid")" -v hz="$hz" 'BEGIN {printf "%.2f", 100 * (b - a) / hz / 60}')
  idle_self=$(awk -v a="$self_ticks" -v b="$(cpu_ticks "$app_pid" self)" -v hz="$hz" 'BEGIN {printf "%.2f", 100 * (b - a) / hz / 60}')
  idle_pss=$(pss_kb "$app_pid")
  tray_pss=
  if [ "${3:-}" = tray ]; then
    DISPLAY=$display /usr/bin/python3 tests/e2e/close_window.py "$app_pid" Keyfob > /dev/null
    sleep 8
    kill -0 "$app_pid" || { echo "bench: the app ended when its window closed" >&2; exit 1; }
    tray_pss=$(pss_kb "$app_pid")
  fi
  kill -TERM "$app_pid"
  wait "$app_pid" 2>/dev/null || true
}
idle_app none 0
none_cpu=$idle_cpu none_self=$idle_self none_pss=$idle_pss
idle_app hundred 100 tray
hundred_cpu=$idle_cpu hundred_self=$idle_self hundred_pss=$idle_pss

node - "$work" "$before" "$after" "$bursts" "$(gh --version | head -1)" "${counts[*]}" "$kept_calls" "$kept_waits" "$kept_refreshes" \
  "$none_cpu" "$none_self" "$none_pss" "$hundred_cpu" "$hundred_self" "$hundred_pss" "$tray_pss" <<'REPORT'
const [work, before, after, bursts, ghVersion, counts, keptCalls, keptWaits, keptRefreshes, noneCpu, noneSelf, nonePss, hundredCpu, hundredSelf, hundredPss, trayPss] = process.argv.slice(2);
const load = (f) => JSON.parse(require("fs").readFileSync(`${work}/${f}`, "utf8")).results;
const ms = (r) => (r.median * 1000).toFixed(2).padStart(8) + " ms";
const [hot, gh] = load("hot.json");
const [burst] = load("burst.json");
const [list, listJson] = load("list.json");
const ratio = hot.median / gh.median;
const seen = Number(after) - Number(before);
console.log("Keyfob CLI benchmark (medians by hyperfine; real Secret Service: gnome-keyring over D-Bus)");
console.log("");
console.log(`  keyfob token, cached token            ${ms(hot)}   (${hot.times.length} runs)`);
console.log(`  gh auth token                         ${ms(gh)}   (${ghVersion}; reads hosts.yml, see below)`);
console.log(`  ratio keyfob / gh                     ${ratio.toFixed(2).padStart(8)}      target <= 0.50: ${ratio <= 0.5 ? "met" : "NOT met"}`);
const instructions = counts.split(" ").map(Number).sort((a, b) => a - b);
const millions = (n) => (n / 1e6).toFixed(2);
console.log(`  keyfob token, cached: instructions    ${millions(instructions[1]).padStart(8)} M      (median of 3 callgrind runs; range ${millions(instructions[0])}-${millions(instructions[2])} M)`);
console.log(`  50 concurrent keyfob token, expired   ${ms(burst)}   per burst of 50 processes (${burst.times.length} bursts)`);
console.log(`  refreshes seen by the provider        ${String(seen).padStart(8)}      in ${bursts} bursts: ${seen / bursts} per burst (must be 1)`);
console.log(`  keyfob list, 1,000 accounts           ${ms(list)}`);
console.log(`  keyfob list --json, 1,000 accounts    ${ms(listJson)}`);
const share = Number(keptWaits) / Number(keptCalls);
console.log(`  keyfob token waiting on the network,  ${(100 * share).toFixed(1).padStart(7)} %      of ${keptCalls} calls over a simulated 2 h of 5-min tokens with \`keyfob keep\` (${keptRefreshes} refreshes, all the keeper's; must be 0)`);
const mb = (kb) => (Number(kb) / 1024).toFixed(0).padStart(8) + " MB";
console.log(`  idle app + keeper, no accounts: CPU   ${noneCpu.padStart(8)} %      of one core over 60 s with its WebKit processes (the app's own process ${noneSelf} %); PSS ${mb(nonePss).trim()}`);
console.log(`  idle app + keeper, 100 accounts: CPU  ${hundredCpu.padStart(8)} %      of one core over 60 s with its WebKit processes (the app's own process ${hundredSelf} %); PSS ${mb(hundredPss).trim()}`);
console.log(`  the same, window closed to the tray   ${mb(trayPss)}   PSS of all it runs (target <= 120 MB: ${Number(trayPss) <= 120 * 1024 ? "met" : "NOT met"})`);
console.log("");
console.log("Debian's gh 2.23 predates gh's keyring storage (gh 2.24), so `gh auth token` reads a plain");
console.log("file while `keyfob token` does a D-Bus round trip to the Secret Service.");
if (Number(keptWaits) !== 0) { console.error("bench: keyfob token waited on a refresh with the keeper running"); process.exit(1); }
if (seen !== Number(bursts)) { console.error("bench: the provider saw the wrong number of refreshes"); process.exit(1); }
REPORT
