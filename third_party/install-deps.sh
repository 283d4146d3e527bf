#!/usr/bin/env bash
# Installs the Debian packages in third_party/debian-packages.txt that are not
# installed yet. Needs root (or sudo) only when something is missing.
set -euo pipefail
list="$(dirname "$0")/debian-packages.txt"
missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$list"
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
# wsdd's package enables and starts wsdd.service where systemd runs; the tests
# run wsdd only inside lab namespaces, and a host-wide wsdd would announce this
# machine on its real interfaces. Masking the unit first (what `systemctl mask`
# does; works without systemd, e.g. in a container) keeps it from starting.
if [[ " ${missing[*]} " == *" wsdd "* && ! -e /etc/systemd/system/wsdd.service ]]; then
  "${sudo[@]}" mkdir -p /etc/systemd/system
  "${sudo[@]}" ln -s /dev/null /etc/systemd/system/wsdd.service
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
