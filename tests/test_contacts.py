"""Contacts files, import and merge, CONTACT resolution and last touches (syncd.contact_files, syncd.contacts)."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pytest

from syncd.contact_files import read_contact_files
from syncd.contacts import (
    add_contact,
    add_manual_touch,
    import_entries,
    last_touches,
    list_contacts,
    resolve,
    set_snooze,
    slugify,
    upcoming_meeting_contacts,
)
from syncd.errors import UsageError
from syncd.models import Contact, ContactEntry
from syncd.records import Attendee, Batch, Meeting, Message
from syncd.store import Store
from syncd.touches import TouchRules

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ME = "me@example.com"
RULES = TouchRules(own_addresses=frozenset({ME}))


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "store" / "syncd.db")
    yield s
    s.close()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8", newline="")
    return path


def import_files(store: Store, *paths: Path, now: datetime = NOW) -> tuple[int, int]:
    return import_entries(store, read_contact_files(list(paths)), now)


def by_id(store: Store) -> dict[str, Contact]:
    return {contact.id: contact for contact in list_contacts(store)}


def usage_error(call, *args) -> str:
    with pytest.raises(UsageError) as caught:
        call(*args)
    assert caught.value.exit_code == 2
    return str(caught.value)


ADA_TOML = """
    [[contact]]
    name = "Ada Lovelace"
    emails = ["Ada@Example.com", "ada.lovelace@googlemail.com"]
    tier = "meaningful"
    notes = "Met at the analytical engine meetup"
    tags = ["math", "poetry"]

    [[contact]]
    name = "Charles Babbage"
    emails = ["charles@example.org"]
    cadence_days = 45
    ignore = true
"""


# --- file formats ----------------------------------------------------------------


def test_import_toml(store: Store, tmp_path: Path) -> None:
    assert import_files(store, write(tmp_path, "contacts.toml", ADA_TOML)) == (2, 0)
    contacts = by_id(store)
    assert sorted(contacts) == ["ada-lovelace", "charles-babbage"]
    ada = contacts["ada-lovelace"]
    assert (ada.name, ada.emails, ada.tier, ada.cadence_days, ada.notes, ada.tags, ada.ignore, ada.snoozed_until) == (
        "Ada Lovelace",
        ["ada@example.com", "adalovelace@gmail.com"],
        "meaningful",
        None,
        "Met at the analytical engine meetup",
        ["math", "poetry"],
        False,
        None,
    )
    assert ada.email == "ada@example.com"
    charles = contacts["charles-babbage"]
    assert (charles.tier, charles.cadence_days, charles.ignore, charles.tags, charles.notes) == (None, 45, True, [], "")


def test_written_form_of_addresses_is_kept(store: Store, tmp_path: Path) -> None:
    import_files(store, write(tmp_path, "contacts.toml", ADA_TOML))
    rows = store.connection.execute(
        "SELECT address, written, position FROM contact_emails WHERE contact_id = 'ada-lovelace' ORDER BY position"
    ).fetchall()
    assert rows == [
        ("ada@example.com", "Ada@Example.com", 0),
        ("adalovelace@gmail.com", "ada.lovelace@googlemail.com", 1),
    ]


def test_import_csv(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "contacts.csv",
        """
        name,emails,tier,cadence_days,notes,tags,ignore
        Ada Lovelace,ada@example.com; ADA@work.example ,meaningful,,Poet of science,math;poetry,false
        Charles Babbage,charles@example.org,,45,,,true
        Grace Hopper,grace@example.com,intimate,,,navy,
    """,
    )
    assert import_files(store, path) == (3, 0)
    contacts = by_id(store)
    ada = contacts["ada-lovelace"]
    assert (ada.emails, ada.tier, ada.cadence_days, ada.notes, ada.tags, ada.ignore) == (
        ["ada@example.com", "ada@work.example"],
        "meaningful",
        None,
        "Poet of science",
        ["math", "poetry"],
        False,
    )
    charles = contacts["charles-babbage"]
    assert (charles.tier, charles.cadence_days, charles.ignore) == (None, 45, True)
    grace = contacts["grace-hopper"]
    assert (grace.tier, grace.tags, grace.ignore) == ("intimate", ["navy"], False)


def test_csv_with_bom_crlf_and_only_some_columns(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes("\ufeffname,emails\r\nAda,ada@example.com\r\n\r\n".encode("utf-8"))
    assert import_files(store, path) == (1, 0)
    assert by_id(store)["ada"].emails == ["ada@example.com"]


@pytest.mark.parametrize(("written", "expected"), [("true", True), ("false", False), ("TRUE", True), ("False", False)])
def test_csv_ignore_values(store: Store, tmp_path: Path, written: str, expected: bool) -> None:
    import_files(store, write(tmp_path, "c.csv", f"name,emails,ignore\nAda,ada@example.com,{written}\n"))
    assert by_id(store)["ada"].ignore is expected


def test_csv_bad_ignore_value(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "name,emails,ignore\nAda,ada@example.com,maybe\n")
    message = usage_error(import_files, store, path)
    assert f"{path}:2: ignore: expected true or false, got 'maybe'" in message
    assert list_contacts(store) == []


def test_csv_quoted_multiline_notes_keep_line_breaks(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", 'name,emails,notes\nAda,ada@example.com,"line one\nline two"\n')
    import_files(store, path)
    assert by_id(store)["ada"].notes == "line one\nline two"


VCARD3 = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:Hopper;Grace;Brewster;;\r\n"
    "EMAIL;TYPE=INTERNET:grace@example.com\r\n"
    "item1.EMAIL;type=INTERNET;type=pref:Grace.Hopper@GoogleMail.com\r\n"
    "NOTE:Navy\\, COBOL\\nrear admiral and a very long note that the writer folded over\r\n"
    "  two lines\r\n"
    "CATEGORIES:navy,compilers\r\n"
    "END:VCARD\r\n"
)

VCARD4 = """\
BEGIN:VCARD
VERSION:4.0
N:Lovelace;Augusta Ada;;;
FN:Ada Lovelace
EMAIL;TYPE=work;PREF=1:ada@exam
 ple.com
