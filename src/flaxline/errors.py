"""The one exception type for bad input: its message is a single line naming the file, column or row."""


class InputError(ValueError):
    """Raised for input a user must fix; ``str(error)`` is the whole message."""
