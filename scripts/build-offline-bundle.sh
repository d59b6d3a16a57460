#!/usr/bin/env bash
# Build everything an edge box or central host needs to be installed with no network at all:
#   OUT/wheels/      the anpr wheel (version from git)
#   OUT/wheelhouse/  every Python dependency of anpr[edge,openvino,central]
#   OUT/debs/        the Debian packages of deploy/offline/debian-packages.txt with all their
#                    dependencies, and a Packages index (a local apt repository)
#   OUT/wheelhouse.tar, OUT/debs.tar  the two folders as one file each, which the roles copy (one
#                    transfer, compared by checksum, instead of hundreds of files)
# Run it on a Debian 12 machine of the boxes' architecture with the boxes' Python (3.11), then set
# `anpr_offline_bundle: /path/to/OUT` in the inventory (docs/deployment.md, "Offline boxes").
# Usage: scripts/build-offline-bundle.sh OUT [PYTHON]
set -euo pipefail

out=${1:?usage: scripts/build-offline-bundle.sh OUT [PYTHON]}
python=${2:-${PYTHON:-python3}}
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
extras=${ANPR_BUNDLE_EXTRAS:-edge,openvino,central}
mkdir -p "$out/wheels" "$out/wheelhouse" "$out/debs/partial"
out=$(cd "$out" && pwd)

for tool in dpkg-scanpackages apt-get; do
  command -v "$tool" >/dev/null || { echo "build-offline-bundle: $tool is missing (apt-get install dpkg-dev)" >&2; exit 1; }
done

echo "build-offline-bundle: anpr wheel"
rm -f "$out"/wheels/anpr-*.whl
"$python" -m pip wheel --quiet --no-deps --no-build-isolation -w "$out/wheels" "$repo"
wheel=$(ls "$out"/wheels/anpr-*.whl)

echo "build-offline-bundle: Python dependencies of $(basename "$wheel")[$extras]"
"$python" -m pip download --quiet --only-binary=:all: -d "$out/wheelhouse" "$wheel[$extras]"
rm -f "$out"/wheelhouse/anpr-*.whl

echo "build-offline-bundle: Debian packages"
# An empty dpkg status makes apt fetch every dependency, not only those this machine lacks: the
# box may have less installed than the machine building the bundle.
empty_status=$(mktemp)
trap 'rm -f "$empty_status"' EXIT
mapfile -t packages < <(grep -v -E '^\s*(#|$)' "$repo/deploy/offline/debian-packages.txt")
apt-get -q -o Dir::State::status="$empty_status" -o Dir::Cache::archives="$out/debs" \
  -o Debug::NoLocking=1 --download-only --yes install "${packages[@]}" >/dev/null
rmdir "$out/debs/partial" 2>/dev/null || true
(cd "$out/debs" && dpkg-scanpackages --multiversion . 2>/dev/null > Packages)

# Byte-identical when the contents are: a rebuild with nothing new is not copied to the hosts again.
for part in wheelhouse debs; do
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=u=rwX,go=rX \
    -C "$out/$part" -cf "$out/$part.tar.partial" .
  mv "$out/$part.tar.partial" "$out/$part.tar"
done

echo "build-offline-bundle: $out ($(du -sh "$out" | cut -f1)): $(basename "$wheel"), $(ls "$out/wheelhouse" | wc -l) wheels, $(ls "$out"/debs/*.deb | wc -l) Debian packages"
