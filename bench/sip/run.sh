#!/usr/bin/env bash
# The SIP calls-per-second benchmark (issue 4): SIPp UAC -> tandem (webhook
# answering <Dial><Sip>) -> SIPp UAS, 1 s calls, at a ladder of rates, and the
# same load through Kamailio (bench/sip/kamailio.cfg, t_relay) in the same
# session; then 10k held calls through tandem for RSS per call. Writes
# bench/sip/RESULTS.md. Loopback only; every step and every process is
# bounded in time. See bench/sip/README.md.
#
#   bench/sip/run.sh                          # the whole benchmark (make bench-sip)
#   RATES=500,1000 RUNS=1 HOLD_CALLS=0 bench/sip/run.sh
#   bench/sip/run.sh bare [answer|forward]    # the SIP stack alone (no webhook, media, store)
#
# Environment: RATES, DURATION, RUNS, PIN (split|none), HOLD_CALLS,
# HOLD_RUNTIMES, GC_PERCENT, MEMORY_LIMIT, RESULTS (file, "" for none),
# CPS_ARGS (more flags for bench/sip/cps).
set -euo pipefail
cd "$(dirname "$0")/../.."

need() { command -v "$1" >/dev/null 2>&1; }
install() {
	echo "installing $*" >&2
	if [ "$(id -u)" = 0 ]; then apt-get install -y "$@"; else sudo apt-get install -y "$@"; fi
}
need sipp || install sip-tester
need taskset || install util-linux

if [ "${1:-}" = bare ]; then
	shift
	go build -o /tmp/tandem-bench-sip ./bench/sip
	for m in ${1:-answer forward}; do
		/tmp/tandem-bench-sip -mode "$m" -rates "${RATES:-250,500,750,1000,1250,1500}" -duration "${DURATION:-15s}"
		echo
	done
	exit 0
fi

[ -x /usr/sbin/kamailio ] || install kamailio
[ -x /usr/bin/dumpcap ] || install wireshark-common || echo "no dumpcap: setup latency from SIPp only" >&2

bin=$(mktemp -d /tmp/tandem-bench-cps.XXXXXX)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/tandem" ./cmd/tandem
go build -o "$bin/cps" ./bench/sip/cps

args=(
	-tandem "$bin/tandem"
	-rates "${RATES:-250,500,750,1000,1250,1500}"
	-duration "${DURATION:-15s}"
	-runs "${RUNS:-3}"
	-pin "${PIN:-split}"
	-hold-calls "${HOLD_CALLS:-10000}"
	-hold-runtimes "${HOLD_RUNTIMES:-default,400/512MiB}"
	-gc-percent "${GC_PERCENT:-0}"
	-memory-limit "${MEMORY_LIMIT:-}"
	-results "${RESULTS-bench/sip/RESULTS.md}"
)
# shellcheck disable=SC2086
CPS_COMMAND="${CPS_COMMAND:-bench/sip/run.sh (RATES=${RATES:-default} DURATION=${DURATION:-15s} RUNS=${RUNS:-3} PIN=${PIN:-split} GC_PERCENT=${GC_PERCENT:-0} MEMORY_LIMIT=${MEMORY_LIMIT:-none})}" \
	"$bin/cps" "${args[@]}" ${CPS_ARGS:-}
