#!/bin/sh
# Renders the prod template (and its security-headers.conf) with the
# container's settings into NGINX_RUNTIME_DIR (a tmpfs: the root filesystem
# may be read-only), then runs nginx on that file; logs go to the container's
# stdout/stderr. HTTPS on LISTEN_PORT with TLS_CERT and TLS_KEY (PEM files, a
# mounted volume or Docker secrets), port HTTP_PORT redirecting to it; with
# TLS_CERT empty, plain HTTP on LISTEN_PORT.
set -eu
mkdir -p "$NGINX_RUNTIME_DIR"
if [ -n "${TLS_CERT:-}" ]; then
  for file in "$TLS_CERT" "${TLS_KEY:-}"; do
    if [ ! -r "$file" ]; then
      echo "users-nginx: cannot read the TLS certificate or key '$file' (set TLS_CERT and TLS_KEY to PEM files, or TLS_CERT= for plain HTTP)" >&2
      exit 1
    fi
  done
  tls_edit='s/^\( *\)#tls /\1/;/#plain-only$/d'
else
  tls_edit='/^ *#tls /d'
fi
sed -e "s|\${LISTEN_PORT}|$LISTEN_PORT|g" \
    -e "s|\${HTTP_PORT}|${HTTP_PORT:-80}|g" \
    -e "s|\${USERS_UPSTREAM}|$USERS_UPSTREAM|g" \
    -e "s|\${NGINX_RUNTIME_DIR}|$NGINX_RUNTIME_DIR|g" \
    -e "s|\${TLS_CERT}|${TLS_CERT:-}|g" \
    -e "s|\${TLS_KEY}|${TLS_KEY:-}|g" \
    -e "$tls_edit" \
    /etc/nginx/users.conf.template > "$NGINX_RUNTIME_DIR/nginx.conf"
sed -e "$tls_edit" /etc/nginx/users-security-headers.conf > "$NGINX_RUNTIME_DIR/security-headers.conf"
ln -sf /dev/stdout "$NGINX_RUNTIME_DIR/access.log"
ln -sf /dev/stderr "$NGINX_RUNTIME_DIR/error.log"
if [ "${1:-}" = nginx ]; then
  shift
  exec nginx -c "$NGINX_RUNTIME_DIR/nginx.conf" "$@"
fi
exec "$@"
