"""``python -m images --config FILE``."""

from compute_shim.common.serve import main
from compute_shim.glance.api.app import build_app

main("images", build_app)
