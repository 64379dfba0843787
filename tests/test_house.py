"""House rules for the template's own sources."""

from __future__ import annotations

import re

from tests.support import ROOT

# A branch is an `[% if` or `[% elif` (`[%- ...` too). Six in one file is a smell (issue 12):
# compute the value in copier.yml, choose a file by its name, or include a partial instead.
BRANCH = re.compile(r"\[%-? (?:el)?if\b")
MAX_BRANCHES = 6


def test_no_template_file_has_more_than_six_branches() -> None:
    counts = {
        path.relative_to(ROOT).as_posix(): len(BRANCH.findall(path.read_text(errors="replace")))
        for folder in ("template", "includes")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file()
    }
    offenders = {name: count for name, count in counts.items() if count > MAX_BRANCHES}
    assert not offenders, f"files with more than {MAX_BRANCHES} [% if %] / [% elif %]: {offenders}"
