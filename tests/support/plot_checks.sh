# Sourced by the tests of the analysis scripts: the Python they run, a
# work directory removed on exit, fail and check_png. Exits 77 (skipped)
# when python3 lacks h5py, matplotlib or numpy.
py=/usr/bin/python3
if ! "$py" -c "import h5py, matplotlib, numpy" 2>/dev/null; then
    echo "SKIP: $py cannot import h5py, matplotlib and numpy"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# A PNG of non-trivial size: it starts with the 8-byte signature
# 89 50 4E 47 0D 0A 1A 0A and has more than 10 kB.
check_png() {
    local f=$1
    [ -f "$f" ] || fail "$f was not written"
    local sig
    sig=$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')
    [ "$sig" = "89504e470d0a1a0a" ] || fail "$f is not a PNG (starts $sig)"
    local size
    size=$(stat -c %s "$f")
    [ "$size" -gt 10000 ] || fail "$f is only $size bytes"
}
