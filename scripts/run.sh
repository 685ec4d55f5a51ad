#!/usr/bin/env bash
# make run: photovault's main job. On a Mac with photovault configured (a
# configuration file exists), it runs the daemon in the foreground with it.
# Otherwise (Linux, CI, a first try) it runs the whole job end to end on a
# demo world under target/demo: a demo library, a volume root with one
# "drive", the daemon started, the drive enrolled with photovaultctl (export
# and mirror), the backup it runs by itself, a verify of the drive, a restore
# of the mirrored library, the status, then a clean stop (SIGTERM).
# FOREGROUND=1 keeps the demo daemon running until Ctrl-C instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release

mac_config="$HOME/Library/Application Support/photovault/config.toml"
if [ "$(uname -s)" = Darwin ] && [ -f "$mac_config" ] && [ -z "${LIBRARY:-}" ]; then
  echo "photovault: running photovaultd with $mac_config (Ctrl-C stops it)"
  exec "$bin/photovaultd"
fi

demo="$PWD/target/demo"
library="${LIBRARY:-$demo/Demo.photoslibrary}"
if [ ! -d "$library" ]; then
  cargo run --release -q -p photovault-testkit --bin photovault-demo-library -- "$library"
fi
rm -rf "$demo/volumes" "$demo/state"
mkdir -p "$demo/volumes/Backup Drive" "$demo/state"
config="$demo/config.toml"
cat > "$config" <<TOML
# Written by scripts/run.sh (make run): a demo world.
library = "$library"
volume_roots = ["$demo/volumes"]
state_dir = "$demo/state"
debounce_seconds = 5
TOML
ctl() { "$bin/photovaultctl" --config "$config" "$@"; }

echo "photovault: starting photovaultd on $library"
if [ "${FOREGROUND:-}" = 1 ]; then
  echo "photovault: in another terminal: $bin/photovaultctl --config $config dest add \"$demo/volumes/Backup Drive\" --name Backup --mode export,mirror"
  exec "$bin/photovaultd" --config "$config"
fi
"$bin/photovaultd" --config "$config" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
echo "photovault: enrolling the demo drive"
ctl dest add "$demo/volumes/Backup Drive" --name Backup --mode export,mirror
for _ in $(seq 300); do
  [ "$(ctl history --json | grep -c '"state"')" -ge 1 ] && break
  sleep 0.2
done
echo
echo "photovault: verifying the drive"
ctl verify Backup
echo
echo "photovault: restoring the mirrored library"
rm -rf "$demo/Restored.photoslibrary"
ctl restore Backup --to "$demo/Restored.photoslibrary"
echo
ctl status
echo
ctl history
echo
echo "photovault: the backup is in $demo/volumes/Backup Drive (Export/, Library/, .photovault/); the restored library in $demo/Restored.photoslibrary"
kill -TERM $daemon
wait $daemon
trap - EXIT
echo "photovault: photovaultd stopped cleanly"
