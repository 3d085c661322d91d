#!/bin/bash
# Starts the program of one tabcrew tab: launch-tab.sh SPECDIR
#
# SPECDIR (written by src/terminals/launch-spec.ts) holds `argv` and `env`, NUL-terminated
# entries, and `cwd`. The terminal runs this constant script because the real argv (a
# multi-KB system prompt) and environment do not fit on a terminal's command line, and
# must not be visible there. The program gets exactly the spec's environment.
#
# Exit status when the program could not be started: 1 (spec or working directory
# missing), 126/127 (program not executable / not found). The terminal keeps the pane
# open (remain-on-exit), so the message below stays readable.
#
# Written for bash 3.2 too (macOS /bin/bash): no mapfile, no associative arrays.

if [ "${1-}" != --clean-env ]; then
  # Unsetting variables cannot empty the environment: bash passes on entries whose
  # names are not identifiers, and exported functions. Restarting with `exec -c` can.
  exec -c "$BASH" "$0" --clean-env "$@"
fi
shift

say() { printf 'tabcrew: %s\n' "$*" >&2; }

spec=${1-}
if [ -z "$spec" ] || [ ! -d "$spec" ]; then
  say "launch spec '$spec' is missing (already used, or removed); this tab cannot start."
  exit 1
fi

argv=()
while IFS= read -r -d '' a; do argv+=("$a"); done < "$spec/argv"
cwd=
IFS= read -r -d '' cwd < "$spec/cwd"
env_entries=()
while IFS= read -r -d '' e; do env_entries+=("$e"); done < "$spec/env"
# The environment may hold API keys: it does not stay on disk once read.
command -p rm -f -- "$spec/env"
command -p rm -f -- "$spec/argv" "$spec/cwd"
command -p rmdir -- "$spec" 2>/dev/null

if [ "${#argv[@]}" -eq 0 ]; then
  say "launch spec '$spec' names no program; this tab cannot start."
  exit 1
fi
if ! cd -- "$cwd" 2>/dev/null; then
  say "working directory '$cwd' does not exist (or is not accessible); cannot start ${argv[0]}."
  exit 1
fi

# Everything still needed goes into the positional parameters (argv word count, argv,
# environment entries): a spec variable that shares a name with one of this script's
# variables could otherwise overwrite it while the environment is being set.
set -- "${#argv[@]}" "${argv[@]}" "${env_entries[@]}"
unset -v a e argv env_entries cwd spec

for v in $(compgen -e); do
  unset -v "$v" 2>/dev/null || export -n "$v" 2>/dev/null
done
unset -v v
if [ "$#" -gt "$(($1 + 1))" ]; then
  export "${@:$(($1 + 2))}"
fi
# `exec` lowers SHLVL by one and always exports it (bash: exec_builtin), so a spec
# value is raised by one first; a spec without SHLVL leaves the program SHLVL=0.
case "${SHLVL-}" in
  '' | *[!0-9]*) ;;
  *) SHLVL=$((SHLVL + 1)) ;;
esac

shopt -s execfail
exec -- "${@:2:$1}"
status=$?
say "could not start '$2' (exit status $status); see the error above."
exit "$status"
