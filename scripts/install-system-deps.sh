#!/usr/bin/env bash
# Installs the Debian packages the offline test suite needs, only those missing; needs root (or sudo) and apt.
set -euo pipefail
# command -> Debian package
declare -A wanted=([espeak-ng]=espeak-ng [text2wave]=festival [sox]=sox [tmux]=tmux [chromium]=chromium
                   [chromedriver]=chromium-driver)
missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
# The virtual phone's festival voice (device/virtual/speech.py) is data, not a command.
[ -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts ] || missing+=(festvox-us-slt-hts)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-get not found: install ${missing[*]} with your package manager, then rerun" >&2
  exit 1
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
