"""Writes the syncd(1) man page to stdout, generated from the real argparse parser so it cannot drift from the CLI.

    .venv/bin/python tools/manpage.py > docs/syncd.1      (or: make man)

Commands, options, metavars, defaults, help sentences and examples all come from
`syncd.cli.build_parser()`; only the sections the parser cannot know (FILES, EXIT STATUS,
ENVIRONMENT, SEE ALSO) are written here, from README.md and DESIGN.md.
tests/test_manpage.py fails when docs/syncd.1 differs from what this prints.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from syncd import __version__
from syncd.cli import build_parser
from syncd.cli.conventions import add_verbosity, commands
from syncd.config import default_config_path

# How the docs show the default config path; the parser's help has the absolute path of whoever runs it.
CONFIG_PATH_SHOWN = "~/.config/syncd/config.toml"

# Sections the parser cannot know, as README.md and ../shared/DESIGN.md describe them (markup as in help texts).
FILES = [
    (
        "$XDG_CONFIG_HOME/syncd/config.toml",
        "The config file (TOML), `~/.config/syncd/config.toml` when XDG_CONFIG_HOME is unset; "
        "--config PATH uses another. `syncd init` writes a commented starter one. "
        "Without a config file every command but init, demo, completion, --help and --version exits 2.",
    ),
    (
        "$XDG_DATA_HOME/syncd/syncd.db",
        "The store (SQLite), `~/.local/share/syncd/syncd.db` when XDG_DATA_HOME is unset; "
        "[store] path in the config moves it. It is created 0600 in a 0700 folder, with its lock files beside it.",
    ),
    (
        "~/.config/systemd/user/syncd.service",
        "The systemd user unit `syncd install-service` writes; it runs `syncd run`.",
    ),
]
EXIT_STATUS = [
    ("0", "Success."),
    ("1", "The command ran but something is wrong: a source failed to sync, or `status` or `doctor` found a problem."),
    ("2", "A usage or configuration error; the message names the file, line and key."),
    ("130", "Interrupted (Ctrl-C)."),
]
ENVIRONMENT = [
    ("NO_COLOR", "When set to anything but empty, no colour, even on a terminal (https://no-color.org)."),
    ("TERM", "TERM=dumb turns colour off too. Colour is only ever used on a terminal."),
    ("COLUMNS", "The width tables fit into; output into a pipe is never cut."),
    ("SYNCD_NOW", "Fixes the clock like --now (ISO-8601); --now wins."),
    ("XDG_CONFIG_HOME", "Where the config file is looked for (default ~/.config)."),
    ("XDG_DATA_HOME", "Where the store is kept (default ~/.local/share)."),
    ("TZ", "The machine's time zone, used when [user] timezone is not set."),
    (
        "NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID, JOURNAL_STREAM",
        "Set by systemd for `syncd run`: readiness and watchdog notifications, and log lines with journal priorities.",
    ),
]
SEE_ALSO = [("systemctl", "1"), ("journalctl", "1"), ("systemd.service", "5")]
SEE_ALSO_TEXT = "README.md in the syncd sources: the config keys, the JSON fields and how syncd decides."


# Characters roff would otherwise typeset (a hyphen, curly quotes, a raised tilde) where a command is meant:
# what the page shows must work when copied into a shell.
LITERAL = {"\\": "\\e", "-": "\\-", "'": "\\(aq", "`": "\\(ga", "~": "\\(ti", "^": "\\(ha"}


def escape(text: str) -> str:
    """Text made literal for roff: backslashes, minus signs, quotes and tildes as typed, non-ASCII as groff escapes."""
    return "".join(LITERAL.get(char, char) if ord(char) < 128 else f"\\[u{ord(char):04X}]" for char in text)


def prose(text: str) -> str:
    """A help sentence as roff, with `code` in bold as the help texts mark it."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: nothing to mark, keep it literal
        return escape(text)
    return "".join(escape(part) if index % 2 == 0 else bold(part) for index, part in enumerate(parts))


def line(text: str) -> str:
    """One input line that roff will not read as a request, whatever the text starts with."""
    return "\\&" + text if text.startswith((".", "'")) else text


def bold(text: str) -> str:
    return f"\\fB{escape(text)}\\fR"


