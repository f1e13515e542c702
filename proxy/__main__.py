"""``python -m proxy --config FILE [--host H --port P]``."""

from proxy.app import main

main()
