#!/usr/bin/env bash
# Starts swtpm on a provisioned state directory, bound to loopback only, usable at once (no
# CMD_INIT / TPM2_Startup needed), in the background; its pid goes to BASE/swtpm.pid.
# Usage: swtpm/start.sh BASE [PORT [CTRL_PORT]]   (defaults 2321 and PORT+1)
# The agent's TCTI is then swtpm:host=127.0.0.1,port=PORT. tpm2-tss's swtpm TCTI dials the control
# port at PORT+1 (it sends the power-on there), so give another CTRL_PORT only for other clients.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BASE [PORT [CTRL_PORT]]" >&2; exit 2; }
BASE=$(realpath -m "$1")
PORT=${2:-2321}
CTRL=${3:-$((PORT + 1))}
[ -f "$BASE/state/tpm2-00.permall" ] || { echo "$0: $BASE/state is not provisioned; run swtpm/provision.sh $BASE first" >&2; exit 1; }
# /proc/PID/comm, not kill -0: a pid file that outlived its swtpm (a reboot) may name another process.
if [ -f "$BASE/swtpm.pid" ] && [ "$(cat "/proc/$(cat "$BASE/swtpm.pid")/comm" 2>/dev/null)" = swtpm ]; then
  echo "$0: swtpm is already running on $BASE (pid $(cat "$BASE/swtpm.pid"))" >&2
  exit 1
fi
mkdir -p "$BASE/logs"
swtpm socket --tpm2 \
  --server "type=tcp,port=$PORT,bindaddr=127.0.0.1" \
  --ctrl "type=tcp,port=$CTRL,bindaddr=127.0.0.1" \
  --flags not-need-init,startup-clear \
  --tpmstate "dir=$BASE/state" \
  --pid "file=$BASE/swtpm.pid" \
  --log "file=$BASE/logs/swtpm.log,level=1" -d \
  || { echo "$0: swtpm did not start (port $PORT or $CTRL in use?); see $BASE/logs/swtpm.log" >&2; exit 1; }
echo "swtpm running (pid $(cat "$BASE/swtpm.pid")): TCTI swtpm:host=127.0.0.1,port=$PORT, control port $CTRL"
