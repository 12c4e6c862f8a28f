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
"$gm" summary "$work/a.h5" >"$work/summary"
grep -q "lsgan" "$work/summary"
# Without the library, the units of the plugin's metrics come from the
# run file, where its schema's declarations were written.
if ! grep -q "^d_score_real, d_score_fake: discriminator score, a diagnostic" \
    "$work/summary"; then
    echo "the plugin's metrics have no unit in the summary:" >&2
    cat "$work/summary" >&2
    exit 1
fi
# gm summary with the library shows the plugin's headline, not its loss.
"$gm" summary "$work/a.h5" --plugin "$lib" >"$work/summary"
header=$(grep "^model " "$work/summary")
case "$header" in
*"d_score_real"*"d_score_fake"*"modes_covered"*) ;;
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
# A swept plugin model: each point records the swept model's library.
"$gm" run "$src/models/example_plugin/lsgan.yaml" \
    --set models.lsgan.plugin="$lib" --set train.steps=20 \
    --set eval.every=20 --set 'sweep.models.lsgan.latent_dim=[2,3]' \
    --out "$work/swept.h5" --quiet
(cd / && "$gm" sample "$work/swept.h5" --model 'lsgan[latent_dim=3]' -n 2 \
    >"$work/samples")
test "$(wc -l <"$work/samples")" -eq 2
# gm list shows the plugin's parameters.
"$gm" list objectives --plugin "$lib" >"$work/list"
grep -q "^lsgan" "$work/list"
grep -q "d_steps" "$work/list"

# A relative plugin: path is taken from the experiment file's directory,
# whatever the directory gm runs in; the run file records it absolute, so
# gm sample finds it from anywhere, as it finds a --plugin library.
mkdir -p "$work/exp" "$work/elsewhere"
sed 's/^    objective: lsgan$/    objective: lsgan\n    plugin: ..\/build\/liblsgan.so/' \
    "$src/models/example_plugin/lsgan.yaml" >"$work/exp/lsgan.yaml"
grep -q "plugin: ../build/liblsgan.so" "$work/exp/lsgan.yaml"
(cd "$work/elsewhere" &&
    "$gm" run ../exp/lsgan.yaml --set train.steps=40 --set eval.every=20 \
        --out rel.h5 --quiet)
for run in a.h5 elsewhere/rel.h5; do
    (cd / && "$gm" sample "$work/$run" --model lsgan -n 7 >"$work/samples")
    test "$(wc -l <"$work/samples")" -eq 7
    test "$(head -1 "$work/samples" | tr ',' '\n' | wc -l)" -eq 2
done
(cd / && "$gm" sample "$work/a.h5" --model lsgan -n 3 --plugin "$lib" \
    >/dev/null)

# Sampling a built-in model does not need the other models' plugins.
cp "$lib" "$work/libgone.so"
"$gm" run "$src/models/example_plugin/lsgan.yaml" --plugin "$work/libgone.so" \
    --set 'models.gan={objective: gan, generator: {hidden: [8]}, discriminator: {hidden: [8]}}' \
    --set train.steps=20 --out "$work/mixed.h5" --quiet
rm "$work/libgone.so"
"$gm" sample "$work/mixed.h5" --model gan -n 4 >"$work/samples"
test "$(wc -l <"$work/samples")" -eq 4
if "$gm" sample "$work/mixed.h5" --model lsgan -n 4 2>"$work/err"; then
    echo "sampling a model whose plugin is gone must fail" >&2
    exit 1
fi
grep -q "libgone.so" "$work/err"
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
echo "plugin example: built out of tree, ran, listed and sampled from" \
    "anywhere; bad libraries refused"
