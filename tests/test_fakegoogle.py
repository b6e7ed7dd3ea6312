"""The fake Google server's auth and Calendar, driven by the real google-api-python-client (no mocks).

These tests pin the behaviour syncd relies on: paths the client requests with
each `api_endpoint`, OAuth refresh, Calendar paging / sync tokens / recurrence
/ ids / free-busy. Gmail, batches, quota and faults: test_google_fake_gmail.py.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, UTC

import google.auth.exceptions
import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from tests.fakegoogle import FakeGoogle

UTC = UTC
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday


def reason(err: HttpError) -> str:
    return json.loads(err.content)["error"]["errors"][0]["reason"]


def timed(start: datetime, minutes: int = 60, **extra) -> dict:
    return {
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat()},
        **extra,
    }


@pytest.fixture
def fake():
    with FakeGoogle() as f:
        yield f


@pytest.fixture
def cal(fake):
    return fake.calendar_service()


@pytest.fixture
def gmail(fake):
    return fake.gmail_service()


def list_all(cal, **kw):
    """Follow nextPageToken; return (items, pages, nextSyncToken)."""
    items, pages, token = [], 0, None
    while True:
        resp = cal.events().list(calendarId="primary", pageToken=token, **kw).execute()
        pages += 1
        items += resp.get("items", [])
        token = resp.get("nextPageToken")
        if not token:
            assert "nextSyncToken" in resp
            return items, pages, resp["nextSyncToken"]
        assert "nextSyncToken" not in resp


# ---------------------------------------------------------------- auth ----


def test_paths_requested_with_each_api_endpoint(fake, cal, gmail):
    cal.events().list(calendarId="primary").execute()
    cal.freebusy().query(
        body={"timeMin": "2024-03-01T00:00:00Z", "timeMax": "2024-03-02T00:00:00Z", "items": [{"id": "primary"}]}
    ).execute()
    gmail.users().getProfile(userId="me").execute()
    paths = [p for _, p, _ in fake.requests]
    assert paths == [
        "/token",
        "/calendar/v3/calendars/primary/events",
        "/calendar/v3/freeBusy",
        "/token",
        "/gmail/v1/users/me/profile",
    ]


def test_token_refresh_and_expired_access_token(fake, cal):
    cal.events().list(calendarId="primary").execute()
    assert fake.auth.issued == 1
    fake.expire_access_tokens()
    cal.events().list(calendarId="primary").execute()  # 401, refresh, retry
    assert fake.auth.issued == 2
    statuses = [e["status"] for e in fake.log if e["api"] == "calendar.events.list"]
    assert statuses == [200, 401, 200]


def test_revoked_refresh_token_is_invalid_grant(fake, cal):
    fake.revoke_refresh_token()
    with pytest.raises(google.auth.exceptions.RefreshError) as exc:
        cal.events().list(calendarId="primary").execute()
    assert "invalid_grant" in str(exc.value)


def test_missing_bearer_token_is_google_401(fake):
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(fake.root + "gmail/v1/users/me/profile")
    assert exc.value.code == 401
    body = json.loads(exc.value.read())
    assert body["error"]["errors"][0]["reason"] == "authError"
    assert body["error"]["status"] == "UNAUTHENTICATED"


# ------------------------------------------------------------ calendar ----


def test_events_paging_and_sync_token_only_on_last_page(fake, cal):
    ids = [fake.calendar_add_event(timed(T0 + timedelta(days=i), summary=f"e{i}"))["id"] for i in range(7)]
    items, pages, _ = list_all(cal, maxResults=3)
    assert pages == 3
    assert [e["id"] for e in items] == ids


def test_sync_token_delta_includes_deleted_events(fake, cal):
    a, b, c = (fake.calendar_add_event(timed(T0 + timedelta(hours=i)))["id"] for i in range(3))
    _, _, token = list_all(cal)
    cal.events().delete(calendarId="primary", eventId=a).execute()
    cal.events().patch(calendarId="primary", eventId=b, body={"summary": "moved"}).execute()
    d = cal.events().insert(calendarId="primary", body=timed(T0 + timedelta(days=1))).execute()["id"]
    items, _, token2 = list_all(cal, syncToken=token)
    assert [(e["id"], e["status"]) for e in items] == [(a, "cancelled"), (b, "confirmed"), (d, "confirmed")]
    assert "start" not in items[0]  # Google guarantees only the id of a deleted event
    assert items[1]["summary"] == "moved"
    assert list_all(cal, syncToken=token2)[0] == []
    assert c not in {e["id"] for e in items}


def test_invalidated_sync_token_is_410_full_sync_required(fake, cal):
    _, _, token = list_all(cal)
    fake.invalidate_sync_tokens()
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId="primary", syncToken=token).execute()
    assert exc.value.status_code == 410
    assert reason(exc.value) == "fullSyncRequired"


def test_sync_token_with_time_min_is_400(cal):
    _, _, token = list_all(cal)
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId="primary", syncToken=token, timeMin="2024-01-01T00:00:00Z").execute()
    assert exc.value.status_code == 400


def test_single_events_expands_recurrence_with_exceptions(fake, cal):
    fake.calendar_add_event(
        {
            "id": "series001",
            "summary": "1:1",
            "start": {"dateTime": "2024-03-18T10:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2024-03-18T10:30:00", "timeZone": "Europe/Berlin"},
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],
        }
    )
    fake.calendar_add_exception("series001", "2024-03-25T09:00:00Z", {"summary": "1:1 (moved)"})
    fake.calendar_add_exception("series001", "2024-04-01T08:00:00Z", cancelled=True)
    items, _, _ = list_all(cal, singleEvents=True)
    assert [e["id"] for e in items] == [
        "series001_20240318T090000Z",
        "series001_20240325T090000Z",
        "series001_20240408T080000Z",
    ]
    assert items[1]["summary"] == "1:1 (moved)"
    assert all(e["recurringEventId"] == "series001" for e in items)
    assert items[2]["originalStartTime"]["dateTime"] == "2024-04-08T10:00:00+02:00"  # DST kept
    shown = list_all(cal, singleEvents=True, showDeleted=True)[0]
    assert [e["status"] for e in shown] == ["confirmed", "confirmed", "cancelled", "confirmed"]
    masters = list_all(cal)[0]  # not expanded: master + exceptions (cancelled one too)
    assert sorted(e["id"] for e in masters) == ["series001", "series001_20240325T090000Z", "series001_20240401T080000Z"]


def test_interval_until_and_time_window(fake, cal):
    fake.calendar_add_event(
        {"id": "series003", **timed(T0), "recurrence": ["RRULE:FREQ=WEEKLY;INTERVAL=2;UNTIL=20240501T000000Z"]}
    )
    items = list_all(cal, singleEvents=True, timeMin="2024-03-10T00:00:00Z", timeMax="2024-05-01T00:00:00Z")[0]
    assert [e["id"] for e in items] == [
        "series003_20240318T090000Z",
        "series003_20240401T090000Z",
        "series003_20240415T090000Z",
        "series003_20240429T090000Z",
    ]


def test_single_events_sync_delta_is_in_instance_form(fake, cal):
    fake.calendar_add_event({"id": "series002", **timed(T0), "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]})
    _, _, token = list_all(cal, singleEvents=True)
    cal.events().delete(calendarId="primary", eventId="series002").execute()
    items = list_all(cal, singleEvents=True, syncToken=token)[0]
    assert [(e["id"], e["status"]) for e in items] == [
        ("series002_20240304T090000Z", "cancelled"),
        ("series002_20240305T090000Z", "cancelled"),
        ("series002_20240306T090000Z", "cancelled"),
    ]


def test_insert_with_client_id_duplicate_and_deleted(fake, cal):
    body = timed(T0, summary="hold", id="hold0001ab", extendedProperties={"private": {"syncd": "hold"}})
    created = cal.events().insert(calendarId="primary", body=body, sendUpdates="none").execute()
    assert created["id"] == "hold0001ab" and created["status"] == "confirmed"
    with pytest.raises(HttpError) as exc:
        cal.events().insert(calendarId="primary", body=body).execute()
    assert (exc.value.status_code, reason(exc.value)) == (409, "duplicate")
    found = cal.events().list(calendarId="primary", privateExtendedProperty="syncd=hold").execute()
    assert [e["id"] for e in found["items"]] == ["hold0001ab"]
    assert cal.events().list(calendarId="primary", privateExtendedProperty="syncd=other").execute()["items"] == []
    cal.events().delete(calendarId="primary", eventId="hold0001ab").execute()
    assert cal.events().get(calendarId="primary", eventId="hold0001ab").execute()["status"] == "cancelled"
    with pytest.raises(HttpError) as exc:
        cal.events().delete(calendarId="primary", eventId="hold0001ab").execute()
    assert (exc.value.status_code, reason(exc.value)) == (410, "deleted")
    with pytest.raises(HttpError) as exc:
        cal.events().insert(calendarId="primary", body=body).execute()
    assert exc.value.status_code == 409
    for bad in ("UPPER12345", "abc", "wxyz12345", "has_underscore"):
        with pytest.raises(HttpError) as exc:
            cal.events().insert(calendarId="primary", body={**body, "id": bad}).execute()
        assert exc.value.status_code == 400, bad


def test_freebusy(fake, cal):
    fake.calendar_add_event(timed(T0, 60))
    fake.calendar_add_event(timed(T0 + timedelta(minutes=30), 60))  # overlaps: merged
    fake.calendar_add_event(timed(T0 + timedelta(hours=3), 60, transparency="transparent"))
    fake.calendar_add_event(
        timed(T0 + timedelta(hours=4), 60, attendees=[{"email": "me@example.com", "responseStatus": "declined"}])
    )
    gone = fake.calendar_add_event(timed(T0 + timedelta(hours=5), 60))
    fake.calendar_delete_event(gone["id"])
    fake.add_calendar("bob@example.com", in_list=False)
    fake.calendar_add_event(timed(T0 - timedelta(minutes=30), 60), calendar_id="bob@example.com")
    body = {
        "timeMin": "2024-03-04T09:00:00Z",
        "timeMax": "2024-03-05T00:00:00Z",
        "items": [{"id": "primary"}, {"id": "bob@example.com"}, {"id": "nobody@example.com"}],
    }
    resp = cal.freebusy().query(body=body).execute()
    assert resp["calendars"]["primary"]["busy"] == [{"start": "2024-03-04T09:00:00Z", "end": "2024-03-04T10:30:00Z"}]
    assert resp["calendars"]["bob@example.com"]["busy"] == [  # clipped to the window
        {"start": "2024-03-04T09:00:00Z", "end": "2024-03-04T09:30:00Z"}
    ]
    assert resp["calendars"]["nobody@example.com"]["errors"][0]["reason"] == "notFound"
    with pytest.raises(HttpError) as exc:
        cal.freebusy().query(body={**body, "items": [{"id": f"c{i}@x"} for i in range(51)]}).execute()
    assert exc.value.status_code == 400
    with pytest.raises(HttpError) as exc:
        cal.freebusy().query(body={**body, "timeMax": "2024-06-01T00:00:00Z"}).execute()
    assert (exc.value.status_code, reason(exc.value)) == (400, "timeRangeTooLong")


def test_calendar_list_paging(fake, cal):
    for i in range(4):
        fake.add_calendar(f"team{i}@group.calendar.google.com", access_role="reader")
    first = cal.calendarList().list(maxResults=2).execute()
    second = cal.calendarList().list(maxResults=2, pageToken=first["nextPageToken"]).execute()
    third = cal.calendarList().list(maxResults=2, pageToken=second["nextPageToken"]).execute()
    ids = [e["id"] for page in (first, second, third) for e in page["items"]]
    assert ids[0] == "me@example.com" and len(ids) == 5 and "nextPageToken" not in third
    assert first["items"][0]["primary"] is True


def test_calendar_batch_insert_and_per_part_errors(fake, cal):
    results = {}
    batch = BatchHttpRequest(batch_uri=fake.root + "batch/calendar/v3")
    for i, eid in enumerate(["hold0001aa", "hold0001aa", "bad_id"]):
        batch.add(
            cal.events().insert(calendarId="primary", body=timed(T0 + timedelta(hours=i), id=eid)),
            request_id=str(i),
            callback=lambda rid, resp, exc: results.__setitem__(rid, exc.status_code if exc else resp["id"]),
        )
    batch.execute()
    assert results == {"0": "hold0001aa", "1": 409, "2": 400}
    assert [e["id"] for e in fake.calendar_events()] == ["hold0001aa"]


def test_missing_scope_is_403_insufficient_permissions():
    only_mail = ["https://www.googleapis.com/auth/gmail.metadata"]
    with FakeGoogle(scopes=only_mail) as fake:
        cal = fake.calendar_service()
        with pytest.raises(HttpError) as exc:
            cal.freebusy().query(
                body={"timeMin": "2024-03-01T00:00:00Z", "timeMax": "2024-03-02T00:00:00Z", "items": []}
            ).execute()
        assert (exc.value.status_code, reason(exc.value)) == (403, "insufficientPermissions")


def test_delay_fault_and_retry_after_header():
    with FakeGoogle(quota_units_per_second=1, retry_after="auto", monotonic=lambda: 0.0) as fake:
        gmail = fake.gmail_service()
        fake.inject(rate=1.0, kinds=("delay",), delay=0.3, methods=["gmail.users.getProfile"])
        started = time.monotonic()
        gmail.users().getProfile(userId="me").execute()
        assert time.monotonic() - started >= 0.3
        fake.clear_faults()
        with pytest.raises(HttpError) as exc:
            gmail.users().getProfile(userId="me").execute()
        assert exc.value.status_code == 429
        assert int(exc.value.resp["retry-after"]) >= 1