EMAIL;TYPE=home:mailto:ada.home@example.org
NOTE:Analyst
END:VCARD
"""


def test_import_vcard3_folded_lines_n_multiple_emails_note_categories(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "grace.vcf"
    path.write_bytes(VCARD3.encode("utf-8"))
    assert import_files(store, path) == (1, 0)
    grace = by_id(store)["grace-hopper"]
    assert grace.name == "Grace Hopper"
    assert grace.emails == ["grace@example.com", "gracehopper@gmail.com"]
    assert grace.notes == "Navy, COBOL\nrear admiral and a very long note that the writer folded over two lines"
    assert grace.tags == ["navy", "compilers"]
    assert grace.tier is None and grace.ignore is False


def test_import_vcard4_fn_wins_over_n(store: Store, tmp_path: Path) -> None:
    assert import_files(store, write(tmp_path, "ada.vcf", VCARD4)) == (1, 0)
    ada = by_id(store)["ada-lovelace"]
    assert ada.name == "Ada Lovelace"
    assert ada.emails == ["ada@example.com", "ada.home@example.org"]
    assert ada.notes == "Analyst"


def test_vcard_fn_after_n_still_wins(store: Store, tmp_path: Path) -> None:
    text = "BEGIN:VCARD\nVERSION:3.0\nN:Turing;Alan;;;\nFN:Alan M. Turing\nEMAIL:alan@example.com\nEND:VCARD\n"
    import_files(store, write(tmp_path, "a.vcf", text))
    assert [c.name for c in list_contacts(store)] == ["Alan M. Turing"]


def test_several_cards_in_one_file(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "all.vcf", VCARD4 + VCARD3.replace("\r\n", "\n"))
    assert import_files(store, path) == (2, 0)


def test_vcard_categories_escaped_comma(store: Store, tmp_path: Path) -> None:
    text = "BEGIN:VCARD\nVERSION:3.0\nFN:Ada\nEMAIL:ada@example.com\nCATEGORIES:R\\,D,math\nEND:VCARD\n"
    import_files(store, write(tmp_path, "a.vcf", text))
    assert by_id(store)["ada"].tags == ["R,D", "math"]


def test_import_vdir_folder(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "contacts"
    write(folder, "ada.vcf", VCARD4)
    (folder / "grace.VCF").write_bytes(VCARD3.encode())
    write(folder, "README.txt", "not a card")
    write(folder, ".hidden.tmp", "junk")
    assert import_files(store, folder) == (2, 0)
    assert sorted(by_id(store)) == ["ada-lovelace", "grace-hopper"]


# --- bad files: message with file:line and field, nothing imported ---------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            'tier = "bestie"\nemails = ["b@example.com"]',
            "tier: expected one of meaningful, intimate, familiar, unfamiliar, got 'bestie'",
        ),
        ('cadence_days = 0\nemails = ["b@example.com"]', "cadence_days: expected a whole number of days ≥ 1, got 0"),
        (
            'cadence_days = "often"\nemails = ["b@example.com"]',
            "cadence_days: expected a whole number of days ≥ 1, got 'often'",
        ),
        ('notes = "no emails"', "emails: expected a non-empty list of addresses"),
        ("emails = []", "emails: expected a non-empty list of addresses"),
        ('emails = ["not-an-address"]', "emails: 'not-an-address' is not an email address"),
        ('emails = ["b@example.com"]\nignore = "perhaps"', "ignore: expected true or false, got 'perhaps'"),
        ('emails = ["b@example.com"]\ntags = "a,b"', None),  # a string of tags is accepted (split on ;)
        ('emails = ["b@example.com"]\nphone = "123"', "unknown field 'phone'"),
    ],
)
def test_bad_toml_entry_names_file_line_and_field(
    store: Store, tmp_path: Path, body: str, expected: str | None
) -> None:
    text = '[[contact]]\nname = "Ada"\nemails = ["ada@example.com"]\n\n[[contact]]\nname = "Bob"\n' + body + "\n"
    path = write(tmp_path, "contacts.toml", text)
    if expected is None:
        import_files(store, path)
        return
    message = usage_error(import_files, store, path)
    assert f"{path}:5: {expected}" in message
    assert list_contacts(store) == []  # not even Ada, who was fine


def test_bad_csv_row_names_file_line_and_field(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.csv",
        "name,emails,tier,cadence_days\nAda,ada@example.com,,\nBob,bob@example.com,bestie,\nCy,,,\nDi,di@example.com,,-3\n",
    )
    message = usage_error(import_files, store, path)
    assert f"{path}:3: tier: expected one of" in message
    assert f"{path}:4: emails: expected a non-empty list of addresses" in message
    assert f"{path}:5: cadence_days: expected a whole number of days ≥ 1, got '-3'" in message
    assert list_contacts(store) == []


def test_csv_without_emails_column(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "name,mail\nAda,ada@example.com\n")
    assert f"{path}:1: header must name the columns" in usage_error(import_files, store, path)


def test_csv_row_with_too_many_fields(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "name,emails\nAda,ada@example.com,extra\n")
    assert f"{path}:2: more fields than the header has columns" in usage_error(import_files, store, path)


def test_invalid_toml_names_the_file(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "c.toml", "[[contact]\nname = 1\n")
    assert f"{path}: not valid TOML" in usage_error(import_files, store, path)


def test_toml_unknown_top_level_key(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "c.toml", "contacts = []\n")
    assert "unknown top-level key 'contacts'" in usage_error(import_files, store, path)


def test_vcard_without_email_or_end(store: Store, tmp_path: Path) -> None:
    no_email = write(tmp_path, "a.vcf", "BEGIN:VCARD\nVERSION:3.0\nFN:Ada\nEND:VCARD\n")
    assert f"{no_email}:1: vCard 'Ada' has no EMAIL" in usage_error(import_files, store, no_email)
    no_end = write(tmp_path, "b.vcf", "BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nEMAIL:bob@example.com\n")
    assert f"{no_end}:1: vCard without END:VCARD" in usage_error(import_files, store, no_end)
    empty = write(tmp_path, "c.vcf", "hello\n")
    assert f"{empty}: no vCard found" in usage_error(import_files, store, empty)


def test_unknown_format_and_missing_file(store: Store, tmp_path: Path) -> None:
    unknown = write(tmp_path, "c.json", "[]")
    assert f"{unknown}: unknown contacts format" in usage_error(import_files, store, unknown)
    missing = tmp_path / "missing.toml"
    assert f"{missing}: cannot read" in usage_error(import_files, store, missing)


def test_one_bad_file_imports_nothing_from_the_good_ones(store: Store, tmp_path: Path) -> None:
    good = write(tmp_path, "good.toml", ADA_TOML)
    bad = write(tmp_path, "bad.csv", "name,emails,tier\nBob,bob@example.com,bestie\n")
    message = usage_error(import_files, store, good, bad)
    assert f"{bad}:2: tier" in message
    assert list_contacts(store) == []


def test_all_problems_of_all_files_are_reported(store: Store, tmp_path: Path) -> None:
    a = write(tmp_path, "a.toml", '[[contact]]\nname = "A"\ntier = "x"\nemails = ["a@example.com"]\n')
    b = write(tmp_path, "b.csv", "name,emails,cadence_days\nB,b@example.com,zero\n")
    message = usage_error(import_files, store, a, b)
    assert f"{a}:1: tier" in message and f"{b}:2: cadence_days" in message


# --- merge by address ------------------------------------------------------------


def test_reimport_updates_without_duplicates_and_keeps_the_id(store: Store, tmp_path: Path) -> None:
    import_files(store, write(tmp_path, "v1.toml", ADA_TOML))
    v2 = write(
        tmp_path,
        "v2.toml",
        """
        [[contact]]
        name = "Ada King"
        emails = ["ada@example.com", "ada.lovelace@googlemail.com"]
        tier = "intimate"
    """,
    )
    assert import_files(store, v2, now=NOW + timedelta(days=1)) == (0, 1)
    contacts = by_id(store)
    assert sorted(contacts) == ["ada-lovelace", "charles-babbage"]
    ada = contacts["ada-lovelace"]
    assert (ada.name, ada.tier) == ("Ada King", "intimate")
    # fields the second file does not give are kept
    assert (ada.notes, ada.tags, ada.ignore) == ("Met at the analytical engine meetup", ["math", "poetry"], False)
    updated_at = store.connection.execute(
        "SELECT created_at, updated_at FROM contacts WHERE id = 'ada-lovelace'"
    ).fetchone()
    assert updated_at == (int(NOW.timestamp()), int((NOW + timedelta(days=1)).timestamp()))


def test_reimport_same_file_is_idempotent(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "c.toml", ADA_TOML)
    import_files(store, path)
    before = list_contacts(store)
    assert import_files(store, path) == (0, 2)
    assert list_contacts(store) == before


def test_reimport_matches_by_any_written_form_of_an_address(store: Store, tmp_path: Path) -> None:
    import_files(store, write(tmp_path, "v1.toml", ADA_TOML))
    v2 = write(tmp_path, "v2.csv", "name,emails,notes\n,A.D.A.Lovelace+x@gmail.com;ADA@EXAMPLE.COM,new notes\n")
    assert import_files(store, v2) == (0, 1)
    ada = by_id(store)["ada-lovelace"]
    assert (ada.name, ada.notes) == ("Ada Lovelace", "new notes")
    assert ada.emails == ["adalovelace@gmail.com", "ada@example.com"]  # the emails given replace the old list


def test_reimport_can_flip_ignore(store: Store, tmp_path: Path) -> None:
    import_files(store, write(tmp_path, "v1.toml", ADA_TOML))
    import_files(store, write(tmp_path, "v2.csv", "emails,ignore\ncharles@example.org,false\n"))
    assert by_id(store)["charles-babbage"].ignore is False


def test_new_contact_without_name_is_an_error(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "emails\nnew@example.com\n")
    assert f"{path}:2: name: a new contact needs a name" in usage_error(import_files, store, path)


def test_two_contacts_claiming_one_address_in_one_import(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.toml",
        """
        [[contact]]
        name = "Carl"
        emails = ["carl@example.com"]

        [[contact]]
        name = "Ada Lovelace"
        emails = ["ada@example.com"]

        [[contact]]
        name = "Ada King"
        emails = ["A.D.A@example.net", "ADA@example.com"]
    """,
    )
    message = usage_error(import_files, store, path)
    assert f"{path}:9: ada@example.com is claimed by both Ada Lovelace ({path}:5) and Ada King" in message
    assert "nothing was imported" in message
    assert list_contacts(store) == []  # Carl, earlier in the same file, rolled back too


def test_entry_spanning_two_existing_contacts_names_both(store: Store, tmp_path: Path) -> None:
    import_files(store, write(tmp_path, "v1.toml", ADA_TOML))
    before = list_contacts(store)
    path = write(
        tmp_path,
        "v2.toml",
        """
        [[contact]]
        name = "Zed"
        emails = ["zed@example.com"]

        [[contact]]
        name = "Merged"
        emails = ["ada@example.com", "charles@example.org"]
    """,
    )
    message = usage_error(import_files, store, path)
    assert (
        f"{path}:5: its addresses belong to two contacts, "
        "Ada Lovelace (ada-lovelace) and Charles Babbage (charles-babbage)" in message
    )
    assert list_contacts(store) == before  # Zed not imported


def test_ids_are_slugs_and_unique(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path, "c.csv", "name,emails\nJosé Núñez,jose@example.com\nJosé Núñez,jose2@example.com\n!!!,x@example.com\n"
    )
    import_files(store, path)
    assert sorted(by_id(store)) == ["contact", "jose-nunez", "jose-nunez-2"]
    assert slugify("  Ada  Lovelace ") == "ada-lovelace"


def test_add_contact_refuses_a_known_address(store: Store, tmp_path: Path) -> None:
    import_files(store, write(tmp_path, "v1.toml", ADA_TOML))
    entry = ContactEntry(
        origin="contacts add",
        emails=["adalovelace@gmail.com"],
        written_emails=["Ada.Lovelace@gmail.com"],
        name="Other Ada",
    )
    message = usage_error(add_contact, store, entry, NOW)
    assert message == "adalovelace@gmail.com already belongs to Ada Lovelace (ada-lovelace)"
    new = ContactEntry(
        origin="contacts add",
        emails=["grace@example.com"],
        written_emails=["grace@example.com"],
        name="Grace Hopper",
        tier="intimate",
    )
    grace = add_contact(store, new, NOW)
    assert (grace.id, grace.name, grace.tier, grace.emails) == (
        "grace-hopper",
        "Grace Hopper",
        "intimate",
        ["grace@example.com"],
    )


# --- resolve (CONTACT arguments) -------------------------------------------------


@pytest.fixture
def people(store: Store, tmp_path: Path) -> Store:
    import_files(
        store,
        write(
            tmp_path,
            "people.toml",
            """
        [[contact]]
        name = "Ada Lovelace"
        emails = ["ada@example.com", "ada.lovelace@gmail.com"]

        [[contact]]
        name = "Ada King"
        emails = ["king@example.org"]

        [[contact]]
        name = "Grace Hopper"
        emails = ["grace@example.com"]

        [[contact]]
        name = "Grace Hopper"
        emails = ["grace@navy.example"]
    """,
        ),
    )
    return store


def test_resolve_by_id(people: Store) -> None:
    assert resolve(people, "ada-king").name == "Ada King"
    assert resolve(people, " grace-hopper-2 ").email == "grace@navy.example"


@pytest.mark.parametrize(
    "query",
    [
        "ada@example.com",
        "ADA@Example.COM",
        " <ada@example.com> ",
        "Ada <ada@example.com>",
        "adalovelace@gmail.com",
        "Ada.Lovelace+coffee@googlemail.com",
    ],
)
def test_resolve_by_any_address_in_any_written_form(people: Store, query: str) -> None:
    assert resolve(people, query).id == "ada-lovelace"


@pytest.mark.parametrize("query", ["Ada Lovelace", "ada lovelace", "ADA LOVELACE", "  Ada Lovelace "])
def test_resolve_by_case_insensitive_name(people: Store, query: str) -> None:
    assert resolve(people, query).id == "ada-lovelace"


def test_resolve_by_unique_part_of_a_name(people: Store) -> None:
    assert resolve(people, "king").id == "ada-king"


def test_resolve_ambiguous_name_lists_candidates(people: Store) -> None:
    message = usage_error(resolve, people, "grace hopper")
    assert "matches several contacts" in message
    assert "grace-hopper  Grace Hopper <grace@example.com>" in message
    assert "grace-hopper-2  Grace Hopper <grace@navy.example>" in message


def test_resolve_ambiguous_partial_name_lists_candidates(people: Store) -> None:
    message = usage_error(resolve, people, "ada")
    assert "ada-lovelace" in message and "ada-king" in message


def test_resolve_unknown(people: Store) -> None:
    assert "no contact matches 'nobody@example.com'" in usage_error(resolve, people, "nobody@example.com")
    assert "no contact matches 'Turing'" in usage_error(resolve, people, "Turing")


# --- last touches ----------------------------------------------------------------


def record(item_id: str, at: datetime, address: str, kind: str = "email"):
    if kind == "meeting":
        return Meeting(
            item_id=item_id,
            start=at,
            end=at + timedelta(hours=1),
            organizer=ME,
            attendees=(Attendee(ME), Attendee(address)),
        )
    return Message(item_id=item_id, date=at, sender=(ME,), to=(address,))


def sync(store: Store, *records) -> None:
    store.ensure_source("test", "mbox")
    store.apply_batch("test", Batch(list(records), None), RULES)


def test_last_touch_is_the_newest_at_or_before_now(people: Store) -> None:
    sync(
        people,
        record("old", NOW - timedelta(days=40), "ada@example.com"),
        record("newer", NOW - timedelta(days=3), "adalovelace@gmail.com", "meeting"),
        record("future", NOW + timedelta(days=2), "ada@example.com", "meeting"),
        record("at-now", NOW, "king@example.org"),
    )
    touches = last_touches(people, NOW)
    assert touches["ada-lovelace"].at == NOW - timedelta(days=3)
    assert (touches["ada-lovelace"].kind, touches["ada-lovelace"].source, touches["ada-lovelace"].item_id) == (
        "meeting",
        "test",
        "newer",
    )
    assert touches["ada-king"].at == NOW and touches["ada-king"].kind == "email"
    assert "grace-hopper" not in touches


def test_future_meeting_counts_once_it_has_started(people: Store) -> None:
    start = NOW + timedelta(days=2)
    sync(people, record("future", start, "grace@example.com", "meeting"))
    assert "grace-hopper" not in last_touches(people, NOW)
    assert last_touches(people, start)["grace-hopper"].item_id == "future"


def test_manual_touch_wins_when_newer(people: Store) -> None:
    sync(people, record("m", NOW - timedelta(days=10), "ada@example.com"))
    add_manual_touch(people, "ada-lovelace", NOW - timedelta(days=2), "dinner", NOW)
    touch = last_touches(people, NOW)["ada-lovelace"]
    assert (touch.at, touch.kind, touch.note, touch.source, touch.item_id) == (
        NOW - timedelta(days=2),
        "manual",
        "dinner",
        None,
        None,
    )


def test_manual_touch_loses_when_older(people: Store) -> None:
    sync(people, record("m", NOW - timedelta(days=10), "ada@example.com"))
    add_manual_touch(people, "ada-lovelace", NOW - timedelta(days=20), "call", NOW)
    assert last_touches(people, NOW)["ada-lovelace"].kind == "email"


def test_newest_manual_touch_counts_and_future_manual_touch_does_not(people: Store) -> None:
    add_manual_touch(people, "ada-king", NOW - timedelta(days=9), "old call", NOW)
    add_manual_touch(people, "ada-king", NOW - timedelta(days=1), "lunch", NOW)
    add_manual_touch(people, "ada-king", NOW + timedelta(days=1), "planned", NOW)
    touch = last_touches(people, NOW)["ada-king"]
    assert (touch.at, touch.note) == (NOW - timedelta(days=1), "lunch")


def test_touches_of_unknown_addresses_are_nobody_s(people: Store) -> None:
    sync(people, record("m", NOW - timedelta(days=1), "stranger@example.com"))
    assert last_touches(people, NOW) == {}


def test_at_the_same_instant_a_meeting_counts_over_a_mail(people: Store) -> None:
    at = NOW - timedelta(days=1)
    sync(people, record("mail", at, "ada@example.com"), record("meet", at, "adalovelace@gmail.com", "meeting"))
    sync(people, record("mail-2", at, "king@example.org"), record("meet-2", at, "king@example.org", "meeting"))
    touches = last_touches(people, NOW)
    assert (touches["ada-lovelace"].kind, touches["ada-lovelace"].item_id) == ("meeting", "meet")
    assert (touches["ada-king"].kind, touches["ada-king"].item_id) == ("meeting", "meet-2")


def test_touch_follows_address_added_later(people: Store, tmp_path: Path) -> None:
    # touches are stored per address, so importing an address later attributes old mail at once
    sync(people, record("m", NOW - timedelta(days=5), "ada@work.example"))
    import_files(
        people, write(tmp_path, "more.csv", "emails\nada@example.com;ada.lovelace@gmail.com;ada@work.example\n")
    )
    assert last_touches(people, NOW)["ada-lovelace"].item_id == "m"


def test_upcoming_meeting_contacts(people: Store) -> None:
    sync(
        people,
        record("soon", NOW + timedelta(days=3), "ada@example.com", "meeting"),
        record("past", NOW - timedelta(days=1), "king@example.org", "meeting"),
        record("far", NOW + timedelta(days=30), "grace@example.com", "meeting"),
        record("mail", NOW + timedelta(days=1), "grace@navy.example"),
    )
    assert upcoming_meeting_contacts(people, NOW, NOW + timedelta(days=14)) == {"ada-lovelace"}
    assert upcoming_meeting_contacts(people, NOW, NOW + timedelta(days=30)) == {"ada-lovelace", "grace-hopper"}


def test_set_snooze(people: Store) -> None:
    until = NOW + timedelta(days=30)
    set_snooze(people, "ada-king", until)
    assert by_id(people)["ada-king"].snoozed_until == until
    set_snooze(people, "ada-king", None)
    assert by_id(people)["ada-king"].snoozed_until is None


def test_first_name() -> None:
    assert Contact(id="a", name="Ada Lovelace", emails=[]).first_name == "Ada"
    assert Contact(id="a", name="Ada", emails=[]).first_name == "Ada"


def test_every_address_conflict_in_one_import_is_reported(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "name,emails\nA,x@example.com\nB,x@example.com\nC,y@example.com\nD,y@example.com\n")
    message = usage_error(import_files, store, path)
    assert f"{path}:3: x@example.com is claimed by both A ({path}:2) and B" in message
    assert f"{path}:5: y@example.com is claimed by both C ({path}:4) and D" in message
