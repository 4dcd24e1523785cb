#!/bin/sh
# Records how it was called, for tests/actions_exec.rs: its arguments one
# per line ("arg=..."), the variables named in $RECORD_ENV ("env:NAME=...")
# and its pid ("pid=...") into the file $RECORD_FILE. Then prints to stdout
# and stderr, and optionally:
#   RECORD_CHILD=1    starts a background child, its pid in $RECORD_FILE.child
#   RECORD_SLEEP=N    sleeps N seconds
#   RECORD_EXIT=N     exits with N
out="${RECORD_FILE:?RECORD_FILE names the file to write}"
{
    echo "pid=$$"
    for arg in "$@"; do
        printf 'arg=%s\n' "$arg"
    done
    for name in ${RECORD_ENV:-}; do
        printf 'env:%s=%s\n' "$name" "$(printenv "$name")"
    done
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "out: started with $# arguments"
echo "err: a warning" >&2
if [ -n "${TOKEN:-}" ]; then
    echo "out: token is $TOKEN"
fi
if [ "${RECORD_CHILD:-}" = 1 ]; then
    sleep 60 &
    echo "$!" > "$out.child"
fi
if [ -n "${RECORD_SLEEP:-}" ]; then
    echo "out: sleeping"
    sleep "$RECORD_SLEEP"
fi
echo "out: done"
exit "${RECORD_EXIT:-0}"
