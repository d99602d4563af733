#!/usr/bin/env bash
# Builds the cowsay demo image with no registry: a busybox root filesystem plus
# modules/cowsay/cowsay.sh as /usr/local/bin/cowsay, loaded with `docker import`.
# Prints the image id (sha256:...), which is what module templates pin.
# Reuses the tagged image when it exists; pass --rebuild to build it again.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tag=${COWSAY_IMAGE_TAG:-lilypad-demo/cowsay:v0.0.1}
busybox=${BUSYBOX:-/bin/busybox}

if [ "${1:-}" != "--rebuild" ] && id=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null); then
  echo "$id"
  exit 0
fi

if [ ! -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "build-cowsay-image: need a statically linked busybox at $busybox (Debian: apt-get install busybox-static)" >&2
  exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/usr/local/bin" "$root/outputs" "$root/tmp" "$root/etc"
cp "$busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$repo/modules/cowsay/cowsay.sh" "$root/usr/local/bin/cowsay"
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"

tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . \
  | docker import --change 'ENV PATH=/usr/local/bin:/bin' --message 'lilypad demo: cowsay on busybox' - "$tag" >/dev/null
docker image inspect --format '{{.Id}}' "$tag"
