"""The harness's version, in a leaf module: modules inside verify/ that report it (the user agent,
the summary, `--version`) import it from here, never from the `verify` facade, which imports them."""

__version__ = "0.1.0"  # keep equal to pyproject.toml's [project] version
