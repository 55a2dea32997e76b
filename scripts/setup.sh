#!/usr/bin/env bash
# Create .venv, install facerec (with --test: and its test tools), fetch the weights and
# the sample photos. Safe to run again: what is already there is checked, not redone.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--test" ] && extras="[test,cluster,home]"

[ -x .venv/bin/python ] || python3 -m venv .venv
py=.venv/bin/python
$py -m pip install --quiet --upgrade pip
# torch and torchvision first, pinned to a matching pair (a CUDA build that also runs on CPU)
if [ "$(uname -m)" = "x86_64" ]; then
  $py -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
fi
$py -m pip install --quiet -e ".${extras}"
if [ -n "$extras" ]; then
  # face_recognition, for the tests only; its dependencies come from the test extras
  $py -m pip install --quiet --no-deps "face_recognition==1.3.0"
  # real programs from the system, for the tests that use them (each skips, with the
  # reason, where it cannot be installed): headless Chromium and its driver for the
  # browser tests, exiftool to read back the XMP sidecars facerec writes, the mosquitto
  # MQTT broker for the Home Assistant tests, the PostgreSQL server for the shared
  # database and nginx in front of two servers (all started by the tests on loopback)
  missing=""
  command -v chromedriver >/dev/null || missing="chromium chromium-driver"
  command -v exiftool >/dev/null || missing="$missing libimage-exiftool-perl"
  [ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null || missing="$missing mosquitto"
  command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    || missing="$missing postgresql"
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$missing nginx-light"
  if [ -n "$missing" ] && command -v apt-get >/dev/null; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo -n"
    if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
           $sudo apt-get install -y -qq $missing >/dev/null; }; then
      echo "setup: could not install $missing; the tests that use them will skip" >&2
    fi
  fi
fi
if [ -n "$extras" ]; then
  # Every model the tests use. The parity tests of w600k-mbf need its weights, which are
  # for non-commercial research only: fetched here for testing, never by the plain install.
  .venv/bin/facerec models fetch yunet-2023mar sface-2021dec dlib-resnet-v1 w600k-mbf \
    --accept-license
else
  .venv/bin/facerec models fetch
fi
.venv/bin/facerec samples
