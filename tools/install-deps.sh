#!/usr/bin/env bash
# Installs the Debian packages h5swmrfs needs to build, run and test, and to build
# its own package (tools/build-deb.sh).
# Idempotent: only missing packages are installed, and the package lists are
# refreshed once, only when something is missing.
set -euo pipefail

packages=(
  g++ meson ninja-build pkg-config
  libfuse3-dev fuse3
  libhdf5-dev hdf5-tools
  libhiredis-dev
  libcpp-httplib-dev
  catch2
  redis-server redis-tools
  python3 python3-h5py python3-numpy python3-redis python3-prometheus-client
  attr rsync iproute2 procps util-linux mount coreutils
  mandoc man-db
  debhelper dpkg-dev lintian systemd
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # A machine whose last dpkg run was interrupted refuses every install until it
  # is finished; finishing it is what dpkg itself asks for.
  dpkg --configure -a
  apt-get update -q
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    echo "install-deps: install failed; repairing dpkg state and trying once more" >&2
    dpkg --configure -a
    apt-get install -y -q -f --no-install-recommends
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
else
  echo "install-deps: all packages present" >&2
fi
