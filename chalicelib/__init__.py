"""The job API's logic. Nothing here touches AWS at import time."""
