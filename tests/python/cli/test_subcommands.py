"""The command line has every subcommand the docs promise; one missing fails here (the parser
itself skips a subcommand module that is absent from a checkout)."""

import argparse

import pytest

from spiralkit.cli import SUBCOMMANDS, build_parser, main

EXPECTED = {"compress", "compile", "run", "bench", "info", "demo"}


def _registered(parser) -> set:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return set(actions[0].choices)


def test_every_subcommand_is_registered():
    assert set(SUBCOMMANDS) == EXPECTED
    assert _registered(build_parser()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_subcommand_answers_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    assert f"spiralkit {name}" in capsys.readouterr().out
