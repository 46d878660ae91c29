"""docs/deployment.md stays true: every `tenfour` command it shows exists, with every option it uses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from tenfour.cli import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def _invocations() -> list[list[str]]:
    found = []
    for line in DOC.read_text().splitlines():
        match = re.search(r"(?:^\s*|`|bin/)tenfour ((?:[a-z][\w-]*|--?[\w-]+|[A-Z0-9/.\-_<>=]+)(?: [^`|&;]*)?)", line)
        if match and not line.lstrip().startswith(("Description=", "#")):
            found.append(shlex.split(match.group(1).split("`")[0].split(" &")[0]))
    return found


def _resolve(tokens: list[str]) -> tuple[typer.core.TyperCommand | typer.core.TyperGroup, list[str]]:
    command: typer.core.TyperCommand | typer.core.TyperGroup = typer.main.get_command(app)
    rest = list(tokens)
    while rest and hasattr(command, "commands") and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    return command, rest


def test_the_page_shows_the_commands_it_should() -> None:
    names = {" ".join(_path(tokens)) for tokens in _invocations()}
    assert {"serve", "worker", "db upgrade", "backup", "backup verify", "restore"} <= names


def _path(tokens: list[str]) -> list[str]:
    command: typer.core.TyperCommand | typer.core.TyperGroup = typer.main.get_command(app)
    path = []
    for token in tokens:
        if hasattr(command, "commands") and token in command.commands:
            command = command.commands[token]
            path.append(token)
        else:
            break
    return path


@pytest.mark.parametrize("tokens", _invocations(), ids=lambda t: " ".join(t))
def test_every_command_and_option_on_the_page_exists(tokens: list[str]) -> None:
    command, rest = _resolve(tokens)
    assert not hasattr(command, "commands") or not rest or rest[0].startswith("-"), \
        f"`tenfour {' '.join(tokens)}`: no such command"
    known = {name for param in command.params for name in getattr(param, "opts", [])}
    used = {token.split("=")[0] for token in rest if token.startswith("--")}
    assert used <= known, f"`tenfour {' '.join(tokens)}`: unknown options {sorted(used - known)}"
