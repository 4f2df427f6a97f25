#!/bin/sh
# Renders the prod template with the container's settings; logs go to the
# container's stdout/stderr.
set -eu
mkdir -p "$NGINX_RUNTIME_DIR"
sed -e "s|\${LISTEN_PORT}|$LISTEN_PORT|g" \
    -e "s|\${USERS_UPSTREAM}|$USERS_UPSTREAM|g" \
    -e "s|\${NGINX_RUNTIME_DIR}|$NGINX_RUNTIME_DIR|g" \
    /etc/nginx/users.conf.template > /etc/nginx/nginx.conf
ln -sf /dev/stdout "$NGINX_RUNTIME_DIR/access.log"
ln -sf /dev/stderr "$NGINX_RUNTIME_DIR/error.log"
exec "$@"
