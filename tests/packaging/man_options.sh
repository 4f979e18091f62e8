#!/usr/bin/env bash
#  The man pages must document what the programs print, no more and no
#  less, so that they cannot drift from --help:
#  - zmx.1: every command of `zmx help` has a "## zmx COMMAND" section
#    (and "## zmx files VERB" for each verb with its own --help); each
#    section names exactly the options `zmx COMMAND --help` prints; options
#    under a "node options ...:" heading of a help belong to the
#    "## Node options" section; "# OPTIONS" matches `zmx --help`.
#  - zmxd.8: "# OPTIONS" names exactly the options of `zmxd --help`.
#  - zmxd.cfg.5: every section and key `zmxd --print-config` prints has a
#    "## SECTION" and a "*key*" entry in it; every "## SECTION" is a
#    section zmxd accepts.
#  -h and --help may be documented where a help does not print them: every
#  command accepts them. Options are read at test time, so a new option in
#  --help fails here until its man page has it (one entry).
#  usage: man_options.sh BIN_DIR MAN_SOURCE_DIR
set -uo pipefail
bin=$1 man=$2
problems=0
problem() { echo "man page drift: $*" >&2; problems=$((problems + 1)); }

#  The options in a text, one per line: -x and --long-name, not preceded by
#  a letter, digit or dash (so "non-zero" and "XXH3-128" are not options)
options_in() {
    grep -oE '(^|[^A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9-]*' | sed -E 's/^[^-]+//' | sort -u
}
#  The body of a section of an scdoc file: "## TITLE" (level 2) or
#  "# TITLE" (level 1) up to the next heading; comments (";") dropped
section_of() {
    local file=$1 title=$2
    awk -v title="$title" '
        /^;/ { next }
        /^#/ { heading = $0; sub(/^#+ /, "", heading)
               inside = (tolower(heading) == tolower(title)); next }
        inside' "$file"
}
headings_of() {
    sed -nE 's/^## (.*)$/\1/p' "$1"
}
in_list() { [[ $'\n'$2$'\n' == *$'\n'"$1"$'\n'* ]]; }
in_list_nocase() { in_list "${1,,}" "${2,,}"; }

#  compare PAGE TITLE HELP_OPTIONS ALLOWED_OPTIONS WHAT
#  Every help option must be in the section; every section option must be
#  in ALLOWED (the help's options, plus -h/--help)
compare() {
    local page=$1 title=$2 wanted=$3 allowed=$4 what=$5 documented option
    documented=$(section_of "$man/$page.scd" "$title" | options_in)
    for option in $wanted; do
        in_list "$option" "$documented" ||
            problem "option $option of '$what' is not in $page, section '$title' (add an entry '*$option* ...' there)"
    done
    for option in $documented; do
        [[ $option == -h || $option == --help ]] && continue
        in_list "$option" "$allowed" ||
            problem "option $option in $page, section '$title' is not printed by '$what' (remove it from the page, or add it to the help)"
    done
}

zmx=$bin/zmx zmxd=$bin/zmxd
for program in "$zmx" "$zmxd"; do
    [[ -x $program ]] || { echo "no $program: build first" >&2; exit 1; }
done

#  zmx: top level
top=$("$zmx" --help)
compare zmx.1 OPTIONS "$(options_in <<<"$top")" "$(options_in <<<"$top")" "zmx --help"

