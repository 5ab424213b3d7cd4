#!/bin/sh
# Build the drover and drover-guest RPMs from the Nuitka binaries in build/.
# Usage: packaging/rpm.sh [OUTDIR]   (default dist/); run `make build` first.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/dist}
work=$top/build/rpm
command -v rpmbuild >/dev/null || { echo "rpm.sh: rpmbuild missing; run 'make deps' (Debian package rpm)" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work/SOURCES" "$out"
version=$(sed -n 's/^Version: *//p' "$top/packaging/drover.spec")
python=${PYTHON:-$top/.venv/bin/python}
stage() { # NAME CONFIG EXTRA-FILES...
    name=$1; conf=$2; shift 2
    [ -x "$top/build/$name.dist/$name" ] || { echo "rpm.sh: build/$name.dist missing; run 'make build'" >&2; exit 1; }
    dir=$work/stage/$name-$version
    mkdir -p "$dir"
    cp -a "$top/build/$name.dist" "$dir/"
    cp "$top/config/$conf" "$top/COPYING" "$dir/"
    cp "$top/packaging/README.$name" "$dir/README"
    for f in "$@"; do cp "$top/packaging/$f" "$dir/"; done
    # the man pages and completions, from the programs' own usage texts
    "$python" "$top/packaging/manpages.py" "$dir/doc" >/dev/null
    # what distributions' build systems do (dh_strip, brp-strip): no symbol tables in shipped objects
    find "$dir/$name.dist" -type f \( -name '*.so' -o -name '*.so.*' -o -name "$name" \) \
        -exec strip --strip-unneeded {} +
    tar -C "$work/stage" -czf "$work/SOURCES/$name-$version.tar.gz" "$name-$version"
    rpmbuild --quiet --load "$top/packaging/macros.systemd" --define "_topdir $work" \
        --define "_rpmdir $out" --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
        -bb "$top/packaging/$name.spec"
}
stage drover drover.conf drover.service
stage drover-guest guest.conf drover-guest.service drover-guest.xml
ls "$out"/*.rpm
