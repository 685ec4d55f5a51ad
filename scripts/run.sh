#!/usr/bin/env bash
# make run: photovault's main job on this machine, with the default setup.
# Today that is reading the Photos library and describing what a backup will
# hold (`photovaultd inspect`): the user's own library on macOS, LIBRARY=...
# when given, otherwise (Linux, CI) a demo library written by the testkit.
set -euo pipefail
cd "$(dirname "$0")/.."

library="${LIBRARY:-}"
if [ -z "$library" ]; then
  default_mac_library="$HOME/Pictures/Photos Library.photoslibrary"
  if [ "$(uname -s)" = Darwin ] && [ -d "$default_mac_library" ]; then
    library="$default_mac_library"
  else
    library="target/demo/Demo.photoslibrary"
    if [ ! -d "$library" ]; then
      cargo run --release -q -p photovault-testkit --bin photovault-demo-library -- "$library"
    fi
  fi
fi
echo "photovault: reading $library"
exec target/release/photovaultd inspect --library "$library"
