"""Conditional requests on single records (RFC 9110 section 13): ETag, If-None-Match, If-Match.

A record's ETag is `"<id>-<version>"`, a strong validator: the version moves on with every
write (app/services/versions.py), so the tag changes with each write and differs between
records. Clients treat it as opaque and send it back as they got it.

- GET (and HEAD) with If-None-Match naming the current tag, or `*`: 304, no body, the ETag
  (weak comparison, section 13.1.2).
- PUT, PATCH and DELETE with If-Match: applied only when the record is at a version the list
  names, or at any for `*` (strong comparison, section 13.1.1); else 412 `precondition_failed`.
  The UPDATE or DELETE statement decides. A missing record, or another user's, stays 404:
  preconditions count only where the request would succeed without them (section 13.2.1).
- REQUIRE_IF_MATCH: a write without If-Match is refused with 428 `precondition_required`
  (RFC 6585 section 3), so no client overwrites what it never read.
"""

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from app.api.responses import ETAG_HEADER, raises
from app.core.errors import NotModified, PreconditionRequired
from app.db.models import MAX_ID, OwnedByUser, User
from app.services.versions import Expected

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE: a comma inside the quotes is part of the tag.
_ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')
_OURS = re.compile(r"([0-9]{1,10})-([0-9]{1,10})")


def entity_tag(record: User | OwnedByUser) -> str:
    return f'"{record.id}-{record.version}"'


def expected_versions(if_match: str) -> Expected:
    """The `(id, version)` pairs an If-Match field names; a weak tag never matches (strong
    comparison), nor does anything this service never sent."""
    if if_match.strip() == "*":
        return Expected(any_version=True)
    seen = set()
    for weak, opaque in _ENTITY_TAG.findall(if_match):
        ours = _OURS.fullmatch(opaque)
        if not weak and ours and int(ours[1]) <= MAX_ID and int(ours[2]) <= MAX_ID:
            seen.add((int(ours[1]), int(ours[2])))
    return Expected(frozenset(seen))


def is_current(if_none_match: str, etag: str) -> bool:
    """Whether If-None-Match names `etag`, weak or strong alike (weak comparison), or is `*`."""
    if if_none_match.strip() == "*":
        return True
    return any(f'"{opaque}"' == etag for _, opaque in _ENTITY_TAG.findall(if_none_match))


def _field(request: Request, name: str) -> str | None:
    """A list field as one value: a client or a proxy may send it on several lines."""
    lines = request.headers.getlist(name)
    return ", ".join(lines) if lines else None


@dataclass
class Conditions:
    """A single-record route's answer (its ETag) and what the client made it conditional on."""

    response: Response
    if_none_match: str | None = None
    if_match: Expected | None = None

    def tag(self, record: User | OwnedByUser) -> None:
        """Send the record's ETag: with what a write left, or with a new record."""
        self.response.headers["ETag"] = entity_tag(record)

    def unless_current(self, record: User | OwnedByUser) -> None:
        """Raise NotModified (304) when the client's copy is `record`'s version; else tag."""
        etag = entity_tag(record)
        if self.if_none_match is not None and is_current(self.if_none_match, etag):
            raise NotModified(etag)
        self.response.headers["ETag"] = etag


IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="ETags of your copies, or `*`: 304 without a body when one is current.",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="ETags of the versions you read, or `*`: 412 when the record is at none "
        "of them. Required when the service sets REQUIRE_IF_MATCH (428 without it).",
    ),
]


# The header parameters document the fields; the values are read from every line of them.
@raises(success_headers=ETAG_HEADER)
async def tagged(response: Response) -> Conditions:
    return Conditions(response)


@raises(304, success_headers=ETAG_HEADER)
async def read_conditions(
    request: Request, response: Response, _: IfNoneMatch = None
) -> Conditions:
    return Conditions(response, if_none_match=_field(request, "if-none-match"))


@raises(412, 428, success_headers=ETAG_HEADER)
async def write_conditions(request: Request, response: Response, _: IfMatch = None) -> Conditions:
    if_match = _field(request, "if-match")
    if if_match is None:
        if request.app.state.settings.REQUIRE_IF_MATCH:
            raise PreconditionRequired("Send If-Match with the ETag of the record you read")
        return Conditions(response)
    return Conditions(response, if_match=expected_versions(if_match))


# A route that creates a record, reads one, or writes one (PUT, PATCH, DELETE).
Tagged = Annotated[Conditions, Depends(tagged)]
ConditionalRead = Annotated[Conditions, Depends(read_conditions)]
ConditionalWrite = Annotated[Conditions, Depends(write_conditions)]
