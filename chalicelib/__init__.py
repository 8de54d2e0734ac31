"""The job API's logic. Nothing here touches AWS at import time."""

__version__ = "0.6.0"  # CHANGELOG.md's top version (tests/unit/test_arangodb_envelope.py)
