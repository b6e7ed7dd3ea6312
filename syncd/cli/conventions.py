"""The command line conventions every command follows, applied to the whole parser in one place.

A sentence (the description) and examples (the epilog, kept as written) in every `--help`;
`-v`/`-q` accepted after the command as well as before it. A command module may set its own
`description` and `epilog`; :data:`EXAMPLES` fills in for the commands that do not (and only
for those: an entry for a command with its own epilog would never show), so a new
command needs either an epilog or a line here (tests/test_cli_conventions.py checks both).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from syncd.cli.common import HelpFormatter

EXAMPLES: dict[str, str] = {
    "init": "syncd init                      write ~/.config/syncd/config.toml (never overwrites)\n"
    "syncd --config ./test.toml init  write another config, here",
    "auth": "syncd auth                      authorise the Google account in a browser\n"
    "syncd auth --no-browser --port 8765   headless: open the printed URL elsewhere (ssh -L 8765:…)\n"
    "syncd auth --account ada@gmail.com    one of several [[sources.google]] accounts\n"
    'syncd auth imap:work            keep the IMAP password of [[sources.imap]] name = "work" in the keyring',
    "run": "syncd run                       what the systemd unit starts; stop with Ctrl-C\n"
    "syncd -v run                    the same, logging every sync and plan",
    "install-service": "syncd install-service           write ~/.config/systemd/user/syncd.service\n"
    "syncd install-service --print   show the unit instead of writing it",
    "demo": "syncd demo                      the pipeline on bundled sample data, in a temporary folder\n"
    "syncd demo --keep /tmp/demo     keep the demo's store and holds file to look at",
    "contacts": "syncd contacts list\nsyncd contacts import ~/contacts.vcf\nsyncd contacts show ada",
    "contacts import": "syncd contacts import contacts.toml team.csv   merge by address; a bad file imports nothing\n"
    "syncd contacts import ~/.contacts/             a vdir folder of .vcf files",
    "contacts list": "syncd contacts list             a table: id, name, tier, cadence, last touch\n"
    "syncd contacts list --json      the stable JSON list (fields in the README)\n"
    "syncd contacts list --all       archived contacts too (gone from your contacts files)",
    "contacts add": 'syncd contacts add "Ada Lovelace" ada@example.com ada@work.example\n'
    'syncd contacts add "Bob Stone" bob@example.org --tier intimate --cadence-days 10 '
    '--notes "met at PyCon" --tag python --tag berlin\n'
    'syncd contacts add "Dan" dan@example.net --ignore   known, never cold, never booked',
    "contacts show": "syncd contacts show ada         by id, any address, or name (case ignored)\n"
    "syncd contacts show ada@example.com --json",
    "contacts suggest": "syncd contacts suggest          people you meet or write to who are not contacts\n"
    "syncd contacts suggest --min 5 --json\n"
    "syncd contacts suggest --new         only the people you first met in the last 14 days\n"
    "syncd contacts suggest --add ada@example.com bob@example.org --tier meaningful",
    "touch": "syncd touch ada                 you spoke to Ada just now\n"
    'syncd touch ada --date yesterday --note "dinner"\n'
    "syncd touch bob --date -3d      three days ago\n"
    "syncd touch bob --date 2026-11-02T19:30",
    "snooze": "syncd snooze ada --days 30      no hold for Ada for 30 days\n"
    "syncd snooze ada --days 0       end the snooze",
    "sync": "syncd sync                      all sources, then hold planning\n"
    "syncd sync --dry-run            print the hold plan, write no hold\n"
    "syncd sync --no-holds           sources only\n"
    "syncd sync --accept-empty ics:~/cal/work.ics   that file really is empty now",
    "status": "syncd status                    sources, daemon, problems (exit 1 when something is wrong)\n"
    "syncd status --json | jq .problems",
    "cold": "syncd cold                      most overdue first\n"
    "syncd --now 2027-01-10 cold --json   who will be cold then",
    "holds": "syncd holds                     upcoming holds, soonest first\n"
    "syncd holds --json\n"
    "syncd holds cancel ada          not this one: remove the hold, snooze Ada for a cadence",
    "report": "syncd report                    days since touch against cadence, by tier\n"
    "syncd report --html ~/network.html   one self-contained page\n"
    "syncd report --json",
    "syncd": "syncd init && $EDITOR ~/.config/syncd/config.toml\n"
    "syncd sync && syncd cold\n"
    "syncd --now 2026-11-20T09:00:00+01:00 cold --json\n"
    "syncd --config ./other.toml -v sync\n"
    "syncd doctor",
}


# The same argument explained the same way in every command that takes it (where the module gave no help).
ARGUMENT_HELP = {
    "contact": "the contact: an id, any of their addresses, or their name (case ignored); e.g. ada@example.com",
    "json": "print JSON instead of a table (the fields are in the README); e.g. --json | jq",
}


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser under `parser` with its command path (`("contacts", "add")`), depth first, root included."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


def command_help(parser: argparse.ArgumentParser) -> dict[str, str]:
    """The one-line `help=` each subcommand was registered with, by name."""
    lines: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            lines.update({choice.dest: choice.help or "" for choice in action._choices_actions})
    return lines


def finish(parser: argparse.ArgumentParser) -> None:
    """Give every command its sentence, its examples and the `-v`/`-q` options."""
    for path, command in commands(parser):
        for name, text in command_help(command).items():
            sub = _subparser(command, name)
            if sub.description is None and text:
                sub.description = text[0].upper() + text[1:] + "."
        key = " ".join(path) or "syncd"
        if command.epilog is None and key in EXAMPLES:
            command.epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[key].splitlines())
        command.formatter_class = HelpFormatter
        for action in command._actions:
            if action.help is None and action.dest in ARGUMENT_HELP:
                action.help = ARGUMENT_HELP[action.dest]
            if action.dest == "contact" and action.metavar is None:
                action.metavar = "CONTACT"  # positionals read as the placeholders they are, like EMAIL and FILE
        if path:
            add_verbosity(command, depth=len(path))


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            sub: argparse.ArgumentParser = action.choices[name]
            return sub
    raise KeyError(name)


def add_verbosity(parser: argparse.ArgumentParser, depth: int) -> None:
    """`-v`/`-q` on a command; a destination per depth, so `syncd -v sync -v` adds up instead of overwriting."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        dest=f"verbose_{depth}",
        help="more log output on stderr, -vv for debug (also before the command: syncd -v sync)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        dest=f"quiet_{depth}",
        help="only errors on stderr, no warnings (also before the command: syncd -q sync)",
    )


def verbosity(args: argparse.Namespace) -> int:
    """-v counts up, -q wins: -1 for quiet, else the number of -v given anywhere on the line."""
    values = vars(args)
    if any(value for key, value in values.items() if key == "quiet" or key.startswith("quiet_")):
        return -1
    return sum(value for key, value in values.items() if key == "verbose" or key.startswith("verbose_"))
