#!/bin/bash
# The signals a run meets besides Ctrl-C and SIGTERM (test_nothing_lost.sh):
# a hangup (the terminal or ssh session closed) checkpoints, marks the file
# interrupted and exits 129, also when it comes twice, and --resume goes
# on; under nohup a hangup is ignored and the run completes; progress to a
# pipe whose reader is gone (gm run x.yaml 2>&1 | head -1) does not kill gm
# (SIGPIPE): printing stops and the run completes.
# usage: test_signals.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
gm="$2/gm"
# shellcheck source=support/gm_shell.sh
. "$1/tests/support/gm_shell.sh"

# Long enough to be training when the signal comes (a checkpoint every
# 100 steps of 4000), with an evaluation line every 400 steps.
cat >"$work/x.yaml" <<'YAML'
experiment: signals
seeds: [1, 2]
dataset: {name: ring, modes: 8, radius: 2.0, std: 0.02, size: 4000}
train: {steps: 4000, batch_size: 64, optimizer: {name: adam, lr: 1.0e-3}}
eval: {every: 400, samples: 200}
checkpoint: {every: 100}
models:
  vae:
    objective: vae_elbo
    encoder: {hidden: [32]}
    decoder: {hidden: [32]}
YAML

# A hangup: like SIGTERM, exit 128 + 1.
out="$work/hup.h5"
"$gm" run "$work/x.yaml" --out "$out" --jobs 1 2>"$work/hup.log" &
pid=$!
wait_for_checkpoint "$out"
kill -HUP $pid
rc=0
wait $pid || rc=$?
[ $rc -eq 129 ] || fail "SIGHUP: exit $rc, not 129"
[ "$(status_of "$out")" = interrupted ] || fail "SIGHUP: status"
grep -q "gm run --resume $out" "$work/hup.log" || fail "SIGHUP: no hint"
"$gm" run --resume "$out" --quiet
[ "$(status_of "$out")" = complete ] || fail "SIGHUP: status after resume"
pass "SIGHUP: exit 129, status interrupted, --resume completes"

# A closing terminal may send two hangups (the shell's, then the kernel's
# as the session leader exits): the second must not cut the checkpoint.
# Wide networks make the checkpoint (50 MB) take longer than the 10 ms
# between the two, so that the second comes while gm writes it.
sed 's/hidden: \[32\]/hidden: [1024, 1024]/' "$work/x.yaml" >"$work/wide.yaml"
out="$work/hup2.h5"
"$gm" run "$work/wide.yaml" --out "$out" --jobs 1 2>/dev/null &
pid=$!
wait_for_checkpoint "$out"
kill -HUP $pid
sleep 0.01
kill -HUP $pid 2>/dev/null || true
rc=0
wait $pid || rc=$?
[ $rc -eq 129 ] || fail "two SIGHUPs: exit $rc, not 129"
[ "$(status_of "$out")" = interrupted ] || fail "two SIGHUPs: status"
pass "two SIGHUPs: still checkpointed and marked interrupted"

# Under nohup the hangup stays ignored: the run completes.
out="$work/nohup.h5"
nohup "$gm" run "$work/x.yaml" --out "$out" --jobs 1 >/dev/null 2>&1 &
pid=$!
wait_for_checkpoint "$out"
kill -HUP $pid
rc=0
wait $pid || rc=$?
[ $rc -eq 0 ] || fail "nohup then SIGHUP: exit $rc"
[ "$(status_of "$out")" = complete ] || fail "nohup then SIGHUP: status"
pass "under nohup a hangup is ignored, the run completes"

# Progress into a pipe whose reader has gone: gm stops printing and
# trains to the end instead of dying of SIGPIPE with the file "running".
out="$work/pipe.h5"
set +e
"$gm" run "$work/x.yaml" --out "$out" --jobs 1 2>&1 | head -1 >"$work/first"
codes=("${PIPESTATUS[@]}")
set -e
grep -q "gm run: $work/x.yaml" "$work/first" || fail "pipe: first line"
[ "${codes[0]}" -eq 0 ] || fail "pipe closed: gm exited ${codes[0]}"
[ "$(status_of "$out")" = complete ] || fail "pipe closed: status"
"$gm" summary "$out" >/dev/null || fail "pipe closed: summary"
pass "a closed progress pipe: printing stops, the run completes"
