"""Template releases and the commits they were cut from.

`nox -s update` renders a project from these commits in a fresh clone and updates it to HEAD; a
clone need not carry tags, so the session re-creates them from this table (``v<version>``).
Every version here has a ``## [<version>]`` section in CHANGELOG.md (tests/test_update.py checks).

When you cut a release: tag it (``git tag v0.2.0 && git push --tags``; users' ``copier update``
picks the newest tag), move the CHANGELOG's "Unreleased" notes under the new version, and add
the version and its full commit SHA below in the next commit.
"""

from __future__ import annotations

# The first commit that rendered the complete default service: the oldest base `nox -s update`
# updates from. Full 40-character SHA, or None until that commit exists.
FIRST_FULL_SERVICE: str | None = "988ced9763df8a4b5fd0a614ff4aecc9bcd7b4b8"

# version -> full commit SHA of the release.
RELEASES: dict[str, str] = {
    "0.1.0": "34b9d2ff9bc47f4a735a6223de24204ae6d71a9c",
}
