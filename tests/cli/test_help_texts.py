"""Every option of every `verify` command says what it does and its default in --help (issue 18:
--timeout, --workers, --report-dir, --profile, --sandbox-stack and --state-dir said nothing)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from verify.cli.main import build_parser
from verify.sandbox.commands import _parser as sandbox_parser

# Flags that only switch something on or print: their default (off, nothing printed) goes without saying.
_SWITCHES = (argparse._StoreTrueAction, argparse._HelpAction, argparse._VersionAction)


def _parsers(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def _options() -> Iterator[tuple[str, argparse.Action]]:
    for root, parser in (("verify", build_parser()), ("verify sandbox", sandbox_parser())):
        for name, sub in _parsers(parser, root):
            for action in sub._actions:
                if action.option_strings and not isinstance(action, argparse._SubParsersAction):
                    yield name, action


def test_every_option_has_help() -> None:
    silent = [
        f"{name} {action.option_strings[0]}"
        for name, action in _options()
        if not action.help or action.help == argparse.SUPPRESS
    ]
    assert silent == []


def test_every_option_with_a_value_states_its_default() -> None:
    unstated = [
        f"{name} {action.option_strings[0]}"
        for name, action in _options()
        if not isinstance(action, _SWITCHES) and not action.required and "default" not in (action.help or "")
    ]
    assert unstated == []


def test_the_options_the_issue_named_say_what_they_default_to() -> None:
    run = dict(_parsers(build_parser(), "verify"))["verify run"].format_help()
    text = " ".join(run.split())
    for fragment in (
        "default: full",
        "default: both",
        "default: 90",
        "default: reports",
        "default: one process",
    ):
        assert fragment in text
    up = dict(_parsers(sandbox_parser(), "verify sandbox"))["verify sandbox up"].format_help()
    assert "--state-dir" in up and "default: .verify-sandbox" in " ".join(up.split())
