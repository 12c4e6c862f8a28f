#!/bin/bash
# Nothing lost, through the gm command as a user meets it: kill -9 then
# --resume gives the summary of an uninterrupted run; SIGINT and SIGTERM
# checkpoint, mark the file interrupted and say how to go on; a second
# writer fails at once, whatever name or link reaches the file; an existing
# --out is refused, --force replaces it only when the new file is complete
# (after kill -9 its work goes on with --resume PATH.new); an input, a
# directory, a FIFO or a device as --out is refused; a damaged file is an
# error for every reader and for --resume; reads
# of a live file always succeed; a write error (ulimit -f) is reported
# with the file and the cause, the process ending cleanly.
# usage: test_nothing_lost.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src=$1
gm="$2/gm"
# shellcheck source=support/gm_shell.sh
. "$1/tests/support/gm_shell.sh"

cat >"$work/x.yaml" <<'YAML'
experiment: lost
seeds: [1, 2]
dataset: {name: ring, modes: 8, radius: 2.0, std: 0.02, size: 4000}
train: {steps: 6000, batch_size: 64, optimizer: {name: adam, lr: 1.0e-3}}
eval: {every: 1500, samples: 300}
checkpoint: {every: 100}
models:
  vae:
    objective: vae_elbo
    encoder: {hidden: [64, 64]}
    decoder: {hidden: [64, 64]}
    params: {sigma: 0.1, iwae_k: 8}
  gan:
    objective: gan
    generator: {hidden: [64, 64]}
    discriminator: {hidden: [64, 64]}
YAML

# wait_for_checkpoint finds the first run's checkpoint at step 100 of
# 6000, with three runs to go, so a fast idle machine is still training
# when the test acts.

# The reference: the same experiment never stopped.
"$gm" run "$work/x.yaml" --out "$work/whole.h5" --quiet --jobs 2
"$gm" summary "$work/whole.h5" --csv >"$work/whole.csv"

# kill -9 in the middle, then --resume: the same summary.
"$gm" run "$work/x.yaml" --out "$work/killed.h5" --quiet --jobs 2 &
pid=$!
wait_for_checkpoint "$work/killed.h5"
kill -9 $pid
wait $pid 2>/dev/null || true
[ "$(status_of "$work/killed.h5")" = running ] || fail "status after kill -9"
"$gm" summary "$work/killed.h5" 2>&1 >/dev/null |
    grep -q "no gm run is writing .*gm run --resume" ||
    fail "gm summary of a killed file does not say how to go on"
"$gm" run --resume "$work/killed.h5" --quiet --jobs 1
[ "$(status_of "$work/killed.h5")" = complete ] || fail "status after resume"
"$gm" summary "$work/killed.h5" --csv >"$work/killed.csv"
diff "$work/whole.csv" "$work/killed.csv" || fail "summary after resume"
pass "kill -9 then --resume gives the uninterrupted summary"

# A run that finishes is in the file at once, even while an earlier run of
# the file's order still trains (a slow vae beside a fast gan, 2 jobs).
"$gm" run "$work/x.yaml" --out "$work/order.h5" --quiet --jobs 2 \
    --set 'seeds=[1]' --set 'models.vae.encoder.hidden=[512, 512]' \
    --set 'models.vae.decoder.hidden=[512, 512]' --set train.steps=3000 \
    --set models.vae.train.steps=60000 &
pid=$!
# until the gan is complete and the vae (20x longer) has a checkpoint
for _ in $(seq 1 2400); do
    h5dump -a /models/gan/seed_1/status "$work/order.h5" 2>/dev/null |
        grep '"complete"' >/dev/null &&
        h5ls -r "$work/order.h5" 2>/dev/null |
        grep "vae/seed_1/checkpoint/run/step" >/dev/null && break
    sleep 0.05
done
h5dump -a /models/vae/seed_1/status "$work/order.h5" | grep -q '"running"' ||
    fail "the vae should still be training"
kill -9 $pid
wait $pid 2>/dev/null || true
h5dump -a /models/gan/seed_1/status "$work/order.h5" | grep -q '"complete"' ||
    fail "the finished gan is not in the file"
h5ls -r "$work/order.h5" | grep "vae/seed_1/checkpoint/run/step" >/dev/null ||
    fail "the vae has no checkpoint"
pass "a finished run is in the file at once, whatever the order"

# SIGINT and SIGTERM: checkpoint, status interrupted, how to go on.
for sig in INT TERM; do
    out="$work/sig_$sig.h5"
    # one job: the runs after the first checkpoint leave time
    "$gm" run "$work/x.yaml" --out "$out" --jobs 1 2>"$work/sig.log" &
    pid=$!
    wait_for_checkpoint "$out"
    kill -$sig $pid
    rc=0
    wait $pid || rc=$?
    want=$([ $sig = INT ] && echo 130 || echo 143)
    [ $rc -eq "$want" ] || fail "SIG$sig: exit $rc, not $want"
    [ "$(status_of "$out")" = interrupted ] || fail "SIG$sig: status"
    grep -q "gm run --resume $out" "$work/sig.log" || fail "SIG$sig: no hint"
    pass "SIG$sig: exit $rc, status interrupted, resume hint"
