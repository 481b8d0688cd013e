"""Bearer tokens: looked up on every request, so one stops working the moment it expires
(signing out and revocation: test_accounts.py)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from engine.store.models import ApiToken
from engine.people.users import _digest


def test_a_token_stops_working_when_it_expires_even_if_it_was_just_used(api, services, new_user):
    user = new_user()
    headers = api.headers(user)
    token = headers["Authorization"].removeprefix("Bearer ")
    with services.sessions() as session:
        session.execute(update(ApiToken).where(ApiToken.token_hash == _digest(token))
                        .values(expires_at=datetime.now(timezone.utc) + timedelta(seconds=1)))
        session.commit()
    assert api.http.get("/api/auth/me", headers=headers).status_code == 200
    time.sleep(1.2)
    expired = api.http.get("/api/auth/me", headers=headers)
    assert expired.status_code == 401 and expired.get_json()["detail"].startswith("token unknown or expired")


def test_an_unknown_token_is_refused(api):
    assert api.http.get("/api/auth/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_a_failed_login_costs_the_same_whether_or_not_the_account_exists(services, new_user):
    """Before: ~107 ms for a real user, ~7 ms for an unknown one — the time told who has an
    account. Now an unknown name is checked against a hash too. Medians of 50 alternating tries."""
    from statistics import median

    from engine.errors import Unauthenticated
    from engine.people.users import login

    known = new_user()

    def seconds(username: str) -> float:
        started = time.perf_counter()
        with services.sessions() as session:
            try:
                login(session, username, "not-the-password")
            except Unauthenticated:
                pass  # the point: refused either way
            else:
                raise AssertionError("a wrong password was accepted")
        return time.perf_counter() - started

    seconds(known), seconds("nobody-warmup")  # the unknown users' hash is made once per process
    timings = {"known": [], "unknown": []}
    for attempt in range(50):
        timings["known"].append(seconds(known))
        timings["unknown"].append(seconds(f"nobody_{attempt}"))
    known_median, unknown_median = median(timings["known"]), median(timings["unknown"])
    assert abs(known_median - unknown_median) <= 0.2 * known_median, (known_median, unknown_median)
