#!/usr/bin/env bash
# Installs the real servers the slow tests run against, when they are missing (CI runs as root).
set -euo pipefail
if ! command -v dovecot >/dev/null 2>&1 && ! [ -x /usr/sbin/dovecot ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd
fi
