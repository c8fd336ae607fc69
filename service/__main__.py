"""``python -m service``: the same as the ``kros-adapter`` console script."""

from service.cli import main

main()
