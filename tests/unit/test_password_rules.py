"""Password rules per NIST SP 800-63B §5.1.1.2: length (12, a product choice above the standard's 8), long
passphrases, no composition rules, a shipped common-password list and context-specific words."""

from __future__ import annotations

import pytest

from tenfour.accounts import passwords
from tenfour.demo import DEMO_PASSWORD
from tenfour.errors import ValidationFailed


def rule_of(password: str, email: str | None = None) -> str | None:
    try:
        passwords.check_password_rules(password, email=email)
    except ValidationFailed as error:
        assert error.problems[0].field == "password"
        return error.problems[0].rule
    return None


def test_the_shipped_list_is_large_and_read_locally() -> None:
    common = passwords.common_passwords()
    assert len(common) > 15_000
    assert {"123456", "password", "qwerty"} <= common


@pytest.mark.parametrize("password", ["password1234", "PASSWORD1234", "qwerty123456", "Q1W2E3R4T5Y6"])
def test_common_passwords_are_refused_whatever_their_case(password: str) -> None:
    assert password.lower() in passwords.common_passwords()
    assert rule_of(password) == "common"


@pytest.mark.parametrize(("password", "email"), [
    ("tenfourtenfour", None),
    ("TenFourTenFour", None),
    ("samuel.longname", "samuel.longname@clinic.example"),
    ("Samuel.Longname@clinic.example", "samuel.longname@clinic.example"),
])
def test_the_product_name_and_the_email_are_refused_as_the_whole_password(password: str, email: str | None) -> None:
    assert rule_of(password, email) == "context"


def test_lengths_and_no_composition_rules() -> None:
    assert rule_of("short pass") == "min_length"
    assert rule_of("eleven char") == "min_length"
    assert rule_of("twelve chars") is None  # exactly 12, only lower-case letters and a space: no composition rules
    assert rule_of("x" * 64) is None and rule_of("y" * 256) is None  # 800-63B: at least 64 allowed
    assert rule_of("z" * 257) == "max_length"


def test_the_demo_password_passes_because_context_words_are_refused_only_as_the_whole_password() -> None:
    assert rule_of(DEMO_PASSWORD, "admin@tenfour.example") is None
    assert rule_of("my tenfour shift notes") is None
