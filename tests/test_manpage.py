"""docs/syncd.1 against the parser it is generated from, so the man page cannot drift from the CLI."""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from syncd.cli import build_parser
from syncd.cli.conventions import commands
from syncd.config import default_config_path, parse_config

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "syncd.1"
REGENERATE = ".venv/bin/python tools/manpage.py > docs/syncd.1   (or: make man)"
# Read by the code but not for users to set: a crash-test hook.
NOT_FOR_USERS = {"SYNCD_FAULT_KILL_AFTER_COMMITS"}


def generator() -> ModuleType:
    """tools/ is a folder of scripts, not a package: load the script itself."""
    spec = importlib.util.spec_from_file_location("manpage", REPO / "tools" / "manpage.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def roff(text: str) -> str:
    """How the page spells a name: minus signs as `\\-`, a tilde as `\\(ti`."""
    return text.replace("-", "\\-").replace("~", "\\(ti")


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def test_the_committed_page_is_what_the_generator_prints_now(page: str) -> None:
    fresh = generator().render()
    if page != fresh:
        diff = difflib.unified_diff(page.splitlines(), fresh.splitlines(), "docs/syncd.1", "generated", lineterm="")
        pytest.fail(f"docs/syncd.1 is out of date with the CLI; run: {REGENERATE}\n" + "\n".join(list(diff)[:40]))


def test_the_page_is_the_same_whoever_generates_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first = generator().render()
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("COLUMNS", "40")
    assert generator().render() == first


def test_every_command_and_option_of_the_parser_is_on_the_page(page: str) -> None:
    for path, parser in commands(build_parser()):
        if path:
            assert f'.SS "{roff(" ".join(path))}"' in page, f"no section for `syncd {' '.join(path)}`"
        for action in parser._actions:
            for option in action.option_strings:
                assert f"\\fB{roff(option)}\\fR" in page, f"{option} of `syncd {' '.join(path)}` is not on the page"


def test_files_name_the_paths_the_code_uses(page: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    config = default_config_path()
    store = parse_config("", config).store_path
    for path in (config, store):
        assert roff(f"~/{path.relative_to(tmp_path)}") in page, path


def test_every_environment_variable_the_code_reads_is_documented(page: str) -> None:
    environment = page.split(".SH ENVIRONMENT", 1)[1].split(".SH ", 1)[0]
    read = re.compile(r"""(?:environ\.get|environ\[|getenv|env\.get)\(?\s*["']([A-Z_][A-Z0-9_]*)["']""")
    names = {name for source in (REPO / "syncd").rglob("*.py") for name in read.findall(source.read_text("utf-8"))}
    assert "NO_COLOR" in names
    for name in sorted(names - NOT_FOR_USERS):
        assert name in environment, f"syncd reads ${name}; ENVIRONMENT in tools/manpage.py does not say what for"


def render_command() -> list[str] | None:
    """groff, the formatter `man -l` runs, warning about everything (-ww); else man itself."""
    if shutil.which("groff"):
        return ["groff", "-man", "-Tutf8", "-ww", "-z"]
    if shutil.which("man"):
        return ["man", "--warnings", "-l"]
    return None


@pytest.mark.skipif(render_command() is None, reason="neither groff nor man is installed: rendering is not checked")
@pytest.mark.parametrize("width", [None, "60n"], ids=["default-width", "60-columns"])
def test_the_page_renders_without_warnings(width: str | None) -> None:
    command = render_command() or []
    environment = dict(os.environ)
    if width and command[0] == "groff":
        command.append(f"-rLL={width}")
    elif width:
        environment["MANWIDTH"] = width.rstrip("n")
    result = subprocess.run([*command, str(PAGE)], capture_output=True, text=True, timeout=60, env=environment)
    assert result.returncode == 0 and result.stderr == "", result.stderr
