#!/usr/bin/env bash
# Stops the swtpm started by start.sh on BASE, by the pid in BASE/swtpm.pid, and waits until it has
# exited (its state is saved on exit). Stopping a TPM that is not running is not an error.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 BASE" >&2; exit 2; }
BASE=$(realpath -m "$1")
PIDFILE="$BASE/swtpm.pid"
[ -f "$PIDFILE" ] || { echo "swtpm is not running on $BASE"; exit 0; }
PID=$(cat "$PIDFILE")
# Only an swtpm: a pid file that outlived its swtpm (a reboot) may name another process by now.
if [ "$(cat "/proc/$PID/comm" 2>/dev/null)" != swtpm ]; then
  rm -f "$PIDFILE"
  echo "swtpm is not running on $BASE (removed a stale pid file)"
  exit 0
fi
if kill "$PID" 2>/dev/null; then
  for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$PID" 2>/dev/null; then kill -9 "$PID"; fi
fi
rm -f "$PIDFILE"
echo "swtpm stopped (pid $PID)"
