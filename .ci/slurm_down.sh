#!/usr/bin/env bash
# Stop the daemons .ci/slurm_up.sh started, by PID file only (never by name).
for pf in /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do
  if [ -s "$pf" ]; then
    pid=$(cat "$pf")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    rm -f "$pf"
  fi
done
exit 0
