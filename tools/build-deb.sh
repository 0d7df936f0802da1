#!/usr/bin/env bash
# Builds the Debian package h5swmrfs_VERSION_ARCH.deb from this tree.
#   tools/build-deb.sh [OUTDIR]      default OUTDIR: build-deb/ in the tree
# The tree is copied to a temporary directory (what git tracks plus new files it does
# not ignore, else everything but .git and build*/), packaging/debian becomes debian/
# there, and dpkg-buildpackage builds the binary packages; the .deb files land in OUTDIR.
# Needs the build dependencies of packaging/debian/control (tools/install-deps.sh
# installs them). JOBS=N limits the compile jobs (default: one per core); the copy is
# made under $TMPDIR (default /tmp).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build-deb}

upstream=$(sed -n "s/^ *version: *'\([^']*\)'.*/\1/p" "$root/meson.build" | head -n 1)
package_version=$(dpkg-parsechangelog -l "$root/packaging/debian/changelog" -S Version)
if [ "${package_version%%-*}" != "$upstream" ]; then
    echo "build-deb: packaging/debian/changelog is at $package_version but meson.build at $upstream;" \
         "add a changelog entry (dch -v $upstream)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/h5swmrfs-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
src=$work/h5swmrfs-$upstream
mkdir "$src"

if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Files deleted but not yet committed are still listed: --ignore-missing-args.
    git -C "$root" ls-files -z --cached --others --exclude-standard |
        rsync -a --from0 --files-from=- --ignore-missing-args "$root/" "$src/"
else
    rsync -a --exclude=/.git --exclude='/build*/' --exclude=__pycache__ --exclude='*.pyc' \
        "$root/" "$src/"
fi
rm -rf "$src/debian"
cp -a "$src/packaging/debian" "$src/debian"

echo "build-deb: building h5swmrfs $package_version in $src" >&2
if ! (cd "$src" && dpkg-buildpackage -b -us -uc -j"${JOBS:-auto}"); then
    echo "build-deb: dpkg-buildpackage failed (missing build dependencies: bash tools/install-deps.sh)" >&2
    exit 1
fi

mkdir -p "$out"
shopt -s nullglob
debs=("$work"/*.deb)
if [ ${#debs[@]} -eq 0 ]; then
    echo "build-deb: dpkg-buildpackage made no .deb" >&2
    exit 1
fi
cp "${debs[@]}" "$out/"
for deb in "${debs[@]}"; do echo "$out/$(basename "$deb")"; done
