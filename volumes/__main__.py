"""``python -m volumes --config FILE [--host H --port P]``: the block volume service (Cinder v3)."""

from apiservice.serve import main
from volumes.api.app import create_app

main("volumes", create_app)
