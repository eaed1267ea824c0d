#!/usr/bin/env bash
# Side-by-side RTP relay benchmark: tandem's media engine against Sipwise
# rtpengine (userspace only), on loopback, driven the same way through the
# ng control protocol by bench/rtp/loadgen. Each relay runs pinned to one
# core, the generator to the other; every case runs RUNS times (fresh relay
# each time) and the table shows medians.
#
#   bench/rtp/run.sh            # full run (about 4 minutes)
#   RUNS=1 DURATION=3s bench/rtp/run.sh   # quick look
#
# Writes bench/rtp/RESULTS.md (the table with date and machine) and keeps
# the raw runs in bench/rtp/results/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=bench/rtp/results
TMP=$OUT/tmp
mkdir -p "$TMP"
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
PACED_STREAMS=${PACED_STREAMS:-1000}
OPEN_STREAMS=${OPEN_STREAMS:-100}
WINDOW=${WINDOW:-8}
RELAY_CPU=${RELAY_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
RTP_MIN=${RTP_MIN:-10000}
RTP_MAX=${RTP_MAX:-19999}

if ! command -v rtpengine >/dev/null 2>&1; then
	echo "installing rtpengine-daemon from Debian" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rtpengine-daemon
fi

# The machine is shared: other work on the two cores would show up as
# latency. Run relay and generator at a real-time priority when allowed
# (both relays get the same treatment); BENCH_RT=0 turns it off.
PRIO=()
if [ "${BENCH_RT:-1}" = 1 ] && chrt -f 10 true 2>/dev/null; then
	PRIO=(chrt -f 10)
fi

echo "building" >&2
go build -o "$TMP/loadgen" ./bench/rtp/loadgen
# tandem's relay is the daemon's own media mode: `tandem media -config`
# (rtpengine.New plus ng.ListenAndServe), exactly what would run behind a
# Kamailio SBC.
go build -o "$TMP/tandem" ./cmd/tandem
TANDEM=("$TMP/tandem" media -config "$TMP/media.yaml")
TANDEM_BIN="cmd/tandem (tandem media)"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
RESULTS=$OUT/runs-$(date -u +%Y%m%dT%H%M%SZ).jsonl
: >"$RESULTS"
RPID=

stop_relay() {
	if [ -n "$RPID" ]; then
		kill "$RPID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$RPID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$RPID" 2>/dev/null || true
		wait "$RPID" 2>/dev/null || true
		RPID=
	fi
}
trap stop_relay EXIT

start_relay() { # name ng-port
	local name=$1 port=$2
	if [ "$name" = tandem ]; then
		local admin
		admin=$("$TMP/loadgen" freeport)
		# tandem.yaml shape: tandem media reads log, admin and media.
		cat >"$TMP/media.yaml" <<YAML
log:
  level: warn
admin:
  listen: 127.0.0.1:$admin
media:
  interfaces:
    - name: default
      bind_ip: 127.0.0.1
      shared_ports: [0, 0]
  dedicated_port_min: 0
  dedicated_port_max: 0
  ng_listen: 127.0.0.1:$port
YAML
		"${PRIO[@]}" taskset -c "$RELAY_CPU" "${TANDEM[@]}" 2>>"$TMP/tandem.log" &
	else
		"${PRIO[@]}" taskset -c "$RELAY_CPU" rtpengine --config-file=none --foreground --table=-1 \
			--interface=127.0.0.1 --listen-ng=127.0.0.1:"$port" --port-min="$RTP_MIN" --port-max="$RTP_MAX" \
			--log-stderr --log-level=3 --delete-delay=0 2>>"$TMP/rtpengine.log" &
	fi
	RPID=$!
	"$TMP/loadgen" waitng 127.0.0.1:"$port"
}

for mode in paced open; do
	for run in $(seq 1 "$RUNS"); do
		for relay in tandem rtpengine; do
			port=$("$TMP/loadgen" freeport)
			start_relay "$relay" "$port"
			if [ "$mode" = paced ]; then
				args=(-streams "$PACED_STREAMS")
			else
				args=(-streams "$OPEN_STREAMS" -window "$WINDOW")
			fi
			echo "run $run: $relay $mode" >&2
			"${PRIO[@]}" taskset -c "$GEN_CPU" "$TMP/loadgen" -relay "$relay" -mode "$mode" -ng 127.0.0.1:"$port" \
				-relay-pid "$RPID" -duration "$DURATION" -warmup "$WARMUP" "${args[@]}" | tee -a "$RESULTS" >&2
			stop_relay
		done
	done
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "# RTP relay benchmark: tandem vs Sipwise rtpengine (userspace)"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), kernel $(uname -r)"
	echo "- tandem: $TANDEM_BIN, $(go version | cut -d' ' -f3); rtpengine $(rtpengine --version 2>&1 | head -1 | sed 's/Version: //') with --table=-1 (no kernel module)"
	echo "- relay pinned to CPU $RELAY_CPU, generator to CPU $GEN_CPU (taskset)${PRIO:+, both SCHED_FIFO 10}; $RUNS runs per case, ${DURATION} measured after ${WARMUP} warm-up"
	echo "- load: bench/rtp/loadgen over the ng protocol; RTP of 12+160 bytes, sendmmsg/recvmmsg; latency = kernel receive timestamp - send timestamp in the payload (one way through the relay); relay CPU from /proc/PID/stat"
	echo "- load average (1/5/15 min) before: $LOAD_BEFORE, after: $LOAD_AFTER (the machine is shared; other work on the two cores inflates CPU per packet and latency tails of both relays)"
	echo "- command: \`bench/rtp/run.sh\` (raw runs: $RESULTS)"
	echo
} >"$TMP/header.md"
"$TMP/loadgen" report "$RESULTS" "$TMP/header.md" | tee bench/rtp/RESULTS.md
