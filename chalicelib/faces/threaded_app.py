"""The app object every face's routes hang on: Chalice, with the request
being answered kept per thread.

Chalice keeps `current_request` on the app object, one for the process. In
Lambda a process answers one request at a time, but the worker that replays
an `x-arango-async` request (chalicelib.methods.core.http_request) calls the
app in-process, and locally (`make run`, the tests) the API's requests and
the workers' replays share one process and its threads: each must read its
own request."""

from __future__ import annotations

import threading

from chalice import Chalice
from chalice.app import Request


class ThreadedChalice(Chalice):
    _requests = threading.local()

    @property
    def current_request(self) -> Request | None:
        return getattr(self._requests, "request", None)

    @current_request.setter
    def current_request(self, request: Request | None) -> None:
        self._requests.request = request
