"""Every face's route guard: the service's errors answered in the face's own
shape, anything else a 500 that says nothing of its cause (logged)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.errors import JobApiError

log = logging.getLogger("jobapi.api")


def guarded_by(render: Callable[[JobApiError], Response]
               ) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """A decorator for a face's routes, whose errors `render` answers."""

    def translate_errors(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            try:
                return view(*args, **kwargs)
            except JobApiError as error:
                return render(error)
            except Exception:
                log.exception("unhandled error in %s", view.__name__)
                return render(JobApiError("internal error; the request left no trace"))

        return wrapper

    return translate_errors
