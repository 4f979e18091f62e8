#!/usr/bin/env bash
#  Bash completion for zmx: source it (with the bash-completion package's
#  library, and without it) and check what a few command lines complete to.
#  usage: completion.sh BIN_DIR COMPLETION_FILE
set -uo pipefail
bin=$1 completion=$2
library=/usr/share/bash-completion/bash_completion
[[ -r $library ]] || { echo "SKIP: no $library (install bash-completion)"; exit 77; }

run() {
    local with_library=$1
    PATH=$bin:$PATH bash --norc --noprofile -s "$with_library" "$completion" "$library" <<'SCRIPT'
with_library=$1 completion=$2 library=$3
if [[ $with_library == yes ]]; then
    # shellcheck disable=SC1090
    source "$library"
fi
# shellcheck disable=SC1090
source "$completion"
failures=0
#  expect LINE MODE WORD...: complete LINE (the cursor at its end); MODE is
#  "exactly" (the candidates are the WORDs) or "has" (they include them)
#  or "lacks" (they include none of them)
expect() {
    local line=$1 mode=$2
    shift 2
    read -r -a COMP_WORDS <<<"$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$line COMP_POINT=${#line}
    COMPREPLY=()
    _zmx zmx "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    local got
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ')
    local word ok=1
    case $mode in
        exactly) [[ $got == "$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')" ]] || ok=0 ;;
        has) for word; do [[ " $got" == *" $word "* ]] || ok=0; done ;;
        lacks) for word; do [[ " $got" == *" $word "* ]] && ok=0; done ;;
    esac
    if ((ok)); then
        echo "ok: '$line<TAB>' $mode $*"
    else
        echo "FAIL: '$line<TAB>' should give ($mode) $*; got: $got"
        failures=$((failures + 1))
    fi
}
expect "zmx ser" exactly services
expect "zmx " has call worker services files peers config names keygen version help
expect "zmx files " exactly serve sync ls
expect "zmx files s" exactly serve sync
expect "zmx call --ti" exactly --timeout
expect "zmx call -" has -b --broker -t -r --hex --wait --durable --packed --curve-cert --server-key
expect "zmx worker --" has --echo --credit --heartbeat --liveness
expect "zmx files serve --" has --path --curve --clients --endpoint
expect "zmx files serve --" lacks --follow --verify
expect "zmx files sync --ver" exactly --verify
expect "zmx files sync --verify " exactly auto sha1
expect "zmx files -e tcp://127.0.0.1:1 sy" exactly sync
expect "zmx config " exactly set get rm ls watch load dump
expect "zmx names -t 100 " exactly set rm get ls watch
expect "zmx names get --f" exactly --file
expect "zmx peers --interf" exactly --interface
expect "zmx peers -i " has lo
expect "zmx help wor" exactly worker
expect "zmx log " exactly send tail
expect "zmx log tail --" has --follow --from-start --since --durable --json
expect "zmx log tail --" lacks --level --id
expect "zmx log send --le" exactly --level
expect "zmx log send --level e" exactly emerg error
expect "zmx streams " has rm purge
expect "zmx console --gr" exactly --grep
exit $((failures > 0))
SCRIPT
}

status=0
echo "with the bash-completion library:"
run yes || status=1
echo "without it:"
run no || status=1
exit $status
