# Prometheus and Alertmanager behind their --web.config.file: HTTPS with the local CA
# (lib.sh ensure_pki) and basic auth (decision 0034). Sourced by lib.sh, never run.
#
# monitoring_web_vars (from derive_settings, so every template sees them) sets:
#   MONITORING_SCHEME    https, or http when IOC_MONITORING_TLS is off
#   MONITORING_CA_FILE   the CA Prometheus trusts for itself and Alertmanager:
#                        IOC_MONITORING_CA_FILE, else the stack's own ($IOC_DATA_DIR/pki)
#   PROMETHEUS_WEB_PASSWORD_YAML, ALERTMANAGER_WEB_PASSWORD_YAML
#                        the passwords as YAML double-quoted strings (any character)

monitoring_web_vars() {
  : "${IOC_MONITORING_TLS:=True}"
  : "${IOC_PROMETHEUS_WEB_USER:=ioc}" "${IOC_PROMETHEUS_WEB_PASSWORD:=change-me-prometheus}"
  : "${IOC_ALERTMANAGER_WEB_USER:=ioc}" "${IOC_ALERTMANAGER_WEB_PASSWORD:=change-me-alertmanager}"
  export IOC_MONITORING_TLS IOC_PROMETHEUS_WEB_USER IOC_PROMETHEUS_WEB_PASSWORD \
    IOC_ALERTMANAGER_WEB_USER IOC_ALERTMANAGER_WEB_PASSWORD
  if monitoring_tls_on; then
    MONITORING_SCHEME=https
    MONITORING_CA_FILE=${IOC_MONITORING_CA_FILE:-$IOC_DATA_DIR/pki/ca.pem}
  else
    MONITORING_SCHEME=http
    MONITORING_CA_FILE=
  fi
  PROMETHEUS_WEB_PASSWORD_YAML=$(yaml_quote "$IOC_PROMETHEUS_WEB_PASSWORD")
  ALERTMANAGER_WEB_PASSWORD_YAML=$(yaml_quote "$IOC_ALERTMANAGER_WEB_PASSWORD")
  export MONITORING_SCHEME MONITORING_CA_FILE PROMETHEUS_WEB_PASSWORD_YAML \
    ALERTMANAGER_WEB_PASSWORD_YAML
}

# pydantic's bools reach the shell as True/False; people write true/1 too.
monitoring_tls_on() {
  case "${IOC_MONITORING_TLS,,}" in true | 1 | yes | on) return 0 ;; *) return 1 ;; esac
}

yaml_quote() {  # a YAML double-quoted scalar: \ and " escaped
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# render_web_config DST USER PASSWORD: the --web.config.file of one service. The bcrypt
# hash comes from htpasswd (apache2-utils, install-system.sh), the password on its stdin
# (not in any command line). With TLS, the server presents the stack's certificate.
render_web_config() {
  local dst=$1 user=$2 password=$3 hash
  command -v htpasswd >/dev/null ||
    die "htpasswd is needed for the web configs (apt-get install apache2-utils)"
  hash=$(printf '%s' "$password" | htpasswd -niBC 10 "$user" | head -n 1 | cut -d: -f2-)
  [[ $hash == \$2* ]] || die "htpasswd gave no bcrypt hash for $user"
  {
    echo "# Rendered by deploy/local/monitoring-web.sh (decision 0034); do not edit."
    if monitoring_tls_on; then
      printf 'tls_server_config:\n  cert_file: "%s"\n  key_file: "%s"\n' "$PKI_CERT" "$PKI_KEY"
    fi
    printf 'basic_auth_users:\n  "%s": "%s"\n' "$user" "$hash"
  } >"$dst.tmp"
  chmod 600 "$dst.tmp"
  mv "$dst.tmp" "$dst"
}

# monitoring_ready PORT USER PASSWORD: /-/ready answers 200 with these credentials. The
# credentials go to curl as a config file on stdin, so `ps` never shows the password.
monitoring_ready() {
  local port=$1 user=$2 password=$3 ca=()
  monitoring_tls_on && ca=(--cacert "$IOC_DATA_DIR/pki/ca.pem")
  local credentials="$user:$password"
  credentials=${credentials//\\/\\\\}
  printf 'user = "%s"\n' "${credentials//\"/\\\"}" |
    curl -sf --max-time 2 "${ca[@]}" -K - "$MONITORING_SCHEME://127.0.0.1:$port/-/ready" \
      >/dev/null
}
