"""The TOTP secret is stored encrypted (accounts.secretbox): the column never holds the base32 secret; rows written
before encryption still work and are encrypted by the migration; a secret under another key fails closed."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from sqlalchemy import select, text
from tests.web.support import app, module_app  # noqa: F401 - one app per module

from tenfour.accounts import mfa, secretbox
from tenfour.accounts.models import User
from tenfour.db import utcnow

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def stored(db, user_id: int) -> str:  # type: ignore[no-untyped-def]
    return db.execute(text("SELECT totp_secret FROM users WHERE id = :id"), {"id": user_id}).scalar_one()


def login(client, email: str, code: str):  # type: ignore[no-untyped-def]
    from tests import factories

    return client.post("/api/v1/auth/login", json={"email": email, "password": factories.PASSWORD, "totp": code})


def test_the_stored_column_never_holds_the_secret(db, world) -> None:  # type: ignore[no-untyped-def]
    nurse = world.user("nurse")
    secret = mfa.start_enrolment(db, nurse)
    db.commit()
    raw = stored(db, nurse.id)
    assert raw.startswith(secretbox.PREFIX)
    assert secret not in raw and secret.lower() not in raw.lower()
    assert len(set(raw)) > 20  # not an encoding of a constant
    db.expire_all()
    assert db.get(User, nurse.id).totp_secret == secret  # the application sees the secret


def test_the_same_secret_encrypts_differently_each_time() -> None:
    assert secretbox.encrypt(SECRET, "k" * 40) != secretbox.encrypt(SECRET, "k" * 40)
    assert secretbox.decrypt(secretbox.encrypt(SECRET, "k" * 40), "k" * 40) == SECRET
    assert secretbox.decrypt(secretbox.encrypt(SECRET, "k" * 40), "another key" * 4) is None


def test_an_enrolled_staff_member_signs_in_with_a_code_from_the_encrypted_secret(client, db, world) -> None:  # type: ignore[no-untyped-def]
    nurse = world.user("nurse")
    nurse.totp_secret = SECRET
    nurse.totp_enabled_at = utcnow()
    db.commit()
    assert SECRET not in stored(db, nurse.id)
    assert login(client, nurse.email, pyotp.TOTP(SECRET).now()).status_code == 200


def test_a_row_written_before_encryption_still_works_and_is_encrypted_on_the_next_write(client, db, world) -> None:  # type: ignore[no-untyped-def]
    nurse = world.user("nurse")
    db.execute(text("UPDATE users SET totp_secret = :s, totp_enabled_at = :at WHERE id = :id"),
               {"s": SECRET, "at": utcnow() - timedelta(days=1), "id": nurse.id})
    db.commit()
    db.expire_all()
    assert db.get(User, nurse.id).totp_secret == SECRET  # read as it is
    assert login(client, nurse.email, pyotp.TOTP(SECRET).now()).status_code == 200
    db.expire_all()
    user = db.get(User, nurse.id)
    user.totp_secret = SECRET[::-1]
    db.commit()
    assert stored(db, nurse.id).startswith(secretbox.PREFIX)


def test_the_migration_encrypts_plain_rows_and_its_downgrade_decrypts_them(database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine
    from tests.helpers import scratch_database

    from tenfour import migrate

    with scratch_database(database_url) as url:
        migrate.upgrade(url, "jobs_queue")
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO users (email, full_name, role, is_active, created_at, totp_secret)"
                                        " VALUES ('n@example.com', 'N', 'nurse', true, CURRENT_TIMESTAMP, :s)"),
                                   {"s": SECRET})
            migrate.upgrade(url, "privacy_retention")
            with engine.connect() as connection:
                after = connection.execute(text("SELECT totp_secret FROM users")).scalar_one()
            assert after.startswith(secretbox.PREFIX) and SECRET not in after
            assert secretbox.decrypt(after) == SECRET
            migrate.downgrade(url, "jobs_queue")
            with engine.connect() as connection:
                assert connection.execute(text("SELECT totp_secret FROM users")).scalar_one() == SECRET
        finally:
            engine.dispose()


def test_a_secret_under_another_key_fails_closed(client, db, world) -> None:  # type: ignore[no-untyped-def]
    nurse = world.user("nurse")
    nurse.totp_enabled_at = utcnow()
    db.commit()
    db.execute(text("UPDATE users SET totp_secret = :s WHERE id = :id"),
               {"s": secretbox.encrypt(SECRET, "a different deployment key" * 2), "id": nurse.id})
    db.commit()
    db.expire_all()
    user = db.scalar(select(User).where(User.id == nurse.id))
    assert user.mfa_enabled  # still on: never silently off
    assert login(client, nurse.email, pyotp.TOTP(SECRET).now()).status_code == 401