done
"$gm" run --resume "$work/sig_INT.h5" --quiet
# A second SIGINT stops at once; the last published file stays readable.
"$gm" run "$work/x.yaml" --out "$work/twice.h5" --quiet --jobs 1 &
pid=$!
wait_for_checkpoint "$work/twice.h5"
kill -INT $pid
kill -INT $pid
rc=0
wait $pid || rc=$?
[ $rc -eq 130 ] || fail "two SIGINTs: exit $rc"
"$gm" summary "$work/twice.h5" >/dev/null || fail "file after two SIGINTs"
pass "a second SIGINT stops at once, the file stays readable"
"$gm" summary "$work/sig_INT.h5" --csv >"$work/sig.csv"
diff "$work/whole.csv" "$work/sig.csv" || fail "summary after SIGINT+resume"
pass "SIGINT then --resume gives the uninterrupted summary"

# One writer per file; readers always succeed while it writes. 40000 steps
# keep it writing while the second writer tries, on a fast idle machine too.
"$gm" run "$work/x.yaml" --out "$work/live.h5" --quiet --jobs 2 \
    --set train.steps=40000 &
pid=$!
wait_for_checkpoint "$work/live.h5"
rc=0
"$gm" run --resume "$work/live.h5" 2>"$work/second.log" || rc=$?
[ $rc -eq 1 ] || fail "second writer: exit $rc"
grep -q "being written by another gm run (pid $pid)" "$work/second.log" ||
    fail "second writer: $(cat "$work/second.log")"
pass "a second writer fails at once, naming the first"
if /usr/bin/python3 -c "import h5py" 2>/dev/null; then
    /usr/bin/python3 - "$work/live.h5" $pid >"$work/h5py.log" 2>&1 <<'PY' &
import os, sys, h5py
path, pid, n = sys.argv[1], int(sys.argv[2]), 0
def alive():
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False
while n < 300 and alive():
    with h5py.File(path, "r") as f:
        for m in f["models"]:
            for s in f["models"][m].values():
                if "metrics" in s:  # a run not begun has no series yet
                    s["metrics"]["step"][()]
    n += 1
print("h5py reads:", n)
PY
    reader=$!
fi
reads=0
while kill -0 $pid 2>/dev/null && [ $reads -lt 200 ]; do
    "$gm" summary "$work/live.h5" >/dev/null || fail "gm summary of a live file"
    reads=$((reads + 1))
done
if [ -n "${reader:-}" ]; then
    wait $reader || fail "h5py: $(cat "$work/h5py.log")"
    reads="$reads gm summary and $(cut -d' ' -f3 "$work/h5py.log") h5py"
fi
wait $pid || fail "the live run failed"
[ "$(status_of "$work/live.h5")" = complete ] || fail "live run status"
pass "$reads reads of a live file, all fine; the run completed"

# An existing --out is refused; --force replaces it only when complete.
rc=0
"$gm" run "$work/x.yaml" --out "$work/whole.h5" 2>"$work/exists.log" || rc=$?
[ $rc -eq 1 ] || fail "existing --out: exit $rc"
grep -q "use 'gm run --resume" "$work/exists.log" || fail "existing --out msg"
cp "$work/whole.h5" "$work/forced.h5"
"$gm" run "$work/x.yaml" --out "$work/forced.h5" --force --quiet --jobs 1 &
pid=$!
wait_for_checkpoint "$work/forced.h5.new"
# One lock per file, by whatever name: the file being written (.new) and a
# link to the file being replaced are refused.
ln -s forced.h5 "$work/link.h5"
for busy in forced.h5.new link.h5; do
    rc=0
    "$gm" run --resume "$work/$busy" --quiet 2>"$work/busy.log" || rc=$?
    [ $rc -eq 1 ] && grep -q "being written by another gm run" "$work/busy.log" ||
        fail "--resume $busy beside the --force writer: exit $rc: $(cat "$work/busy.log")"
done
[ -L "$work/link.h5" ] || fail "the link was replaced"
kill -9 $pid
wait $pid 2>/dev/null || true
cmp "$work/whole.h5" "$work/forced.h5" || fail "--force touched the old file"
rc=0
"$gm" run "$work/x.yaml" --out "$work/forced.h5" 2>"$work/unfinished.log" || rc=$?
[ $rc -eq 1 ] && grep -q "forced.h5.new holds the work of an unfinished --force: go on with 'gm run --resume" "$work/unfinished.log" ||
    fail "no word of forced.h5.new: exit $rc: $(cat "$work/unfinished.log")"
