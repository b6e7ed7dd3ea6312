#!/usr/bin/env bash
# Installs the real servers the slow tests run against, when they are missing (CI runs as root).
set -euo pipefail
if ! command -v dovecot >/dev/null 2>&1 && ! [ -x /usr/sbin/dovecot ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd
fi
# The Dovecot fixture makes its throw-away TLS certificates with the openssl command.
if ! command -v openssl >/dev/null 2>&1; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y openssl
fi
# Headless Chromium for the HTML report test (tests/test_report_html_browser.py).
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
