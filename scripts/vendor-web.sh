#!/usr/bin/env bash
# Refreshes the browser libraries the web client vendors under web/vendor/, from npm,
# at the pinned versions below (each checked against its registry integrity, so two
# runs give the same files). The output is committed: `make run` works offline, and
# make never runs this script.
#   scripts/vendor-web.sh           fetch every package into web/vendor/{pkg}-{version}/
# CodeMirror 6 is many ES modules with bare imports, which the browser cannot load
# as they are (that needs an import map, an inline script the CSP refuses): the
# packages pinned in scripts/vendor-web/codemirror/package-lock.json are installed
# with `npm ci` (integrity-checked, no install scripts) and bundled by the pinned
# esbuild into one ES module, web/vendor/codemirror-{version}/codemirror.js, with
# every bundled package's licence and a VERSIONS file (versions, sha256) beside it.
# esbuild's output depends only on its inputs: two runs give the same bytes.
# Needs npm and network access to the npm registry.
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

# CodeMirror: the version of the "codemirror" package names the directory.
cmsrc=$root/scripts/vendor-web/codemirror
cmversion=$(sed -n 's/^ *"codemirror": "\([0-9.]*\)".*/\1/p' "$cmsrc/package.json" | head -n1)
cmdest=$vendor/codemirror-$cmversion
mkdir -p "$tmp/cm"
cp "$cmsrc/package.json" "$cmsrc/package-lock.json" "$cmsrc/entry.mjs" "$cmsrc/collect.mjs" "$tmp/cm/"
(cd "$tmp/cm" && npm ci --ignore-scripts --no-audit --no-fund --silent)
rm -rf "$vendor"/codemirror-*
mkdir -p "$cmdest"
(cd "$tmp/cm" && node_modules/.bin/esbuild entry.mjs --bundle --format=esm --target=es2020 \
	--minify --charset=utf8 --legal-comments=eof --log-level=warning \
	--metafile=meta.json --outfile="$cmdest/codemirror.js")
(cd "$tmp/cm" && node collect.mjs meta.json "$cmdest" "$cmdest/codemirror.js")
chmod 644 "$cmdest"/*
echo "vendored codemirror@$cmversion (bundled) into ${cmdest#"$root"/}"
