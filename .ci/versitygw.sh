#!/usr/bin/env bash
# Installs the VersityGW S3 gateway used by the S3 tests of
# internal/blobstore into $(go env GOPATH)/bin, unless the pinned version is
# already there, and prints the binary's path. Safe to run repeatedly.
set -euo pipefail

version=v1.8.0
gobin="$(go env GOPATH | cut -d: -f1)/bin"
bin="$gobin/versitygw"

# go install records the module version in the binary.
installed() {
	[[ -x "$bin" ]] && go version -m "$bin" 2>/dev/null |
		awk '$1 == "mod" && $2 == "github.com/versity/versitygw" { print $3 }'
}

if [[ "$(installed || true)" == "$version" ]]; then
	echo "$bin"
	exit 0
fi

echo "installing versitygw $version into $gobin" >&2
# Outside any module, so the project's go.mod is neither used nor changed.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && GOFLAGS=-mod=mod GOBIN="$gobin" go install "github.com/versity/versitygw/cmd/versitygw@$version")
if [[ "$(installed || true)" != "$version" ]]; then
	echo "versitygw $version did not install into $bin" >&2
	exit 1
fi
echo "$bin"
