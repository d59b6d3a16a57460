#!/usr/bin/env bash
# System packages the test suite uses: the Mosquitto broker (sync tests run a real one),
# Chromium for the operator UI tests, fonts for synthetic plates of non-GOST formats,
# ffmpeg + GStreamer's RTSP server for the live-camera capture tests and the edge bench, promtool
# (package prometheus) for the alert rules, and debootstrap + systemd-nspawn + dpkg-scanpackages
# for the deployment test in booted Debian containers (tests/deploy/test_deployment_nspawn.py), and
# iproute2 + nftables for the fault suite's network namespaces and packet loss where the kernel has
# no sch_netem (tests/e2e/test_fault_suite.py).
# Installs only what is missing, and only where apt-get and root are available.
set -euo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_passwd >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
# The synthetic engine draws non-GOST plates with these (models/synth/fonts.py lists the files).
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf ] || need+=(fonts-dejavu-extra)
[ -f /usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf ] || need+=(fonts-liberation)
[ -f /usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Bold.ttf ] || need+=(fonts-roboto-unhinted)
[ -f /usr/share/fonts/truetype/opendin/OSP-DIN.ttf ] || need+=(fonts-opendin)
[ -f /usr/share/fonts/truetype/paratype/PTN77F.ttf ] || need+=(fonts-paratype)
# H.264/H.265 test and bench clips (libx264/libx265), and a real RTSP server for the capture tests.
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
if ! /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')" >/dev/null 2>&1; then
  need+=(python3-gi gir1.2-gst-rtsp-server-1.0)
fi
[ -d /usr/lib/x86_64-linux-gnu/gstreamer-1.0 ] && gst-inspect-1.0 h265parse >/dev/null 2>&1 \
  || need+=(gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)
command -v dpkg-scanpackages >/dev/null 2>&1 || need+=(dpkg-dev)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || need+=(iproute2)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need+=(nftables)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing ${need[*]}; install them with your package manager (tests needing them will skip)" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
