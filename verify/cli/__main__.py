"""`python -m verify.cli`: the same as the `verify` command."""

from verify.cli.main import console

console()