# The new work, in forced.h5.new, goes on with --resume; then it is moved
# over the old file by hand (README: "Stopping and resuming").
"$gm" run --resume "$work/forced.h5.new" --quiet --jobs 2
cmp "$work/whole.h5" "$work/forced.h5" || fail "resuming .new touched the old file"
"$gm" summary "$work/forced.h5.new" --csv >"$work/forced.csv"
diff "$work/whole.csv" "$work/forced.csv" || fail "summary of the resumed .new"
mv "$work/forced.h5.new" "$work/forced.h5"
"$gm" run "$work/x.yaml" --out "$work/forced.h5" --force --quiet \
    --set train.steps=600
[ ! -e "$work/forced.h5.new" ] || fail "--force left forced.h5.new"
h5dump -a /config_yaml "$work/forced.h5" | grep -q "steps: 600" ||
    fail "--force did not replace the file"
pass "existing --out refused; --force replaces only a complete file; after kill -9 its work goes on with --resume PATH.new; one lock through links and .new"

# --out a directory, a FIFO or a device: refused before training (no
# lock, no .new), even with --force, and left as it was.
mkfifo "$work/fifo.h5"
for out in "$work" "$work/fifo.h5" /dev/null; do
    rc=0
    "$gm" run "$work/x.yaml" --out "$out" --force --quiet 2>"$work/notfile.log" ||
        rc=$?
    [ $rc -eq 1 ] && grep -q "names the run file to write" "$work/notfile.log" ||
        fail "--out $out --force: exit $rc: $(cat "$work/notfile.log")"
done
[ -p "$work/fifo.h5" ] && [ ! -e "$work/fifo.h5.new" ] &&
    [ ! -e "$work/.fifo.h5.lock" ] || fail "the FIFO was touched"
[ -c /dev/null ] || fail "/dev/null is no longer a device"
pass "--out a directory, FIFO or device is refused before training"

# A damaged file (bytes flipped in its metadata): every reader and
# --resume give an error naming it, never a signal.
for at in 600 1100 1500 2300 3000 4100 5200 7000; do
    cp "$work/whole.h5" "$work/damaged.h5"
    byte=$(od -An -tu1 -j $at -N 1 "$work/whole.h5")
    # shellcheck disable=SC2059
    printf "\\$(printf %o $((byte ^ 255)))" |
        dd of="$work/damaged.h5" bs=1 seek=$at conv=notrunc 2>/dev/null
    ! cmp -s "$work/whole.h5" "$work/damaged.h5" || fail "byte $at not flipped"
    for cmd in "summary $work/damaged.h5" \
        "sample $work/damaged.h5 --model vae -n 3" \
        "run --resume $work/damaged.h5 --quiet"; do
        rc=0
        # shellcheck disable=SC2086
        "$gm" $cmd >/dev/null 2>"$work/damaged.log" || rc=$?
        [ $rc -eq 1 ] && grep -q "damaged.h5: damaged" "$work/damaged.log" ||
            fail "gm $cmd, byte $at flipped: exit $rc: $(cat "$work/damaged.log")"
    done
done
pass "a damaged file is an error: $(cat "$work/damaged.log")"

# Inputs are never the output; usage errors exit 2.
cp "$work/x.yaml" "$work/keep.yaml"
rc=0
"$gm" run "$work/x.yaml" --out "$work/x.yaml" --force 2>"$work/in.log" || rc=$?
[ $rc -eq 1 ] && grep -q "one of the experiment's inputs" "$work/in.log" ||
    fail "--out = the YAML file: exit $rc: $(cat "$work/in.log")"
cmp "$work/x.yaml" "$work/keep.yaml" || fail "the YAML file was touched"
rc=0
"$gm" run "$work/x.yaml" --out "" 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "--out '': exit $rc"
for args in "" "''" "--resume" "--resume $work/whole.h5 $work/x.yaml" \
    "--resume $work/whole.h5 --set train.steps=5"; do
    rc=0
    eval "\"\$gm\" run $args" 2>"$work/usage.log" || rc=$?
    [ $rc -eq 2 ] && [ -s "$work/usage.log" ] ||
        fail "gm run $args: exit $rc: $(cat "$work/usage.log")"
done
pass "an input as --out is refused; usage errors of gm run exit 2"

# A write error (the file size limit): the file and the cause, exit 1.
rc=0
(ulimit -f 64 && exec "$gm" run "$work/x.yaml" --out "$work/big.h5" \
    --quiet) 2>"$work/efbig.log" || rc=$?
[ $rc -eq 1 ] || fail "write error: exit $rc: $(cat "$work/efbig.log")"
grep -q "big.h5.*File too large" "$work/efbig.log" ||
    fail "write error message: $(cat "$work/efbig.log")"
pass "a write error names the file and the cause: $(tail -n 1 "$work/efbig.log")"
echo "nothing lost: all passed"
