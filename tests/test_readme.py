"""The README's option table matches the program: every train option is documented with its real default."""

import re
from pathlib import Path

from lossgap.options import option_specs
from lossgap.training.config import TrainConfig

README = Path(__file__).resolve().parents[1] / "README.md"


def documented_defaults() -> dict[str, str]:
    """Flag -> the default cell of the README's `lossgap train` option table."""
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `(--[a-z-]+)[^`]*` \| ([^|]+) \|", line)
        if match:
            rows.setdefault(match.group(1), match.group(2).strip())
    return rows


def spelled(default) -> set[str]:
    """How the README may spell a default: off / auto / none for nothing, the value otherwise."""
    if default is None:
        return {"off", "auto"}
    if default is False:
        return {"off"}
    return {str(default)}


def test_every_train_option_is_documented_with_its_default():
    rows = documented_defaults()
    for spec in option_specs(TrainConfig):
        flag = spec.flag.split("/")[0]
        assert flag in rows, f"{flag} is missing from the README's train option table"
        assert rows[flag] in spelled(spec.default), f"README says {flag} defaults to {rows[flag]}, the code {spec.default!r}"


def test_the_readme_points_nowhere_outside_the_repository():
    text = README.read_text(encoding="utf-8")
    assert "shared/seed" not in text and "../shared" not in text
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        if not link.startswith("http"):
            assert (README.parent / link).exists(), link
