"""A command's unknown option is refused with that command's usage line, not `verify COMMAND ...`
(a newcomer typing `verify run --bogus-flag` was shown the top level's usage, which lists no option)."""

from __future__ import annotations

import pytest

from verify.cli.main import main


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["run", "--bogus-flag"], "usage: verify run "),
        (["smoke", "--bogus-flag", "x"], "usage: verify smoke "),
        (["discover", "--nope"], "usage: verify discover "),
    ],
)
def test_an_unknown_option_shows_its_command_s_usage(
    argv: list[str], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert err.startswith(usage), err
    assert err.rstrip().splitlines()[-1] == f"verify: error: unrecognized arguments: {' '.join(argv[1:])}"


def test_an_unknown_command_still_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and err.startswith("usage: verify [-h]") and "invalid choice" in err
