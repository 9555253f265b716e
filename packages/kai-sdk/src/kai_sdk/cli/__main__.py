"""`python -m kai_sdk.cli`: the commands for people, with the SDK alone."""

from kai_sdk.cli import main

raise SystemExit(main())
