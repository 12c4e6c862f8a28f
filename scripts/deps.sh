#!/bin/sh
# Installs the Debian packages gm needs to build and test, if any is
# missing. As root it runs apt-get (updating the package lists first on a
# fresh machine); otherwise it prints the one line to run and fails.
# Usage: scripts/deps.sh [extra-package ...]
set -eu

PACKAGES="libopenblas-dev libyaml-dev libhdf5-dev libcriterion-dev hdf5-tools \
pkg-config cmake make gcc zlib1g-dev libdnnl-dev libopenmpi-dev openmpi-bin $*"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

line="apt-get install -y$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "gm: missing Debian packages:$missing" >&2
    echo "gm: install them with:  sudo apt-get update && sudo $line" >&2
    exit 1
fi
echo "gm: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; refresh them once if an install fails.
apt-get install -y -q $missing >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; }
