#!/bin/sh
# A cow says the arguments, on stdout and in /outputs/cow.txt.
msg="$*"
n=${#msg}
repeat () {
  s=''
  i=0
  while [ "$i" -lt "$2" ]; do s="$s$1"; i=$((i + 1)); done
  printf '%s' "$s"
}
cow=$(
  printf ' %s\n' "$(repeat _ $((n + 2)))"
  printf '< %s >\n' "$msg"
  printf ' %s\n' "$(repeat - $((n + 2)))"
  cat <<'COW'
        \   ^__^
         \  (oo)\_______
            (__)\       )\/\
                ||----w |
                ||     ||
COW
)
printf '%s\n' "$cow"
if [ -d /outputs ] && [ -w /outputs ]; then printf '%s\n' "$cow" > /outputs/cow.txt; fi
