"""``python -m compute_shim --config FILE``."""

from apiservice.serve import main
from compute_shim.api.app import build_app

main("compute", build_app)
