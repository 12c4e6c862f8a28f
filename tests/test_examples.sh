#!/usr/bin/env bash
# examples/vae_ring.c, the program a new engineer reads first: it trains,
# its run file is one gm summary reads, and it refuses to overwrite a file.
# Usage: test_examples.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=support/gm_shell.sh
. "$src/tests/support/gm_shell.sh"

out=$("$build/examples/vae_ring" "$work/vae.h5" 500) ||
    fail "vae_ring exited with $?: $out"
rows=$(grep -c "^step .* elbo .* nats$" <<<"$out") || true
[ "$rows" = 5 ] || fail "5 evaluations expected, got: $out"
final=$(sed -n 's/^step   500  elbo *\(-*[0-9.]*\) nats$/\1/p' <<<"$out")
[ -n "$final" ] || fail "no ELBO at step 500 in: $out"
# a VAE on the ring with a unit-variance likelihood has an ELBO near -4
# nats; an untrained one is far below
awk -v e="$final" 'BEGIN { exit !(e > -6 && e < -1) }' ||
    fail "ELBO $final at step 500, expected within (-6, -1)"
pass "vae_ring trains (ELBO $final nats at step 500)"

summary=$("$build/gm" summary "$work/vae.h5") || fail "gm summary: $summary"
grep -q "vae_ring: complete" <<<"$summary" || fail "not complete: $summary"
shown=$(awk '$1 == "vae" && $2 == "vae_elbo" && $3 == 1 { print $4 }' <<<"$summary")
awk -v a="$shown" -v b="$final" 'BEGIN { d = a - b; exit !(a != "" && d * d < 1e-4) }' ||
    fail "gm summary does not show the final ELBO $final: $summary"
pass "gm summary reads its run file"

if err=$("$build/examples/vae_ring" "$work/vae.h5" 500 2>&1); then
    fail "an existing run file was overwritten"
fi
grep -q "vae.h5" <<<"$err" || fail "the refusal does not name the file: $err"
pass "an existing run file is refused: $err"
