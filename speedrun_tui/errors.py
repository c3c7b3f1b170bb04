"""The one exception type that the CLI turns into a one-line error instead of a traceback."""


class UserError(Exception):
    """A problem with the user's input or environment, stated in one line.

    Raise it with a message that names the input and says what to do; the CLI
    prints `speedrun-tui: error: <message>` and exits with `exit_code`.
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code
