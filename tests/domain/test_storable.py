"""domain.storable: what the event store cannot hold is refused, naming the field and the value."""

import pytest

from domain.errors import DomainError
from domain.storable import DEEPEST, LONGEST_KEY, LONGEST_TEXT, MOST_KEYS, require_storable


@pytest.mark.parametrize("value, field, words", [
    ({"outcome": {"notes": "a\x00b"}}, "outcome.notes", "NUL character"),
    ({"outcome": {"a\x00": 1}}, "outcome['a\\x00']", "NUL character"),
    ({"outcome": {"notes\nmore": "a\x00b"}}, "outcome['notes\\nmore']", "NUL character"),
    ({"reason": "half \ud800"}, "reason", "lone surrogate"),
    ({"outcome": {"attendees": float("nan")}}, "outcome.attendees", "finite numbers only"),
    ({"outcome": {"x": float("-inf")}}, "outcome.x", "finite numbers only"),
    ({"outcome": {str(n): n for n in range(MOST_KEYS + 1)}}, "outcome", f"at most {MOST_KEYS}"),
    ({"outcome": {"k" * (LONGEST_KEY + 1): 1}}, "outcome", "a name is at most"),
    ({"outcome": {"notes": "x" * (LONGEST_TEXT + 1)}}, "outcome.notes", "a text is at most"),
    ({"items": [{"item": "ok"}, {"item": "bad\x00"}]}, "items.1.item", "NUL character"),
    ("\x00", "request", "NUL character"),
])
def test_what_the_store_cannot_hold_is_refused_by_field(value, field, words):
    with pytest.raises(DomainError) as refused:
        require_storable(value)
    assert refused.value.field == field and words in refused.value.message
    assert "\n" not in refused.value.message


def test_nesting_deeper_than_the_limit_is_refused():
    value: object = 1
    for _ in range(DEEPEST + 1):
        value = [value]
    with pytest.raises(DomainError, match="more than"):
        require_storable(value)


def test_what_people_send_is_accepted():
    require_storable({"actor": {"id": "ann", "role": "coach"}, "outcome": {
        "attendees": 24, "done": True, "score": 2.5, "notes": "x" * LONGEST_TEXT,
        "k" * LONGEST_KEY: "", **{str(n): n for n in range(MOST_KEYS - 5)}}})
