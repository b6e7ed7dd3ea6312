"""The fake Google's Gmail, batches, quota and injected faults, driven by the real client (no mocks).

Split from test_fakegoogle.py (auth and Calendar); the fixtures are shared from there.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from tests.fakegoogle import FakeGoogle
from tests.test_fakegoogle import T0, fake, gmail, reason  # noqa: F401 (fake and gmail are fixtures)


# --------------------------------------------------------------- gmail ----


def seed_mail(fake, n: int) -> list[str]:
    """n messages, one per hour from T0; returns ids oldest first."""
    return [
        fake.gmail_add_message(
            {"From": f"p{i}@example.com", "To": "me@example.com", "Subject": f"hello {i}", "Message-ID": f"<{i}@x>"},
            T0 + timedelta(hours=i),
        )
        for i in range(n)
    ]


def test_gmail_list_get_and_batch_get_50(fake, gmail):
    fake.set_quota(100_000)  # 265 units in well under a second: above the default 250/s
    ids = seed_mail(fake, 120)
    listed, token = [], None
    while True:
        resp = gmail.users().messages().list(userId="me", maxResults=50, pageToken=token).execute()
        listed += [m["id"] for m in resp["messages"]]
        token = resp.get("nextPageToken")
        if not token:
            break
    assert listed == ids[::-1]  # newest first
    got = {}
    batch = BatchHttpRequest(batch_uri=fake.root + "batch/gmail/v1")
    for mid in listed[:50]:
        batch.add(
            gmail.users().messages().get(userId="me", id=mid, format="metadata", metadataHeaders=["From", "subject"]),
            callback=lambda rid, resp, exc: got.__setitem__(resp["id"], resp),
        )
    batch.execute()
    assert set(got) == set(listed[:50])
    msg = got[ids[119]]
    assert msg["payload"]["headers"] == [
        {"name": "From", "value": "p119@example.com"},
        {"name": "Subject", "value": "hello 119"},
    ]
    assert msg["internalDate"] == str(int((T0 + timedelta(hours=119)).timestamp() * 1000))
    assert fake.calls["gmail.users.messages.get"] == 50
    assert fake.calls["batch"] == 1
    assert fake.units_used == 3 * 5 + 50 * 5


def test_gmail_metadata_scope_forbids_q_and_full(fake, gmail):
    (mid,) = seed_mail(fake, 1)
    with pytest.raises(HttpError) as exc:
        gmail.users().messages().list(userId="me", q="from:a@example.com").execute()
    assert (exc.value.status_code, reason(exc.value)) == (403, "forbidden")
    assert "Metadata scope does not support 'q' parameter" in exc.value.content.decode()
    for fmt in (None, "full", "raw"):
        with pytest.raises(HttpError) as exc:
            gmail.users().messages().get(userId="me", id=mid, format=fmt).execute()
        assert exc.value.status_code == 403


def test_gmail_history_delta_and_expiry(fake, gmail):
    a, b = seed_mail(fake, 2)
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    c = fake.gmail_add_message({"From": "new@example.com"}, T0 + timedelta(days=1))
    fake.gmail_delete_message(a)
    fake.gmail_modify_labels(b, add=["STARRED"], remove=["INBOX"])
    resp = gmail.users().history().list(userId="me", startHistoryId=start, maxResults=2).execute()
    page2 = gmail.users().history().list(userId="me", startHistoryId=start, pageToken=resp["nextPageToken"]).execute()
    records = resp["history"] + page2["history"]
    assert [r["messagesAdded"][0]["message"]["id"] for r in records if "messagesAdded" in r] == [c]
    assert [r["messagesDeleted"][0]["message"]["id"] for r in records if "messagesDeleted" in r] == [a]
    assert [r["labelsAdded"][0]["labelIds"] for r in records if "labelsAdded" in r] == [["STARRED"]]
    assert [r["labelsRemoved"][0]["labelIds"] for r in records if "labelsRemoved" in r] == [["INBOX"]]
    assert page2["historyId"] == str(fake.gmail_history_id) == str(int(start) + 4)
    only_added = (
        gmail.users().history().list(userId="me", startHistoryId=start, historyTypes=["messageAdded"]).execute()
    )
    assert [list(r) for r in only_added["history"]] == [["id", "messages", "messagesAdded"]]
    with pytest.raises(HttpError) as exc:
        gmail.users().messages().get(userId="me", id=a, format="metadata").execute()
    assert exc.value.status_code == 404
    fake.expire_history()
    with pytest.raises(HttpError) as exc:
        gmail.users().history().list(userId="me", startHistoryId=page2["historyId"]).execute()
    assert exc.value.status_code == 404


# ------------------------------------------------------ batch / limits ----


def test_batch_over_100_parts_is_400(fake, gmail):
    (mid,) = seed_mail(fake, 1)
    batch = BatchHttpRequest(batch_uri=fake.root + "batch/gmail/v1")
    for _ in range(101):
        batch.add(gmail.users().messages().get(userId="me", id=mid, format="minimal"))
    with pytest.raises(HttpError) as exc:
        batch.execute()
    assert exc.value.status_code == 400


def test_quota_429_per_batch_part_when_hammered():
    clock = [100.0]  # frozen monotonic clock: no refill, so the split is exact
    with FakeGoogle(quota_units_per_second=10, monotonic=lambda: clock[0]) as fake:
        gmail = fake.gmail_service()
        ids = seed_mail(fake, 10)
        results = {}
        batch = BatchHttpRequest(batch_uri=fake.root + "batch/gmail/v1")
        for mid in ids:
            batch.add(
                gmail.users().messages().get(userId="me", id=mid, format="metadata"),
                request_id=mid,
                callback=lambda rid, resp, exc: results.__setitem__(rid, exc.status_code if exc else 200),
            )
        batch.execute()
        assert [results[m] for m in ids] == [200, 200] + [429] * 8
        assert (fake.count_429, fake.units_used) == (8, 10)
        clock[0] += 1.0  # one second refills 10 units
        for mid in ids[:2]:
            gmail.users().messages().get(userId="me", id=mid, format="minimal").execute()
        with pytest.raises(HttpError) as exc:
            gmail.users().getProfile(userId="me").execute()  # 1 unit, none left
        assert exc.value.status_code == 429
        assert reason(exc.value) == "rateLimitExceeded"


def test_injected_faults_are_seeded_and_one_shot(fake, gmail):
    fake.inject(rate=0.5, kinds=("500",), seed=7, methods=["gmail.users.getProfile"])
    outcome = []
    for _ in range(20):
        try:
            gmail.users().getProfile(userId="me").execute()
            outcome.append(200)
        except HttpError as err:
            outcome.append(err.status_code)
    assert outcome.count(500) == len(fake.faults.log)
    assert 0 < outcome.count(500) < 20
    with FakeGoogle() as again:  # same seed, same sequence
        again.inject(rate=0.5, kinds=("500",), seed=7, methods=["gmail.users.getProfile"])
        g2 = again.gmail_service()
        replay = []
        for _ in range(20):
            try:
                g2.users().getProfile(userId="me").execute()
                replay.append(200)
            except HttpError as err:
                replay.append(err.status_code)
    assert replay == outcome
    fake.clear_faults()
    fake.fail_next(2, "503")
    codes = []
    for _ in range(3):
        try:
            gmail.users().getProfile(userId="me").execute()
            codes.append(200)
        except HttpError as err:
            codes.append(err.status_code)
    assert codes == [503, 503, 200]


def test_fault_inside_a_batch_hits_one_part(fake, gmail):
    ids = seed_mail(fake, 3)
    fake.fail_next(1, "500", methods=["gmail.users.messages.get"])
    codes = {}
    batch = BatchHttpRequest(batch_uri=fake.root + "batch/gmail/v1")
    for mid in ids:
        batch.add(
            gmail.users().messages().get(userId="me", id=mid, format="minimal"),
            request_id=mid,
            callback=lambda rid, resp, exc: codes.__setitem__(rid, exc.status_code if exc else 200),
        )
    batch.execute()
    assert [codes[m] for m in ids] == [500, 200, 200]


def test_reset_drops_the_connection(fake, gmail):
    fake.fail_next(3, "reset", methods=["gmail.users.getProfile"])
    with pytest.raises(Exception) as exc:
        gmail.users().getProfile(userId="me").execute()
    assert not isinstance(exc.value, HttpError)
    assert [e["status"] for e in fake.log if e["api"] == "gmail.users.getProfile"][:2] == ["reset"] * 2
