"""The shipped example plans, as text, for tests that start from a valid plan and break it."""

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SMALL = EXAMPLES / "small.yaml"
STATE_SCALE = EXAMPLES / "state-scale.yaml"


def small_text() -> str:
    return SMALL.read_text(encoding="utf-8")


def replace_once(text: str, old: str, new: str) -> str:
    """Edit exactly one place, so a change to the example cannot silently void a test."""
    assert text.count(old) == 1, f"expected exactly one {old!r} in the example"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first occurrence of `needle`."""
    assert needle in text, needle
    return text[:text.index(needle)].count("\n") + 1
