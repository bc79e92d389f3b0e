"""The one exception the data layer raises for anything the user must fix."""


class DataError(Exception):
    """Missing, corrupt or unusable data; the message is one line and names the file."""


def one_line(error: BaseException) -> str:
    """An underlying error's message squeezed onto one line, for embedding in a DataError."""
    return " ".join(str(error).split()) or type(error).__name__
