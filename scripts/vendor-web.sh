#!/usr/bin/env bash
# Refreshes the browser libraries the web client vendors under web/vendor/, from npm,
# at the pinned versions below (each checked against its registry integrity, so two
# runs give the same files). The output is committed: `make run` works offline.
#   scripts/vendor-web.sh           fetch every package into web/vendor/{pkg}-{version}/
# Needs npm (for `npm pack`) and network access to the npm registry.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vendor=$root/web/vendor

# name version integrity files (paths inside the package, copied flat)
packages=(
	"svg-pan-zoom 3.6.2 sha512-JwnvRWfVKw/Xzfe6jriFyfey/lWJLq4bUh2jwoR5ChWQuQoOH8FEh1l/bEp46iHHKHEJWIyFJETbazraxNWECg== LICENSE dist/svg-pan-zoom.js dist/svg-pan-zoom.min.js"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for entry in "${packages[@]}"; do
	read -r name version integrity files <<<"$entry"
	(cd "$tmp" && npm pack --silent "$name@$version" >/dev/null)
	tgz=$tmp/$name-$version.tgz
	got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
	if [ "$got" != "$integrity" ]; then
		echo "vendor-web: $name@$version: integrity $got, want $integrity" >&2
		exit 1
	fi
	mkdir -p "$tmp/$name"
	tar -xzf "$tgz" -C "$tmp/$name"
	dest=$vendor/$name-$version
	rm -rf "$dest"
	mkdir -p "$dest"
	for f in $files; do
		cp "$tmp/$name/package/$f" "$dest/$(basename "$f")"
	done
	chmod 644 "$dest"/*
	echo "vendored $name@$version into ${dest#"$root"/}"
done
