#!/usr/bin/env bash
# One set-up for every place modic-node is built: a developer's machine, CI, and the Docker image.
# Installs the Debian 12 packages the node needs (nothing is downloaded from anywhere else),
# then configures and builds into build/. Run as root on Debian 12; safe to run again.
#
#   tools/setup.sh            install packages, build
#   tools/setup.sh --deps     install packages only (the Docker image's first layer)
#   tools/setup.sh --build    build only
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Build: compiler, CMake, the libraries of the design card, and the libraries that replace
# hand-written code (toml++, CLI11, spdlog, nlohmann-json).
build_packages=(
  build-essential cmake ninja-build pkg-config
  libdcmtk-dev libinsighttoolkit5-dev libboost-dev libsqlite3-dev
  libfmt-dev libspdlog-dev libtomlplusplus-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev
  libgdcm-tools  # the gdcm tools ITK's CMake configuration names; without them it warns at configure
)
# Run and test: the DICOM peers and validators the tests start, python3 for bench/ scripts, curl
# for the tests' calls to Orthanc's REST API.
peer_packages=(
  dcmtk orthanc dicom3tools python3 sqlite3 procps curl
  pixelmed-apps  # DicomSRValidator for the SR tests (pulls in a headless JRE)
  default-jdk-headless  # java's source launcher runs tests/report/ValidateSrFiles.java: needs a JDK
)

install_packages() {
  local missing=()
  for p in "${build_packages[@]}" "${peer_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # The Debian orthanc package starts a system service on port 4242 at install; the tests start
  # their own Orthanc on free ports, so the system one is stopped where a service manager runs.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet orthanc 2>/dev/null; then
    systemctl stop orthanc || true
  fi
}

build() {
  cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build" -j"$(nproc)"
}

case "${1:-all}" in
  --deps) install_packages ;;
  --build) build ;;
  all) install_packages; build ;;
  *) echo "usage: tools/setup.sh [--deps|--build]" >&2; exit 2 ;;
esac
