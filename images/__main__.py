"""``python -m images --config FILE``."""

from compute_shim.common.serve import main
from images.api.app import build_app

main("images", build_app)
