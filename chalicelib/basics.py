"""What most parts read and none owns."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.clock import Clock
from chalicelib.registry import MethodRegistry
from chalicelib.settings import Settings


@dataclass(frozen=True)
class Basics:
    methods: MethodRegistry  # the job methods
    settings: Settings
    clock: Clock  # the time; tests and the sweeper give their own