#  zmx: each command, its verbs, and option groups ("node options ...:")
commands=$(awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' <<<"$top")
[[ -n $commands ]] || { echo "cannot read the commands from zmx --help" >&2; exit 1; }
documented_sections=$(headings_of "$man/zmx.1.scd")
known_sections=""
declare -A group_options=()
for command in $commands; do
    help=$("$zmx" help "$command" 2>&1) ||
        { problem "'zmx help $command' failed: $help"; continue; }
    title="zmx $command"
    known_sections+="$title"$'\n'
    if ! in_list "$title" "$documented_sections"; then
        problem "zmx.1 has no section '## $title' for the command $command (listed by zmx --help)"
        continue
    fi
    own=$(awk '/^[a-z][a-z ]* options.*:$/ { exit } { print }' <<<"$help" | options_in)
    compare zmx.1 "$title" "$own" "$(options_in <<<"$help")" "zmx $command --help"
    #  Option groups: "node options (every command):" and what follows
    while IFS= read -r group; do
        [[ -n $group ]] || continue
        group_options[$group]+=$(awk -v group="$group" '
            index($0, group) == 1 && /:$/ { on = 1; next } on' <<<"$help" | options_in)$'\n'
    done < <(sed -nE 's/^([a-z][a-z ]* options).*:$/\1/p' <<<"$help")
    #  Verbs with their own help: "zmx files serve" in the usage lines
    for verb in $(sed -nE "s/^(usage:)? *zmx $command ([a-z][a-z-]*)( .*)?$/\\2/p" <<<"$help" | sort -u); do
        verb_help=$("$zmx" "$command" "$verb" --help 2>&1) || continue
        [[ $verb_help == "usage: zmx $command $verb"* ]] || continue
        title="zmx $command $verb"
        known_sections+="$title"$'\n'
        if ! in_list "$title" "$documented_sections"; then
            problem "zmx.1 has no section '## $title' (zmx $command $verb --help exists)"
            continue
        fi
        options=$(options_in <<<"$verb_help")
        compare zmx.1 "$title" "$options" "$options" "zmx $command $verb --help"
    done
done
for group in "${!group_options[@]}"; do
    options=$(sort -u <<<"${group_options[$group]}" | grep .)
    known_sections+="$group"$'\n'
    if ! in_list_nocase "$group" "$documented_sections"; then
        problem "zmx.1 has no section '## ${group^}' for the '$group' of the commands' help"
        continue
    fi
    compare zmx.1 "$group" "$options" "$options" "the '$group' of zmx COMMAND --help"
done
while IFS= read -r title; do
    [[ -n $title ]] || continue
    in_list_nocase "$title" "$known_sections" ||
        problem "zmx.1 has a section '## $title' for something zmx --help does not list"
done <<<"$documented_sections"

#  zmxd
options=$("$zmxd" --help | options_in)
compare zmxd.8 OPTIONS "$options" "$options" "zmxd --help"

#  zmxd.cfg: sections and keys of the built-in config
config=$("$zmxd" --print-config) || { echo "zmxd --print-config failed" >&2; exit 1; }
cfg_page=$man/zmxd.cfg.5.scd
cfg_sections=$(headings_of "$cfg_page")
declare -A cfg_text=()
while IFS=$'\t' read -r section key; do
    if [[ -z $key ]]; then
        in_list "$section" "$cfg_sections" ||
            problem "section '$section' of zmxd --print-config is not in zmxd.cfg.5 (add '## $section')"
        continue
    fi
    [[ -v cfg_text[$section] ]] || cfg_text[$section]=$(section_of "$cfg_page" "$section")
    [[ ${cfg_text[$section]} == *"*$key*"* ]] ||
        problem "key $section/$key of zmxd --print-config is not in zmxd.cfg.5, section '## $section' (add an entry '*$key* = ...')"
done < <(awk '
    { match($0, /^ */); depth = RLENGTH / 4; name = $1 }
    depth == 0 { section = name; print section; next }
    { path[depth] = name; key = path[1]
      for (i = 2; i <= depth; i++) key = key "/" path[i]
      if ($2 == "=") print section "\t" key }' <<<"$config")
#  The sections zmxd accepts, from its own error message for one it does not
unknown=$(mktemp /tmp/zmx-man-test.XXXXXX)
printf 'no-such-section\n' >"$unknown"
accepted=$("$zmxd" -c "$unknown" 2>&1 | sed -n 's/.*valid sections are: //p' | tr -d ' ' | tr ',' '\n')
rm -f "$unknown"
[[ -n $accepted ]] || { echo "cannot read zmxd's valid sections" >&2; exit 1; }
while IFS= read -r section; do
    in_list "$section" "$accepted" ||
        problem "zmxd.cfg.5 documents a section '$section' that zmxd does not accept (valid: $(echo $accepted))"
done <<<"$cfg_sections"

if ((problems)); then
    echo "$problems difference(s) between the man pages in $man and the programs' help" >&2
    exit 1
fi
echo "ok: zmx.1, zmxd.8 and zmxd.cfg.5 match zmx --help, zmxd --help and zmxd --print-config"
