#!/usr/bin/env bash
# Bare-stack CPS benchmark: SIPp UAC -> sipstack harness -> local answer or
# SIPp UAS. Loopback only; every step is bounded by -duration.
#
#   bench/sip/run.sh                       # forward (B2BUA) and answer modes
#   RATES=500,1000 DURATION=10s bench/sip/run.sh forward
set -euo pipefail
cd "$(dirname "$0")/../.."
RATES=${RATES:-250,500,750,1000,1250,1500}
DURATION=${DURATION:-15s}
modes=${1:-"answer forward"}
command -v sipp >/dev/null || { echo "needs SIPp: apt-get install sip-tester" >&2; exit 1; }
go build -o /tmp/tandem-bench-sip ./bench/sip
for m in $modes; do
	/tmp/tandem-bench-sip -mode "$m" -rates "$RATES" -duration "$DURATION"
	echo
done
