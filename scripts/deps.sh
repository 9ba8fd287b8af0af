#!/usr/bin/env bash
# Installs the Debian packages opusd needs, only those missing.
#   scripts/deps.sh run    build + run dependencies
#   scripts/deps.sh test   + test and benchmark tools
# As root it runs apt-get; otherwise it prints the exact command to run.
set -euo pipefail
run_pkgs="build-essential pkg-config libmicrohttpd-dev libsqlite3-dev libxml2-dev libjansson-dev libssl-dev libcurl4-openssl-dev"
test_pkgs="python3 python3-pytest python3-requests python3-lxml libxml2-utils wrk procps clang libclang-rt-14-dev"
pkgs=$run_pkgs
[ "${1:-run}" = test ] && pkgs="$run_pkgs $test_pkgs"
missing=()
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "opusd needs these Debian packages; install them with:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
