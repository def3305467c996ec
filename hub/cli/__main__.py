"""`python -m hub.cli` is `crossdock`."""

from hub.cli import main

main()
