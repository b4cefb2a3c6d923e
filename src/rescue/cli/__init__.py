"""The `rescue` command line."""

from rescue.cli.main import app

__all__ = ["app"]
