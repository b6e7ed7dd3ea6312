"""The systemd user unit: what it promises, `systemd-analyze verify`, the security score,
and `syncd install-service`.

The systemd-analyze checks run where systemd-analyze exists and skip with the reason
where it does not (or cannot start its offline manager).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from syncd.service import render_unit
from tests.daemon_helpers import World, make_world

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "systemd" / "syncd.service"
MAX_EXPOSURE = 2.0


def settings(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) in order; unit files repeat keys, so no configparser."""
    found, section = [], ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def value(text: str, key: str, section: str = "Service") -> list[str]:
    return [v for s, k, v in settings(text) if s == section and k == key]


# --- the unit file itself --------------------------------------------------------------------


def test_repo_unit_is_the_rendered_template() -> None:
    assert UNIT.read_text() == render_unit(), (
        "systemd/syncd.service drifted from syncd.service.UNIT_TEMPLATE; regenerate it"
    )


def test_unit_promises() -> None:
    text = UNIT.read_text()
    assert value(text, "Type") == ["notify"]
    assert value(text, "ExecStart") == ["%h/.local/bin/syncd run"]
    assert value(text, "ExecReload") == ["/bin/kill -HUP $MAINPID"]  # `systemctl --user reload syncd`: a SIGHUP
    assert value(text, "Restart") == ["on-failure"]
    assert value(text, "RestartSec") and value(text, "WatchdogSec")
    assert value(text, "UMask") == ["0077"]
    assert value(text, "WantedBy", "Install") == ["default.target"]
    families = set(" ".join(value(text, "RestrictAddressFamilies")).split())
    assert families == {"AF_UNIX", "AF_INET", "AF_INET6"}  # keyring over the session D-Bus, Google over the network
    assert "%h/.local/share/syncd" in value(text, "ReadWritePaths")[0].split()
    assert value(text, "ProtectHome") == ["read-only"]  # config, ICS files and mailboxes are read from home
    assert value(text, "ProtectSystem") == ["strict"]
    assert "PrivateNetwork" not in {k for _, k, _ in settings(text)}
    assert "User" not in {k for _, k, _ in settings(text)}  # a user unit runs as its user


# --- systemd-analyze ---------------------------------------------------------------------------


def _systemd_analyze() -> str:
    path = shutil.which("systemd-analyze") or (
        "/usr/bin/systemd-analyze" if os.access("/usr/bin/systemd-analyze", os.X_OK) else None
    )
    if path is None:
        pytest.skip("systemd-analyze not found: cannot verify the unit or score its exposure here")
    return path


def _analyze_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A private HOME with %h/.local/bin/syncd in place (verify checks ExecStart exists) and a runtime dir."""
    home = tmp_path / "home"
    bin_dir = home / ".local" / "bin"
    bin_dir.mkdir(parents=True)
    installed = Path(sys.executable).parent / "syncd"
    if installed.exists():
        (bin_dir / "syncd").symlink_to(installed)
    else:
        (bin_dir / "syncd").write_text(f'#!/bin/sh\nexec {sys.executable} -m syncd "$@"\n')
        (bin_dir / "syncd").chmod(0o755)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = dict(
        os.environ,
        HOME=str(home),
        XDG_RUNTIME_DIR=str(runtime),
        SYSTEMD_LOG_COLOR="0",
        SYSTEMD_PAGER="",
        LC_ALL="C.UTF-8",
    )
    return env, home


def _run_analyze(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run([_systemd_analyze(), *args], env=env, capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    if "Failed to initialize manager" in output or "unrecognized option" in output or "Unknown command" in output:
        pytest.skip(f"systemd-analyze cannot run this check here: {output.strip().splitlines()[-1]}")
    return result


def verify(unit: Path, env: dict[str, str]) -> None:
    result = _run_analyze(["verify", "--user", str(unit)], env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"systemd-analyze verify failed:\n{output}"
    # Warnings about other units installed on the machine are not ours to fix.
    assert [line for line in output.splitlines() if unit.name in line or str(unit) in line] == [], output


def exposure(unit: Path, env: dict[str, str]) -> float:
    result = _run_analyze(["security", "--offline=true", "--user", "--no-pager", str(unit)], env)
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout + result.stderr)
    assert match, f"no exposure level in the output:\n{result.stdout}{result.stderr}"
    return float(match.group(1))


@pytest.mark.slow
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    env, _ = _analyze_env(tmp_path)
    verify(UNIT, env)


@pytest.mark.slow
def test_security_exposure_is_at_most_2(tmp_path: Path) -> None:
    env, _ = _analyze_env(tmp_path)
    score = exposure(UNIT, env)
    print(f"systemd-analyze security exposure: {score}")
    assert score <= MAX_EXPOSURE


# --- install-service ---------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path / "w")


@pytest.mark.slow
def test_install_service_print_writes_nothing(world: World) -> None:
    result = world.run("install-service", "--print", now=None)
    assert result.returncode == 0, result.stderr
    assert value(result.stdout, "Type") == ["notify"]
    exec_start = value(result.stdout, "ExecStart")[0]
    assert exec_start == f"{sys.executable} -m syncd --config {world.config} run"
    assert not (world.root / "home" / ".config" / "systemd").exists()


@pytest.mark.slow
def test_install_service_writes_verifies_and_never_silently_replaces(world: World, tmp_path: Path) -> None:
    target = world.root / "home" / ".config" / "systemd" / "user" / "syncd.service"
    data_home = tmp_path / "my data"  # a space: the unit must quote it
    first = world.run("install-service", now=None, XDG_DATA_HOME=str(data_home))
    assert first.returncode == 0, first.stderr
    assert f"wrote {target}" in first.stdout
    assert "systemctl --user daemon-reload && systemctl --user enable --now syncd" in first.stdout
    text = target.read_text()
    assert value(text, "ExecStart") == [f"{sys.executable} -m syncd --config {world.config} run"]
    assert value(text, "Environment") == [f'"XDG_DATA_HOME={data_home}"']
    assert str(world.store.parent) in value(text, "ReadWritePaths")[0]
    assert world.store.parent.is_dir()  # ReadWritePaths= needs the folder to exist

    again = world.run("install-service", now=None, XDG_DATA_HOME=str(data_home))
    assert again.returncode == 0 and "already installed and up to date" in again.stdout
    assert not target.with_name("syncd.service.bak").exists()

    target.write_text(text.replace("RestartSec=30s", "RestartSec=5s"))
    replaced = world.run("install-service", now=None, XDG_DATA_HOME=str(data_home))
    assert replaced.returncode == 0
    assert "replacing a different" in replaced.stdout
    assert "RestartSec=5s" in target.with_name("syncd.service.bak").read_text()
    assert target.read_text() == text

    if shutil.which("systemd-analyze") or os.access("/usr/bin/systemd-analyze", os.X_OK):
        env, _ = _analyze_env(tmp_path / "analyze")
        verify(target, env)
        assert exposure(target, env) <= MAX_EXPOSURE


@pytest.mark.slow
def test_install_service_default_config_has_no_config_option(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w")
    default = world.root / "home" / ".config" / "syncd" / "config.toml"
    default.parent.mkdir(parents=True)
    default.write_text(world.config.read_text())
    env = world.env()
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "install-service", "--print"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert value(result.stdout, "ExecStart") == [f"{sys.executable} -m syncd run"]
