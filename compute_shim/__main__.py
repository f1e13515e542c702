"""``python -m compute_shim --config FILE``."""

from compute_shim.api.app import build_app
from compute_shim.common.serve import main

main("compute", build_app)
