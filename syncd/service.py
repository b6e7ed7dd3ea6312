"""The systemd user unit: its text, and `syncd install-service`, which puts it in place.

`systemd/syncd.service` in the repository is `render_unit()` with the defaults (a test
keeps them identical); `install_service` renders it for this installation: ExecStart
pointing at the interpreter running now (a venv or pipx install), `--config` when a
non-default config is in use, and the store's folder writable inside the sandbox.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from syncd.config import Config, default_config_path, xdg_config_home

UNIT_NAME = "syncd.service"
DEFAULT_EXEC_START = "%h/.local/bin/syncd run"
DEFAULT_DATA_DIR = "%h/.local/share/syncd"

# Hardening: `systemd-analyze security --offline=true --user` scores this 1.5 (systemd 252).
# What stays open is what syncd needs: the network (Google APIs), AF_UNIX (the session
# D-Bus at $XDG_RUNTIME_DIR/bus for the keyring), reading the home directory (config,
# ICS files, mailboxes) and writing its data folder.
UNIT_TEMPLATE = """\
# syncd: keep your professional network warm. A systemd *user* unit:
#   syncd install-service            (or copy this file to ~/.config/systemd/user/)
#   systemctl --user daemon-reload && systemctl --user enable --now syncd
#   journalctl --user -u syncd       syncd status
#   systemctl --user reload syncd    (re-reads the config; an edited config is also noticed by itself)
# To let it write somewhere else (e.g. an ICS holds file outside its data folder):
#   systemctl --user edit syncd   ->  [Service] ReadWritePaths=%h/calendars
[Unit]
Description=syncd: calendar and mail sync, coffee holds for contacts gone cold

[Service]
Type=notify
NotifyAccess=main
ExecStart={exec_start}
ExecReload=/bin/kill -HUP $MAINPID
{environment}Restart=on-failure
RestartSec=30s
WatchdogSec=5min
TimeoutStartSec=2min
TimeoutStopSec=30s
UMask=0077
SyslogIdentifier=syncd

# Sandbox: read-only system and home, private /tmp and devices, no privileges.
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths={read_write_paths}
PrivateTmp=yes
PrivateDevices=yes
PrivateUsers=yes
PrivateIPC=yes
PrivateMounts=yes
ProtectHostname=yes
ProtectClock=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectProc=invisible
ProcSubset=pid
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
KeyringMode=private
DevicePolicy=closed
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM

[Install]
WantedBy=default.target
"""


def render_unit(
    exec_start: str = DEFAULT_EXEC_START,
    read_write_paths: list[str] | None = None,
    environment: dict[str, str] | None = None,
) -> str:
    env_lines = "".join(
        f"Environment={quote_arg(f'{key}={value}')}\n" for key, value in sorted((environment or {}).items())
    )
    return UNIT_TEMPLATE.format(
        exec_start=exec_start, environment=env_lines, read_write_paths=" ".join(read_write_paths or [DEFAULT_DATA_DIR])
    )


def quote_arg(text: str, prefix: str = "") -> str:
    """One word of a unit file command line or setting: specifiers and variables escaped.

    `prefix` is put in front unescaped (a specifier such as `%h/`).
    """
    escaped = prefix + text.replace("\\", "\\\\").replace("%", "%%").replace("$", "$$")
    if any(char.isspace() for char in text) or any(char in text for char in "\"';"):
        return '"' + escaped.replace('"', '\\"') + '"'
    return escaped


def _home_relative(path: Path) -> str:
    """`%h/...` for paths under the home directory, so the unit reads like the default."""
    home = Path.home()
    try:
        return quote_arg(str(path.relative_to(home)), prefix="%h/")
    except ValueError:
        return quote_arg(str(path))


def unit_for(config: Config) -> tuple[str, list[Path]]:
    """The unit text for this installation and the folders it must be able to write."""
    words = [sys.executable, "-m", "syncd"]
    default_config = Path.home() / ".config" / "syncd" / "config.toml"
    if config.path is not None and config.path.absolute() != default_config:
        words += ["--config", str(config.path.absolute())]
    words.append("run")
    exec_start = " ".join(quote_arg(word) for word in words)
    writable = [config.store_path.absolute().parent]
    sink = config.hold_sink
    if sink and sink.startswith("ics:"):
        holds_dir = Path(sink[4:]).absolute().parent
        if holds_dir not in writable:
            writable.append(holds_dir)
    environment = {}
    for name, default in (
        ("XDG_CONFIG_HOME", Path.home() / ".config"),
        ("XDG_DATA_HOME", Path.home() / ".local" / "share"),
    ):
        value = os.environ.get(name)
        if value and Path(value).absolute() != default:
            environment[name] = str(Path(value).absolute())
    return render_unit(exec_start, [_home_relative(path) for path in writable], environment), writable


def unit_path() -> Path:
    return xdg_config_home() / "systemd" / "user" / UNIT_NAME


def install_service(config: Config, print_only: bool = False) -> int:
    text, writable = unit_for(config)
    if print_only:
        sys.stdout.write(text)
        return 0
    for folder in writable:  # ReadWritePaths= fails the start when a folder is missing
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = unit_path()
    previous = target.read_text(encoding="utf-8") if target.exists() else None
    if previous == text:
        print(f"{target} is already installed and up to date")
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        if previous is not None:
            backup = target.with_name(target.name + ".bak")
            backup.write_text(previous, encoding="utf-8")
            print(f"replacing a different {target}; the old one is saved as {backup}")
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
        print(f"wrote {target}")
    if str(Path(sys.executable)).startswith("/tmp/"):
        print("warning: syncd runs from /tmp, which the service cannot see (PrivateTmp=yes)", file=sys.stderr)
    if config.path is None and not default_config_path().exists():
        print(f"note: no config at {default_config_path()} yet; the service will run with defaults (see `syncd init`)")
    print("next: systemctl --user daemon-reload && systemctl --user enable --now syncd")
    return 0
