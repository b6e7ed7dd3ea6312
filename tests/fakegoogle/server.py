"""FakeGoogle: a loopback HTTP server the real google-api-python-client talks to.

Why a real server rather than mocks: syncd's Google code (discovery-built
services, BatchHttpRequest, google-auth refresh, httplib2 retries) is only
exercised for real when bytes cross a socket. Every request goes through one
pipeline — route, fault injection, auth, quota, handler — whether it arrives
alone or as a part of a batch, so a batch part can fail on its own as at Google.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from datetime import datetime
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import calendar_list as cal_reads
from . import schema
from .auth import DEFAULT_SCOPES, Auth
from .batch import BatchFormatError, format_batch, parse_batch
from .calendar import CalendarState
from .errors import ApiError, Response, bad_request, rate_limited, server_error
from .handler import RESET, Handler
from .gmail import GmailState
from .limits import FAULT_KINDS, DEFAULT_FAULT_PATHS, FaultRule, Faults, Quota, units_for
from .query import Query
from .routes import parse_json, route
from .seeding import Seeding
from .timeutil import UTC


class FakeGoogle(Seeding):
    """See tests/fakegoogle/__init__.py for the public API summary."""

    def __init__(
        self,
        email: str = "me@example.com",
        *,
        quota_units_per_second: float | None = 250,
        calendar_units_per_second: float | None = None,
        quota_burst_seconds: float = 1.0,
        rate_limit_status: int = 429,
        retry_after: float | str | None = None,
        gmail_metadata_only: bool = True,
        minimal_cancelled: bool = True,
        freebusy_max_days: float = 62,
        batch_limits: dict | None = None,
        scopes=DEFAULT_SCOPES,
        now=None,
        monotonic=time.monotonic,
        host: str = "127.0.0.1",
        check_schema: bool = True,
    ):
        self.email = email
        self.host = host
        self.lock = threading.RLock()
        self.now = now or (lambda: datetime.now(UTC))
        self.auth = Auth(scopes)
        self.calendar = CalendarState(email, self.now, self.lock, minimal_cancelled)
        self.gmail = GmailState(email, self.lock, gmail_metadata_only)
        cal_rate = calendar_units_per_second if calendar_units_per_second is not None else quota_units_per_second
        self.quota = Quota({"gmail": quota_units_per_second, "calendar": cal_rate}, quota_burst_seconds, monotonic)
        self.rate_limit_status = rate_limit_status
        self.retry_after = retry_after
        self.freebusy_max_days = freebusy_max_days
        # Gmail: 100 calls per batch; Calendar's batch guide says 1000.
        self.batch_limits = {"gmail/v1": 100, "calendar/v3": 1000, None: 1000, **(batch_limits or {})}
        self.faults = Faults()
        self.fault_delay = 0.2
        # Called as hook(entry) after a request was answered and before the answer is
        # sent (entry as in `log`): crash tests kill the client there.
        self.after_dispatch: list = []
        # Every JSON answer is checked against the discovery documents (schema.py);
        # `stop()` fails the test when one drifted from the real API.
        self.check_schema = check_schema
        self.schema_problems: list[str] = []
        self.schema_checked: Counter = Counter()
        self.reset_counters()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle ----------------------------------------------------------
    def start(self) -> FakeGoogle:
        server = ThreadingHTTPServer((self.host, 0), Handler)
        server.daemon_threads = True
        server.fake = self
        server.handle_error = lambda request, client_address: None
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="fakegoogle", kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self, check_schema: bool = True) -> None:
        """Stop serving; then fail if an answer did not match the discovery documents."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None
        if check_schema and self.schema_problems:
            shown = "\n  ".join(self.schema_problems[:20])
            raise AssertionError(f"the fake answered outside Google's discovery documents:\n  {shown}")

    def __enter__(self) -> FakeGoogle:
        return self.start()

    def __exit__(self, exc_type, *exc) -> None:
        self.stop(check_schema=exc_type is None)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}/"

    # ----- counters -------------------------------------------------------------
    def reset_counters(self) -> None:
        with self.lock:
            self.calls: Counter = Counter()
            self.units_used = 0
            self.count_429 = 0
            self.requests: list[tuple[str, str, dict]] = []
            self.log: list[dict] = []
            self.faults.log.clear()

    # ----- auth -------------------------------------------------------------------
    def authorized_user_info(self) -> dict:
        """google-auth "authorized_user" dict; build Credentials from its fields directly."""
        return {
            "type": "authorized_user",
            "client_id": self.auth.client_id,
            "client_secret": self.auth.client_secret,
            "refresh_token": self.auth.refresh_token,
            "token_uri": self.root + "token",
        }

    def credentials(self):
        """google.oauth2 Credentials for this fake (token_uri kept, unlike from_authorized_user_info)."""
        from google.oauth2.credentials import Credentials

        info = self.authorized_user_info()
        return Credentials(
            token=None,
            refresh_token=info["refresh_token"],
            token_uri=info["token_uri"],
            client_id=info["client_id"],
            client_secret=info["client_secret"],
        )

    def calendar_service(self, credentials=None):
        from googleapiclient.discovery import build

        return build(
            "calendar",
            "v3",
            credentials=credentials or self.credentials(),
            client_options={"api_endpoint": self.root + "calendar/v3/"},
            static_discovery=True,
            cache_discovery=False,
        )

    def gmail_service(self, credentials=None):
        from googleapiclient.discovery import build

        return build(
            "gmail",
            "v1",
            credentials=credentials or self.credentials(),
            client_options={"api_endpoint": self.root},
            static_discovery=True,
            cache_discovery=False,
        )

    def revoke_refresh_token(self, expire_access_tokens: bool = True) -> None:
        self.auth.revoke_refresh_token(expire_access_tokens)

    def new_refresh_token(self) -> str:
        return self.auth.new_refresh_token()

    def expire_access_tokens(self) -> None:
        self.auth.expire_access_tokens()

    # ----- quota and faults ------------------------------------------------------
    def set_quota(self, units_per_second: float | None, api: str | None = None) -> None:
        for name in [api] if api else ["gmail", "calendar"]:
            self.quota.set_rate(name, units_per_second)

    def inject(
        self,
        rate: float = 0.2,
        kinds=("500", "503", "429", "reset", "delay"),
        seed=0,
        paths=DEFAULT_FAULT_PATHS,
        methods=None,
        delay: float | None = None,
        in_batch: bool = True,
    ) -> None:
        """Fail a `rate` share of matching requests with a seeded random kind."""
        self._check_kinds(kinds)
        if delay is not None:
            self.fault_delay = delay
        with self.faults.lock:
            self.faults.random.append(
                FaultRule(tuple(kinds), rate, None, _tuple(paths), _tuple(methods), in_batch, random.Random(seed))
            )

    def fail_next(
        self, n: int = 1, kind: str = "500", paths=DEFAULT_FAULT_PATHS, methods=None, in_batch: bool = True
    ) -> None:
        """The next `n` matching requests fail with `kind`."""
        self._check_kinds([kind])
        with self.faults.lock:
            self.faults.once.append(FaultRule((kind,), 1.0, n, _tuple(paths), _tuple(methods), in_batch))

    def clear_faults(self) -> None:
        with self.faults.lock:
            self.faults.once.clear()
            self.faults.random.clear()

    @staticmethod
    def _check_kinds(kinds) -> None:
        bad = [k for k in kinds if k not in FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kinds {bad}; known: {FAULT_KINDS}")

    # ----- the pipeline -------------------------------------------------------------
    def dispatch(
        self, verb: str, target: str, headers: dict, body: bytes, in_batch: bool = False, outer_auth: str | None = None
    ):
        """Answer one request (a Response, or RESET to drop the connection)."""
        split = urlsplit(target)
        path = split.path.lstrip("/")
        query = parse_qs(split.query, keep_blank_values=True)
        entry = {
            "method": verb,
            "path": "/" + path,
            "query": query,
            "api": None,
            "status": None,
            "batch": in_batch,
            "body": body,
        }
        with self.lock:
            self.requests.append((verb, "/" + path, query))
            self.log.append(entry)
        resp = self._answer(verb, path, Query(query), headers, body, in_batch, outer_auth, entry)
        entry["status"] = ("lost" if entry.get("lost") else "reset") if resp is RESET else resp.status
        if resp is not RESET and resp.status == 429:
            with self.lock:
                self.count_429 += 1
        if self.check_schema and resp is not RESET:
            self._check_schema(entry["api"], resp, body)
        for hook in list(self.after_dispatch):
            hook(entry)
        return resp

    def _check_schema(self, name: str | None, resp: Response, request_body: bytes) -> None:
        """The request the client sent and the answer given, against the method's schemas."""
        if name in (None, "batch", "oauth.token") or not 200 <= resp.status < 300:
            return
        found = schema.request_problems(name, json.loads(request_body)) if request_body else []
        if resp.body is None:
            expected = schema.response_schema(name)
            found += [f"{name}: answered without a body, but its schema is {expected}"] if expected else []
        else:
            found += schema.problems(name, json.loads(resp.payload()))
        with self.lock:
            self.schema_checked[name] += 1
            self.schema_problems.extend(found)

    def _answer(self, verb, path, q, headers, body, in_batch, outer_auth, entry):
        matched = route(verb, path)
        if matched is None:
            return Response(404, ApiError(404, "Not Found", "notFound").body)
        name, args = matched
        entry["api"] = name
        with self.lock:
            self.calls[name] += 1
        kind = self.faults.pick(verb, path, name, in_batch)
        if kind == "reset":
            return RESET
        if kind == "lost":
            entry["lost"] = True
            # Done, but the answer never reaches the client (a connection lost after the
            # server acted): the case that makes retried inserts need idempotent ids.
            self._process(verb, name, args, q, headers, body, in_batch, outer_auth)
            return RESET
        if kind == "delay":
            time.sleep(self.fault_delay)
        elif kind in ("429", "403rate"):
            hint = 1.0 if self.retry_after == "auto" else self.retry_after
            return Response.from_error(rate_limited(403 if kind == "403rate" else 429, hint))
        elif kind in ("500", "503"):
            return Response.from_error(server_error(int(kind)))
        return self._process(verb, name, args, q, headers, body, in_batch, outer_auth)

    def _process(self, verb, name, args, q, headers, body, in_batch, outer_auth):
        """Auth, quota and the handler for one routed request."""
        try:
            if name == "oauth.token":
                return self.auth.token_endpoint(body, headers.get("authorization"))
            if name == "batch":
                if in_batch:
                    raise bad_request("Nested batch requests are not allowed.")
                return self._batch(args[0], headers, body)
            api = name.split(".")[0]
            self.auth.check(headers.get("authorization") or outer_auth, name)
            units = units_for(name)
            wait = self.quota.charge(api, units)
            if wait:
                hint = wait if self.retry_after == "auto" else self.retry_after
                raise rate_limited(self.rate_limit_status, hint)
            with self.lock:
                self.units_used += units
            return self._handle(name, args, q, body)
        except ApiError as err:
            return Response.from_error(err)

    def _handle(self, name: str, args: list[str], q: Query, body: bytes) -> Response:
        cal, gm = self.calendar, self.gmail
        if name.startswith("gmail."):
            gm.check_user(args[0])
        handlers = {
            "calendar.events.list": lambda: cal_reads.list_events(cal, args[0], q),
            "calendar.events.insert": lambda: cal.insert(args[0], parse_json(body)),
            "calendar.events.get": lambda: cal.get(args[0], args[1]),
            "calendar.events.patch": lambda: cal.patch(args[0], args[1], parse_json(body)),
            "calendar.events.update": lambda: cal.patch(args[0], args[1], parse_json(body), True),
            "calendar.events.delete": lambda: cal.delete(args[0], args[1]),
            "calendar.freebusy.query": lambda: cal_reads.freebusy(cal, parse_json(body), self.freebusy_max_days),
            "calendar.calendarList.list": lambda: cal_reads.calendar_list(cal, q),
            "calendar.calendarList.get": lambda: cal_reads.calendar_list_get(cal, args[0]),
            "gmail.users.getProfile": gm.profile,
            "gmail.users.messages.list": lambda: gm.list_messages(q),
            "gmail.users.messages.get": lambda: gm.get_message(args[1], q),
            "gmail.users.history.list": lambda: gm.list_history(q),
            "gmail.users.labels.list": gm.labels,
        }
        result = handlers[name]()
        return Response(204) if result is None else Response(200, result)

    def _batch(self, api_path: str | None, headers: dict, body: bytes) -> Response:
        try:
            parts = parse_batch(headers.get("content-type", ""), body)
        except BatchFormatError as exc:
            raise bad_request(f"Failed to parse batch request: {exc}", "badRequest") from None
        limit = self.batch_limits.get(api_path, 1000)
        if len(parts) > limit:
            raise bad_request(f"Too many requests in batch: {len(parts)} > {limit}.", "badRequest")
        answers = []
        for part in parts:
            if api_path and not urlsplit(part.target).path.lstrip("/").startswith(api_path):
                resp = Response.from_error(
                    bad_request("All requests in a batch must go to the batch's API.", "badRequest")
                )
            else:
                resp = self.dispatch(
                    part.method,
                    part.target,
                    part.headers,
                    part.body,
                    in_batch=True,
                    outer_auth=headers.get("authorization"),
                )
            answers.append((part.content_id, resp))
        content_type, payload = format_batch(answers)
        return Response(200, payload, {"Content-Type": content_type})


def _tuple(value):
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)
