"""Job methods. Import every module that registers methods here, so the
worker and the API see the same registry."""

from chalicelib.methods import core, demo  # noqa: F401