def italic(text: str) -> str:
    return f"\\fI{escape(text)}\\fR"


def metavar(action: argparse.Action) -> str:
    """The value placeholder argparse's own usage shows, so the page and `--help` name things alike."""
    if action.metavar is not None:
        name = action.metavar if isinstance(action.metavar, str) else " ".join(action.metavar)
    elif action.choices is not None:
        name = "{" + ",".join(map(str, action.choices)) + "}"
    else:
        name = action.dest if not action.option_strings else action.dest.upper()
    return name


def value_syntax(action: argparse.Action) -> str:
    """The value part after an option (or a positional alone), with nargs spelled out as argparse does."""
    name = italic(metavar(action))
    nargs = action.nargs
    if nargs == 0:
        return ""
    if nargs is None:
        return name
    if nargs == "?":
        return f"[{name}]"
    if nargs == "*":
        return f"[{name} ...]"
    if nargs == "+":
        return f"{name} [{name} ...]"
    if isinstance(nargs, int):
        return " ".join([name] * nargs)
    return "..."


def is_subcommands(action: argparse.Action) -> bool:
    """A command's subcommands (argparse offers no public test; syncd.cli.conventions uses the same)."""
    return isinstance(action, argparse._SubParsersAction)


def usage_item(action: argparse.Action) -> str:
    """One element of a synopsis: `[--tier {…}]`, `CONTACT`, `[ACTION]`; spaces inside it never break."""
    if is_subcommands(action):
        item = italic(metavar(action))
        return item if action.required else f"[{item}]"
    value = value_syntax(action)
    if not action.option_strings:
        return value
    # `\ ` holds an option to its value; `\:` lets a long list of choices break after a comma instead.
    value = value.replace(" ", "\\ ").replace(",", ",\\:\\%")
    item = bold(action.option_strings[0]) + ("\\ " + value if value else "")
    return item if action.required else f"[{item}]"


def synopsis(path: tuple[str, ...], parser: argparse.ArgumentParser) -> list[str]:
    """The command line of one command: options first, then positionals, as argparse's usage orders them."""
    actions = parser._actions  # argparse has no public list of a parser's arguments
    optionals = [usage_item(action) for action in actions if action.option_strings]
    positionals = [usage_item(action) for action in actions if not action.option_strings]
    name = " ".join(("syncd", *path))
    # Wrapped lines hang under the first option; `\%` keeps roff from hyphenating an option or a choice.
    hang = f"{len(name) + 1}n"
    items = " ".join("\\%" + item for item in [*optionals, *positionals])
    return [".PP", ".na", f".in +{hang}", f".ti -{hang}", f"{bold(name)} {items}", f".in -{hang}", ".ad"]


def expand(text: str, prog: str, action: argparse.Action | None = None) -> str:
    """`%(prog)s`, `%(default)s` and the like filled in as argparse fills them in `--help`."""
    if action is not None:
        params = {name: value for name, value in vars(action).items() if value is not argparse.SUPPRESS}
        params = {name: getattr(value, "__name__", value) for name, value in params.items()}
        if params.get("choices") is not None:
            params["choices"] = ", ".join(map(str, params["choices"]))
        return text % {**params, "prog": prog}
    return text % {"prog": prog} if "%(prog)" in text else text


def default_note(action: argparse.Action, help_text: str) -> str:
    """`(default: X)` where the parser has a real default the help does not already state."""
    default = action.default
    if default in (None, argparse.SUPPRESS, "", []) or action.nargs == 0 or "default" in help_text:
        return ""
    return f" (default: {default})"


def argument_entry(action: argparse.Action, prog: str) -> list[str]:
    """A `.TP` item: the option's spellings with its value, then its help and default."""
    if action.option_strings:
        value = value_syntax(action)
        term = ", ".join(bold(option) + (f" {value}" if value else "") for option in action.option_strings)
    else:
        term = italic(metavar(action))
    help_text = expand(action.help or "", prog, action)
    return [".TP", line(term), line(prose(help_text + default_note(action, help_text)))]


