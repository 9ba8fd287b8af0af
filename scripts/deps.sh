#!/usr/bin/env bash
# Installs the Debian packages of scripts/packages that carry one of the tags
# given, only those missing.
#   scripts/deps.sh build             compile and run
#   scripts/deps.sh build test lint   everything make test and make lint need
#   scripts/deps.sh --pc              prints the pkg-config modules (for builds)
# As root it runs apt-get; otherwise it prints the exact command to run.
set -euo pipefail
list=$(dirname "$0")/packages
if [ "${1:-}" = --pc ]; then
	awk '!/^#/ && NF >= 3 { printf "%s ", $3 }' "$list"
	exit 0
fi
[ $# -gt 0 ] || set -- build
pkgs=$(awk -v tags=" $* " '!/^#/ && NF >= 2 && index(tags, " " $2 " ") { print $1 }' "$list")
missing=()
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm run the browser tests (tests/web). These machines bring them
# (NodeSource's nodejs carries its npm, so no Debian npm beside it); a bare
# Debian gets Debian's packages.
if [[ " $* " == *" test "* ]]; then
	command -v node >/dev/null || missing+=(nodejs)
	command -v npm >/dev/null || missing+=(npm)
fi
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
