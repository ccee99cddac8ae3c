"""Domain errors: refusals with a message a district coordinator can act on."""


class DomainError(ValueError):
    """A command the rules refuse. The message says what is wrong and what would fix it."""

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
