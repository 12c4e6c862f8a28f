#!/bin/sh
# libgm.so exports exactly the API that framework/include/gm declares
# (gm/api.h): fails naming each symbol exported but declared in no public
# header (an internal helper that leaked) and each one declared but not
# exported (a header without GM_API_BEGIN, or a function defined nowhere).
# usage: test_exports.sh SOURCE_DIR LIBGM [CC]
set -eu
src=$(cd "$1" && pwd)
lib=$2
cc=${3:-cc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
include="$src/framework/include"

for h in "$include"/gm/*.h; do
    echo "#include \"$h\""
done >"$work/all.c"
# GCC's -aux-info writes the prototype of every function a unit declares,
# after a comment naming its header: those of gm/*.h are the API's
# functions. Clang has no -aux-info: then the gcc on PATH, if any.
: >"$work/empty.c"
for compiler in "$cc" gcc ""; do
    [ -n "$compiler" ] || {
        echo "skipped: no compiler with -aux-info (GCC) to list the API" >&2
        exit 77
    }
    "$compiler" -fsyntax-only -aux-info "$work/aux" "$work/empty.c" \
        2>/dev/null && break
done
"$compiler" -std=gnu11 -I"$include" -fsyntax-only -aux-info "$work/aux" \
    "$work/all.c"
grep -F "/* $include/gm/" "$work/aux" | grep -F "*/ extern " |
    sed -E 's/^.*[ *]([A-Za-z_][A-Za-z0-9_]*) \(.*$/\1/' >"$work/declared"
# The API's objects: `extern` declarations of gm/*.h.
cat "$include"/gm/*.h |
    sed -n -E 's/^extern [^(]*[ *]([A-Za-z_][A-Za-z0-9_]*)(\[[^]]*\])* *;.*$/\1/p' \
        >>"$work/declared"
sort -u -o "$work/declared" "$work/declared"
test -s "$work/declared"

# What libgm exports, less the toolchain's own names (_init, __bss_start).
nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^_' |
    sort -u >"$work/exported"

status=0
for name in $(comm -23 "$work/exported" "$work/declared"); do
    echo "exported but declared in no header of framework/include/gm: $name" >&2
    status=1
done
for name in $(comm -13 "$work/exported" "$work/declared"); do
    echo "declared in framework/include/gm but not exported: $name" >&2
    status=1
done
[ $status -eq 0 ] &&
    echo "libgm exports its $(wc -l <"$work/declared") public symbols and nothing else"
exit $status
