"""Domain errors: refusals with a message a district coordinator can act on, and how such a
message quotes the value and names the field it is about."""


class DomainError(ValueError):
    """A command the rules refuse. The message says what is wrong and what would fix it."""

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value


def shown(value: object) -> str:
    """The offending value for a sentence: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def field_path(path: str, key: object) -> str:
    """`outcome.notes`; a key a sentence cannot show as it is (a line break, a control
    character) in brackets as Python writes it: `outcome['a\\nb']`."""
    if isinstance(key, str) and not key.isprintable():
        return f"{path}[{key!r}]" if path else f"[{key!r}]"
    return f"{path}.{key}" if path else str(key)
