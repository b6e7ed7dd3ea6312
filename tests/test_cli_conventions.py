"""The command line conventions (DESIGN.md "Living with it"), checked over the whole parser and through the CLI."""

from __future__ import annotations

import argparse
import os
import pty
import subprocess
import sys

import pytest

from syncd.cli import build_parser
from syncd.cli.conventions import commands, verbosity
from syncd.terminal import fit_widths, table, truncate

ALWAYS_EXPLAINED = {"-h", "--help", "-v", "--verbose", "-q", "--quiet", "--version"}
EVERY_COMMAND = [(" ".join(path) or "syncd", parser) for path, parser in commands(build_parser())]


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [action for action in parser._actions if not isinstance(action, argparse._SubParsersAction)]


@pytest.mark.parametrize(("name", "parser"), EVERY_COMMAND, ids=[name for name, _ in EVERY_COMMAND])
def test_every_command_has_a_sentence_and_examples(name: str, parser: argparse.ArgumentParser) -> None:
    assert parser.description and parser.description[0].isupper(), f"{name}: no description sentence"
    examples = f"{parser.description}\n{parser.epilog or ''}"
    assert "syncd " in (parser.epilog or "") or "Example: syncd" in parser.description, f"{name}: no example"
    for action in options(parser):
        assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
        long = [option for option in action.option_strings if option.startswith("--")]
        if long and not set(action.option_strings) & ALWAYS_EXPLAINED:
            assert any(option in examples for option in long), f"{name}: no example uses {long[0]}"


def test_bare_syncd_prints_help_and_exits_0(cli):
    result = cli(config=False)
    assert result.code == 0 and result.out.startswith("usage: syncd") and "examples:" in result.out
    assert result.err == ""


def test_a_usage_error_has_one_prefix_and_names_the_command(cli):
    result = cli("touch", config=False)
    assert result.code == 2
    assert "syncd: touch: the following arguments are required: CONTACT" in result.err
    assert "syncd: syncd" not in result.err


@pytest.fixture
def synced(cli):
    (cli.home / "cal.ics").write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    cli.write_config('[sources.ics]\npaths = ["cal.ics", "gone.ics"]\n[holds]\nenabled = false\n')
    return cli


@pytest.mark.parametrize("argv", [["-v", "sync"], ["sync", "-v"], ["sync", "--verbose"]])
def test_verbose_before_or_after_the_command(synced, argv):
    result = synced(*argv)
    assert result.code == 1 and " INFO " in result.err


def test_quiet_anywhere_keeps_warnings_off_and_errors_on(synced):
    for argv in (["-q", "sync"], ["sync", "-q"]):
        result = synced(*argv)
        assert result.code == 1 and "WARNING" not in result.err
        assert "syncd: ics:~/gone.ics: " in result.err  # what failed is printed, not logged
        assert result.out.startswith("sync: 1 source ok, 1 failed")


@pytest.mark.parametrize(
    ("argv", "level"),
    [(["sync"], 0), (["-v", "sync", "-v"], 2), (["contacts", "-v", "list", "-v"], 2), (["-v", "sync", "-q"], -1)],
)
def test_verbose_counts_up_across_positions_and_quiet_wins(argv, level):
    assert verbosity(build_parser().parse_args(argv)) == level


def test_date_accepts_a_relative_value_after_the_option(cli):
    cli.write_config("")
    assert cli("contacts", "add", "Ada", "ada@example.com").code == 0
    for value in ("today", "yesterday", "-3d", "2026-11-17", "2026-11-17T19:30"):
        result = cli("touch", "ada", "--date", value, now="2026-11-20T09:00:00+01:00")
        assert result.code == 0, (value, result.err)
    assert (
        "touched Ada <ada@example.com> on 2026-11-17 12:00"
        in cli("touch", "ada", "--date", "-3d", now="2026-11-20T12:00:00+00:00").out
    )
    assert cli("touch", "ada", "--date", "tomorrow", now="2026-11-20T09:00:00+01:00").code == 2


# --- terminal: colour and width ------------------------------------------------------------


