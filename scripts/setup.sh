#!/usr/bin/env bash
# Installs what building and testing photovault needs on a fresh machine:
# a C toolchain with cmake and pkg-config (bundled SQLite; libheif is built
# from the libheif-sys crate's sources, decoding HEVC with libde265 and
# encoding it with x265 for the tests' own HEICs; x265 links libnuma),
# heif-convert (libheif-examples: the organize benchmark compares with it),
# exiftool (tests read XMP sidecars back), sqlite3 (handy for looking into
# catalogs), and exfatprogs with exfat-fuse (the mirror's test on a real
# exFAT drive, where the kernel has no exFAT driver). Idempotent and quiet
# when everything is already there, so `make test` can call it every time.
# Extra Debian packages named as arguments are installed too
# (`scripts/setup.sh rsync` for `make bench`).
set -euo pipefail

have_rust() { command -v cargo >/dev/null 2>&1; }

if ! have_rust; then
  echo "setup: cargo not found; install Rust from https://rustup.rs (stable), then run make again" >&2
  exit 1
fi

case "$(uname -s)" in
  Linux)
    if command -v apt-get >/dev/null 2>&1; then
      pkgs=(build-essential cmake pkg-config libde265-dev libx265-dev libnuma-dev libheif-examples libimage-exiftool-perl sqlite3 exfatprogs exfat-fuse "$@")
      missing=()
      for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
      done
      if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing ${missing[*]}"
        sudo_cmd=""
        [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
        export DEBIAN_FRONTEND=noninteractive
        $sudo_cmd apt-get update -qq
        $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
      fi
    else
      for tool in cmake pkg-config exiftool; do
        command -v "$tool" >/dev/null 2>&1 || echo "setup: warning: $tool not found; install it with your package manager" >&2
      done
    fi
    ;;
  Darwin)
    if command -v brew >/dev/null 2>&1; then
      for p in cmake pkg-config libde265 x265 libheif exiftool; do
        brew list --versions "$p" >/dev/null 2>&1 || brew install "$p"
      done
    else
      echo "setup: Homebrew not found; install it from https://brew.sh, or install cmake, pkg-config, libde265 and exiftool yourself" >&2
      exit 1
    fi
    ;;
esac
