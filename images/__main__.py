"""``python -m images --config FILE``."""

from apiservice.serve import main
from images.api.app import build_app

main("images", build_app)