def run_on_a_terminal(cli, *argv: str, **env: str) -> str:
    """`python -m syncd ARGV` with its stdout on a real pseudo-terminal; what the terminal received."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "syncd", "--config", str(cli.config), *argv],
            stdout=terminal,
            stderr=subprocess.PIPE,
            env=cli.env(**env),
            cwd=cli.home,
            timeout=60,
        )
        os.close(terminal)
        received = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal side is closed and drained
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(controller)
    assert process.returncode in (0, 1), process.stderr
    return received.decode()


@pytest.mark.slow  # a real process on a real pseudo-terminal
def test_colour_only_on_a_terminal_and_never_under_no_color_or_a_dumb_terminal(cli):
    cli.write_config("[holds]\nenabled = false\n")
    assert "\x1b[32mok  \x1b[0m  config" in run_on_a_terminal(cli, "doctor", TERM="xterm")
    assert "\x1b" not in run_on_a_terminal(cli, "doctor", TERM="xterm", NO_COLOR="1")
    assert "\x1b" not in run_on_a_terminal(cli, "doctor", TERM="dumb")
    assert "\x1b" not in cli("doctor").out  # not a terminal
    assert cli("contacts", "add", "Ada", "ada@example.com").code == 0
    assert "\x1b[" in run_on_a_terminal(cli, "report", TERM="xterm")
    assert "\x1b" not in run_on_a_terminal(cli, "report", TERM="dumb")


def test_a_table_fits_the_width_by_cutting_the_widest_column():
    rows = [["Ada Lovelace", "ada@a-very-long-domain-name-that-does-not-fit.example", "30d"]]
    lines = table(["NAME", "EMAIL", "CADENCE"], rows, width=50).splitlines()
    assert lines[1] == "Ada Lovelace  ada@a-very-long-domain-nam…  30d"
    assert max(len(line) for line in lines) <= 50
    assert table(["NAME"], [["Ada"]], width=50) == "NAME\nAda"


def test_wide_characters_count_two_columns():
    lines = table(["NAME", "TIER"], [["山田太郎", "close"], ["Ada", "far"]]).splitlines()
    assert lines == ["NAME      TIER", "山田太郎  close", "Ada       far"]
    assert truncate("山田太郎さん", 7) == "山田太…"
    assert fit_widths([10, 40, 5], 40) == [10, 21, 5]


def test_cold_fits_columns_from_the_environment(cli):
    cli.write_config("[holds]\nenabled = false\n")
    cli("contacts", "add", "Ada Lovelace-Byron-King, Countess of Lovelace", "ada@example.com")
    wide = cli("cold").out.splitlines()
    narrow = cli("cold", env={"COLUMNS": "60"}).out.splitlines()
    assert max(map(len, wide)) > 60 and max(map(len, narrow)) <= 60
    assert "…" in narrow[1]


# --- completion ----------------------------------------------------------------------------


def complete(script: str, words: list[str]) -> list[str]:
    """What bash offers after WORDS (the last one being completed), with the generated script loaded."""
    program = (
        f"{script}\nCOMP_WORDS=({' '.join(repr(word) for word in words)}); COMP_CWORD={len(words) - 1}\n"
        '_syncd; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return sorted(line for line in result.stdout.splitlines() if line)


@pytest.mark.slow  # runs bash
def test_bash_completion_offers_commands_actions_options_and_choices(cli):
    script = cli("completion", "bash", config=False).out
    assert complete(script, ["syncd", "sy"]) == ["sync"]
    assert "doctor" in complete(script, ["syncd", ""])
    assert complete(script, ["syncd", "contacts", "li"]) == ["list"]
    assert complete(script, ["syncd", "sync", "--d"]) == ["--dry-run"]
    assert complete(script, ["syncd", "--config", "x.toml", "contacts", "list", "--j"]) == ["--json"]
    assert complete(script, ["syncd", "completion", ""]) == ["bash", "fish", "zsh"]
    assert complete(script, ["syncd", "contacts", "add", "Ada", "a@b.c", "--tier", "m"]) == ["meaningful"]


def test_zsh_and_fish_scripts_cover_every_command(cli):
    zsh = cli("completion", "zsh", config=False).out
    fish = cli("completion", "fish", config=False).out
    assert "autoload -U +X bashcompinit && bashcompinit" in zsh and "complete -o filenames -F _syncd syncd" in zsh
    for path, _ in EVERY_COMMAND:
        if path != "syncd":
            assert path.split()[-1] in fish and f"|{path}|" in zsh
    assert "complete -c syncd -n '__fish_seen_subcommand_from sync' -l dry-run" in fish
    assert cli("completion", "tcsh", config=False).code == 2
