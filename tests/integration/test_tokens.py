"""Bearer tokens: a known token is remembered for a few seconds, never past its expiry."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from engine.models import ApiToken
from engine.users import _digest


def test_a_token_stops_working_when_it_expires_even_if_it_was_just_used(api, engine, new_user):
    user = new_user()
    headers = api.headers(user)
    token = headers["Authorization"].removeprefix("Bearer ")
    with engine.sessions() as session:
        session.execute(update(ApiToken).where(ApiToken.token_hash == _digest(token))
                        .values(expires_at=datetime.now(timezone.utc) + timedelta(seconds=1)))
        session.commit()
    assert api.http.get("/api/auth/me", headers=headers).status_code == 200  # looked up, remembered ≤ 1 s
    time.sleep(1.2)
    expired = api.http.get("/api/auth/me", headers=headers)
    assert expired.status_code == 401 and expired.get_json()["detail"].startswith("token unknown or expired")


def test_an_unknown_token_is_refused(api):
    assert api.http.get("/api/auth/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401
