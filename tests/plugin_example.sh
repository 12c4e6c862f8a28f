#!/bin/sh
# Installs gm from the build tree into a scratch prefix, builds the example
# plugin out of tree with find_package(gm), and runs it through `plugin:`
# and --plugin, so docs/plugins.md cannot go stale.
# usage: plugin_example.sh SOURCE_DIR BINARY_DIR
set -eu
src=$1
bin=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$bin" --prefix "$work/prefix" >/dev/null
cmake -S "$src/models/example_plugin" -B "$work/build" \
    -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
lib="$work/build/liblsgan.so"
test -f "$lib"

gm="$work/prefix/bin/gm"
# With --plugin:
"$gm" run "$src/models/example_plugin/lsgan.yaml" --plugin "$lib" \
    --set train.steps=60 --set eval.every=30 --out "$work/a.h5" --quiet
"$gm" summary "$work/a.h5" | grep -q "lsgan"
# gm summary with the library shows the plugin's headline, not its loss.
"$gm" summary "$work/a.h5" --plugin "$lib" >"$work/summary"
header=$(grep "^model " "$work/summary")
case "$header" in
*"d_real"*"d_fake"*"modes_covered"*) ;;
*) echo "the plugin's headline is not the summary's columns: $header" >&2
   exit 1 ;;
esac
if echo "$header" | grep -q "loss_"; then
    echo "a training loss among the headline columns: $header" >&2
    exit 1
fi
# With plugin: in the YAML:
"$gm" run "$src/models/example_plugin/lsgan.yaml" \
    --set models.lsgan.plugin="$lib" --set train.steps=60 \
    --out "$work/b.h5" --quiet
"$gm" list objectives >/dev/null
# A bad library is a clear error naming it.
if "$gm" run "$src/models/example_plugin/lsgan.yaml" --plugin "$work/nope.so" \
    --out "$work/c.h5" 2>"$work/err"; then
    echo "a missing plugin must fail" >&2
    exit 1
fi
grep -q "nope.so" "$work/err"

# A library without gm_objective_entry, and one built for another ABI.
cat >"$work/noentry.c" <<'C'
int not_an_objective(void) { return 0; }
C
cat >"$work/oldabi.c" <<'C'
#include <gm/objective.h>
static gm_objective o = {.abi = GM_OBJECTIVE_ABI + 1};
const gm_objective *gm_objective_entry(void) { return &o; }
C
cc=${CC:-cc}
"$cc" -shared -fPIC -o "$work/libnoentry.so" "$work/noentry.c"
"$cc" -shared -fPIC -I"$work/prefix/include" -o "$work/liboldabi.so" \
    "$work/oldabi.c"
for lib in noentry oldabi; do
    if "$gm" run "$src/models/example_plugin/lsgan.yaml" \
        --plugin "$work/lib$lib.so" --out "$work/d.h5" 2>"$work/err"; then
        echo "plugin lib$lib.so must be refused" >&2
        exit 1
    fi
    grep -q "lib$lib.so" "$work/err"
done
grep -q "ABI version mismatch" "$work/err"
echo "plugin example: built out of tree and ran; bad libraries refused"
