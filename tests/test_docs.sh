#!/bin/bash
# The docs a new user follows: README.md's shell commands call the gm
# that `make build` makes (build/gm, not a gm on PATH), every `make`
# target it names exists, and no file points to a DESIGN.md that is not
# in the repository.
# usage: test_docs.sh SOURCE_DIR
set -euo pipefail
src=$1

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Lines of README.md's ```sh blocks.
sh_lines=$(awk '/^```/ { inside = ($0 == "```sh"); next } inside' \
    "$src/README.md")
[ -n "$sh_lines" ] || fail "README.md has no sh code blocks"
bare=$(grep -E '^(gm|\$ gm) ' <<<"$sh_lines" || true)
[ -z "$bare" ] || fail "README.md calls gm, not build/gm: $bare"

for target in $(grep -oE '`make [a-z_]+' "$src/README.md" | sort -u |
    cut -d' ' -f2); do
    grep -qE "^$target:" "$src/Makefile" ||
        fail "README.md names 'make $target', which the Makefile lacks"
done

# Every run file README.md's commands read is one a command writes:
# runs/x.h5 stands for any, runs/NAME.h5 is experiments/NAME.yaml's or
# an example program's (build/examples/P runs/NAME.h5); the
# Quick start names the file `make run` writes (issue 27).
for name in $(grep -oE 'runs/[a-z_]+\.h5' <<<"$sh_lines" | sort -u |
    sed 's|runs/||; s|\.h5||'); do
    [ "$name" = x ] || grep -qE "^experiment: $name( |$)" \
        "$src/experiments/$name.yaml" 2>/dev/null ||
        grep -qE "build/examples/[a-z_]+ runs/$name\.h5" <<<"$sh_lines" ||
        fail "README.md reads runs/$name.h5, which no experiment writes"
done
flagship=$(sed -n 's|.*gm run experiments/\([a-z_]*\)\.yaml.*|\1|p' \
    <<<"$(awk '/^run:/ { r = 1; next } r && /^[^\t]/ { exit } r' "$src/Makefile")")
[ -n "$flagship" ] || fail "the Makefile's run target runs no experiment"
awk '/^## Quick start/ { q = 1; next } q && /^## / { exit } q' \
    "$src/README.md" | grep -q "runs/$flagship\.h5" ||
    fail "README.md's Quick start does not name runs/$flagship.h5, which make run writes"

# docs/plugins.md's build of the example plugin: its CMakeLists.txt has
# the number of lines the page says, and the page installs gm where
# `make install` does.
said=$(grep -oE "CMakeLists.txt is [a-z]+ lines" "$src/docs/plugins.md" |
    awk '{ print $3 }')
words=(zero one two three four five six seven eight nine ten)
lines=$(grep -cvE '^[[:space:]]*(#|$)' "$src/models/example_plugin/CMakeLists.txt")
[ "$said" = "${words[$lines]:-many}" ] ||
    fail "docs/plugins.md says the plugin's CMakeLists.txt is '$said' lines, it has $lines"
prefix=$(sed -n 's|^PREFIX ?= \$(HOME)\(.*\)|$HOME\1|p' "$src/Makefile")
grep -qF -- "-DCMAKE_PREFIX_PATH=$prefix" "$src/docs/plugins.md" ||
    fail "docs/plugins.md's CMAKE_PREFIX_PATH is not make install's PREFIX ($prefix)"

design=$(grep -rIl --exclude-dir='build*' --exclude-dir=.git \
    --exclude=test_docs.sh 'DESIGN\.md' "$src" || true)
[ -z "$design" ] || fail "these point to a DESIGN.md outside the repo: $design"

# docs/plugins.md's gm_grad example is the code of
# tests/plugins/penalty_plugin.c between its markers, which the suite
# compiles and tests/test_plugin_api.c checks.
quoted=$(awk '/^## A loss with a gradient in it/ { sec = 1 }
    sec && /^```c$/ { inside = 1; next } inside && /^```$/ { exit }
    inside' "$src/docs/plugins.md")
marked=$(awk '/docs\/plugins.md: end/ { inside = 0 } inside;
    /docs\/plugins.md: begin/ { inside = 1 }' \
    "$src/tests/plugins/penalty_plugin.c")
[ -n "$marked" ] && [ "$quoted" = "$marked" ] ||
    fail "docs/plugins.md's gm_grad example differs from tests/plugins/penalty_plugin.c"

# Its gm/vae_eval.h example is tests/plugins/vae_plugin.c's, likewise.
quoted=$(awk '/^## The VAE.s held-out metrics/ { sec = 1 }
    sec && /^```c$/ { inside = 1; next } inside && /^```$/ { exit }
    inside' "$src/docs/plugins.md")
marked=$(awk '/docs\/plugins.md: end/ { inside = 0 } inside;
    /docs\/plugins.md: begin/ { inside = 1 }' \
    "$src/tests/plugins/vae_plugin.c")
[ -n "$marked" ] && [ "$quoted" = "$marked" ] ||
    fail "docs/plugins.md's gm/vae_eval.h example differs from tests/plugins/vae_plugin.c"

echo "docs: README commands call build/gm and read files they write, its make targets exist, no DESIGN.md"
