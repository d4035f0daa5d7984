"""`python -m shipit.cli`: the same as the `shipit` command."""

from shipit.cli.app import main

main()
