"""POST /_upload, TrueNAS style: multipart/form-data with a `data` part
(JSON {"method", "params"}) first, then 1 to 5 `file` parts (TrueNAS's
MAX_UPLOADED_FILES), which the job reads in order.

Parsed with python-multipart's streaming parser, part by part, so the order
and the count are checked as the parts come and files over the limit (all
of them together) are refused as soon as they pass it. Nothing is stored
here: the service stores the files only once the method, the params and
every file's name have been checked (chalicelib.service).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, cast

from chalice.app import Request
from pydantic import BaseModel, ConfigDict, Field
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from chalicelib.errors import BadRequest, PayloadTooLarge
from chalicelib.faces.json_input import client_json
from chalicelib.faces.native.requests import MAX_BODY_BYTES
from chalicelib.models import Filename, SubmitRequest
from chalicelib.uploads import MAX_UPLOADED_FILES, IncomingFile, IncomingFiles
from chalicelib.validation import parse
from chalicelib.wiring import services

PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,39}")
# The parts' headers and the data part, on top of the file.
OVERHEAD_BYTES = 64 * 1024
ORDER = ("send the data part (JSON {\"method\", \"params\"}) first, then 1 to "
         f"{MAX_UPLOADED_FILES} file parts")


class UploadData(BaseModel):
    """The `data` part."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    method: str = Field(min_length=1, max_length=200)
    # An object by name, or TrueNAS's list (one object, or values in order).
    params: dict[str, Any] | list[Any] = Field(default_factory=dict)
    description: str | None = Field(None, max_length=1000)
    transient: bool = False


class FilePart(BaseModel):
    model_config = ConfigDict(defer_build=True)

    filename: Filename


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)

    @property
    def name(self) -> str:
        return self._disposition().get(b"name", b"").decode("utf-8", "replace")

    @property
    def filename(self) -> str | None:
        value = self._disposition().get(b"filename")
        return value.decode("utf-8", "replace") if value is not None else None

    @property
    def content_type(self) -> str:
        value = self.headers.get(b"content-type", b"").decode("latin-1").strip()
        return value or "application/octet-stream"

    def _disposition(self) -> dict[bytes, bytes]:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        return options


class _Collector:
    """The parser's callbacks: collects the parts, checking order and size."""

    def __init__(self, max_file_bytes: int) -> None:
        self.parts: list[_Part] = []
        self._max = max_file_bytes
        self._file_bytes = 0
        self._field = b""
        self._value = b""

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._data,
        }

    def _begin(self) -> None:
        self.parts.append(_Part())

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self.parts[-1].headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        part = self.parts[-1]
        names = [p.name for p in self.parts]
        if part.name not in ("data", "file") or names.count("data") > 1:
            raise BadRequest(f"unexpected or repeated part {_named(part.name, len(names))}: "
                             f"{ORDER}", details={"position": len(names)})
        if part.name == "data" and "file" in names:
            raise BadRequest(f"the data part came after the file part: {ORDER}")
        if names.count("file") > MAX_UPLOADED_FILES:
            raise BadRequest(f"too many files: at most {MAX_UPLOADED_FILES} file parts a "
                             "request; send the others in another upload",
                             details={"max_files": MAX_UPLOADED_FILES})

    def _data(self, data: bytes, start: int, end: int) -> None:
        part = self.parts[-1]
        part.body += data[start:end]
        if part.name == "data" and len(part.body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the data part is larger than {MAX_BODY_BYTES} bytes, the "
                                  "cap of a POST /jobs body; upload big inputs as the file")
        if part.name == "file":
            self._file_bytes += end - start
            if self._file_bytes > self._max:
                raise PayloadTooLarge(
                    f"the files are larger than {self._max} bytes (all file parts together); "
                    "upload big files straight to S3: POST /jobs with \"upload\": "
                    "{\"filename\", \"size\"} answers an upload_url")


def _named(name: str, position: int) -> str:
    """A part as an error names it: its place, and its name when that is a
    plain word (any other value a client sent is never echoed back)."""
    plain = PLAIN_NAME.fullmatch(name) is not None
    return f"{position} ({name!r})" if plain else f"{position}"


def upload_form(request: Request | None, max_file_bytes: int) -> tuple[SubmitRequest,
                                                                        IncomingFiles]:
    if request is None:
        raise RuntimeError("no current request")
    raw = request.raw_body or b""
    body = raw.encode() if isinstance(raw, str) else raw
    if len(body) > max_file_bytes + OVERHEAD_BYTES:
        raise PayloadTooLarge(f"the request is larger than {max_file_bytes} bytes of file "
                              f"and {OVERHEAD_BYTES} bytes of form")
    parts = _parts(_boundary(request), body, max_file_bytes)
    if not parts or parts[0].name != "data":
        raise BadRequest(f"the data part is missing: {ORDER}")
    files = parts[1:]
    if not files:
        raise BadRequest(f"the file part is missing: {ORDER}")
    data = parse(UploadData, _json(parts[0].body), "data part")
    params = data.params if isinstance(data.params, dict) else \
        services().registry.get(data.method).params_by_position(data.params)
    submit = SubmitRequest(method=data.method, params=params,
                           description=data.description, transient=data.transient)
    return submit, IncomingFiles(tuple(_incoming(file, number, len(files))
                                       for number, file in enumerate(files, start=1)))


def _incoming(file: _Part, number: int, count: int) -> IncomingFile:
    where = "file part" if count == 1 else f"file part {number}"
    filename = parse(FilePart, {"filename": file.filename or "upload"}, where).filename
    return IncomingFile(filename, file.content_type, bytes(file.body))


def _boundary(request: Request) -> bytes:
    headers: Any = request.headers or {}
    _, options = parse_options_header(headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest("send multipart/form-data with a boundary (curl -F does)")
    return boundary


def _parts(boundary: bytes, body: bytes, max_file_bytes: int) -> list[_Part]:
    collector = _Collector(max_file_bytes)
    parser = MultipartParser(boundary, cast(Any, collector.callbacks()))
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise BadRequest(f"the multipart body is malformed: {exc}") from None
    return collector.parts


def _json(raw: bytes | bytearray) -> Any:
    return client_json(raw, "the data part")
