"""Configuration: TENFOUR_* variables, the data folder, and the secret key (generated once and kept; production
refuses a missing, default or short one)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from tenfour.config import SECRET_FILE_NAME, ConfigurationError, Settings
from tenfour.web.app import create_app

STRONG = "s3cr3t-" + "k" * 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TENFOUR_ENVIRONMENT", "TENFOUR_DATA_DIR", "TENFOUR_DATABASE_URL", "TENFOUR_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_secret_is_generated_on_first_run_and_kept_in_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Settings(data_dir=data).effective_secret_key()
    stored = data / SECRET_FILE_NAME
    assert stored.read_text().strip() == first and len(first) >= 48
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600, "only the app's user may read the key"
    assert Settings(data_dir=data).effective_secret_key() == first, "the same key on every later start"
    assert Settings(data_dir=tmp_path / "other").effective_secret_key() != first


def test_an_explicit_secret_wins_and_nothing_is_written(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, secret_key=STRONG).effective_secret_key() == STRONG
    assert not (tmp_path / SECRET_FILE_NAME).exists()


def test_production_refuses_a_missing_secret_and_creates_none(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="No secret key"):
        Settings(environment="production", data_dir=tmp_path).effective_secret_key()
    assert not (tmp_path / SECRET_FILE_NAME).exists()


@pytest.mark.parametrize("secret", ["change-me", "CHANGEME", "secret", "tenfour", "", "x" * 31])
def test_production_refuses_a_default_or_short_secret(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ConfigurationError, match="default or too short"):
        Settings(environment="production", data_dir=tmp_path, secret_key=secret).effective_secret_key()


def test_production_refuses_a_short_secret_from_the_data_folder(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE_NAME).write_text("short\n")
    with pytest.raises(ConfigurationError):
        Settings(environment="production", data_dir=tmp_path).effective_secret_key()


def test_production_accepts_a_strong_secret_from_either_place(tmp_path: Path) -> None:
    assert Settings(environment="production", data_dir=tmp_path, secret_key=STRONG).effective_secret_key() == STRONG
    (tmp_path / SECRET_FILE_NAME).write_text(STRONG + "\n")
    assert Settings(environment="production", data_dir=tmp_path).effective_secret_key() == STRONG


def test_the_app_will_not_start_in_production_without_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        create_app(Settings(environment="production", data_dir=tmp_path), session_factory=sessionmaker())


def test_development_is_the_default_and_is_not_production(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.environment == "development" and not settings.is_production


def test_variables_use_the_tenfour_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENFOUR_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("TENFOUR_DATABASE_URL", "postgresql://tenfour@db.internal/tenfour")
    monkeypatch.setenv("TENFOUR_ENVIRONMENT", "production")
    monkeypatch.setenv("TENFOUR_SECRET_KEY", STRONG)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///ignored.db")  # unprefixed variables are not ours
    settings = Settings()
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.effective_database_url() == "postgresql://tenfour@db.internal/tenfour"
    assert settings.is_production and settings.effective_secret_key() == STRONG


def test_the_default_database_is_sqlite_in_the_data_folder(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).effective_database_url() == f"sqlite:///{tmp_path / 'tenfour.db'}"


def test_a_relative_data_folder_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Settings(data_dir=Path("data")).data_dir == tmp_path / "data"


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="environment"):
        Settings(environment="staging")  # type: ignore[arg-type]
