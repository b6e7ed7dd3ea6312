"""Real servers (Dovecot, Radicale) started by the slow tests on 127.0.0.1."""
