# Sourced by the setup scripts: install Debian packages the project needs.
# Uses sudo unless already root; installs python3-venv when venv is missing.
ensure_system_packages() {
  local want=("$@") missing=() sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  python3 -c 'import ensurepip, venv' 2>/dev/null || want+=(python3-venv)
  for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}
