# Sourced by the shell tests that drive the gm command (nothing_lost,
# signals, memory_limits): a work directory removed on exit (any gm still
# running in the background is killed first), CI=1 for pipe-style
# progress, fail and pass, and two readers of a run file while it trains.
work=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export CI=1

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
pass() { echo "ok: $*"; }

# Waits (up to about 2 minutes, for a loaded machine) until the file at $1
# holds a checkpoint of the first run.
wait_for_checkpoint() {
    for _ in $(seq 1 2400); do
        # grep without -q reads all of h5ls's output: with pipefail, an
        # early exit would fail the pipe through h5ls's SIGPIPE
        if [ -f "$1" ] && h5ls -r "$1" 2>/dev/null |
            grep "seed_1/checkpoint/run/step" >/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    fail "no checkpoint appeared in $1"
}

# The root attribute status of the run file at $1.
status_of() {
    h5dump -a /status "$1" | sed -n 's/.*(0): "\(.*\)".*/\1/p'
}