def epilog_lines(epilog: str, skip_heading: bool) -> list[str]:
    """Examples stay as written (indented lines, no filling); a sentence between them is a paragraph."""
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if block:
            out.extend([".PP", ".RS 4", ".nf", *block, ".fi", ".RE"])
            block.clear()

    for index, text in enumerate(epilog.splitlines()):
        if text.startswith(" "):
            block.append(line(escape(text.strip())))
            continue
        flush()
        if not text.strip() or (skip_heading and index == 0 and text.endswith(":")):
            continue
        words = text[0].upper() + text[1:]
        out.extend([".PP", line(f"\\fI{escape(words)}\\fR" if text.endswith(":") else prose(words))])
    flush()
    return out


def convention_key(action: argparse.Action) -> tuple[object, ...]:
    return type(action), tuple(action.option_strings), action.help


def shared_options() -> list[argparse.Action]:
    """The `-v`/`-q` every command takes after its name (syncd.cli.conventions), described once under OPTIONS."""
    reference = argparse.ArgumentParser(add_help=False)
    add_verbosity(reference, depth=1)
    return list(reference._actions)


def definition_list(items: Iterable[tuple[str, str]], term_font: str = "B") -> list[str]:
    out: list[str] = []
    for term, text in items:
        out.extend([".TP", line(f"\\f{term_font}{escape(term)}\\fR"), line(prose(text))])
    return out


def render() -> str:
    """The whole page, deterministic: no clock, and the help's absolute config path shown as the docs show it."""
    parser = build_parser()
    everything = list(commands(parser))
    shared = shared_options()
    shared_keys = {convention_key(action) for action in shared}

    def own_arguments(command: argparse.ArgumentParser) -> list[argparse.Action]:
        return [
            action
            for action in command._actions
            if not is_subcommands(action)
            and not isinstance(action, argparse._HelpAction)
            and convention_key(action) not in shared_keys
        ]

    description = parser.description or ""
    summary = re.split(r"[:.]", description, maxsplit=1)[0]
    out = [
        '.\\" Generated by tools/manpage.py from syncd.cli.build_parser(); do not edit, run: make man',
        # No date: a page generated from the same parser is the same page, whenever it is generated.
        f'.TH SYNCD 1 "" "syncd {escape(__version__)}" "User Commands"',
        ".SH NAME",
        f"syncd \\- {escape(summary[:1].lower() + summary[1:])}",
        ".SH SYNOPSIS",
        *synopsis((), parser)[1:],
        ".PP",
        f"{bold('syncd')} {italic('COMMAND')} {bold('--help')}",
        ".SH DESCRIPTION",
        line(prose(expand(description, parser.prog))),
        ".SH OPTIONS",
    ]
    for action in parser._actions:
        if not is_subcommands(action) and action.option_strings:
            out.extend(argument_entry(action, parser.prog))
    out.extend([".PP", f"Every command also takes {bold('-h')}, and these after its name:"])
    for action in shared:
        out.extend(argument_entry(action, parser.prog))

    out.append(".SH COMMANDS")
    for path, command in everything[1:]:
        out.extend([f'.SS "{escape(" ".join(path))}"', *synopsis(path, command)])
        out.extend([".PP", line(prose(expand(command.description or "", command.prog)))])
        for action in own_arguments(command):
            out.extend(argument_entry(action, command.prog))
        if command.epilog:
            out.extend(epilog_lines(expand(command.epilog, command.prog), skip_heading=False))

    out.extend([".SH FILES", *definition_list(FILES, term_font="I")])
    out.extend([".SH EXIT STATUS", *definition_list(EXIT_STATUS)])
    out.extend([".SH ENVIRONMENT", *definition_list(ENVIRONMENT)])
    if parser.epilog:
        out.extend([".SH EXAMPLES", *epilog_lines(expand(parser.epilog, parser.prog), skip_heading=True)])
    see_also = [f".BR {escape(name)} ({section})," for name, section in SEE_ALSO]
    see_also[-1] = see_also[-1].rstrip(",")
    out.extend([".SH SEE ALSO", *see_also, ".PP", line(prose(SEE_ALSO_TEXT))])

    page = "\n".join(out) + "\n"
    page = page.replace(escape(str(default_config_path())), escape(CONFIG_PATH_SHOWN))
    home = escape(str(Path.home()))
    if len(home) > 1 and home in page:
        raise SystemExit(f"manpage: a help text shows the home folder {Path.home()}; show it as ~ instead")
    return page


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
