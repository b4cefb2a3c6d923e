"""`python -m rescue.cli`: the same commands as the `rescue` script."""

from rescue.cli.main import app

app()
