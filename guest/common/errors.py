"""The one exception type a user is meant to read.

A UserError carries a message that says what is wrong and what to do; the CLI
prints it as `PROGRAM: MESSAGE` and exits with its code, never with a traceback.
"""


class UserError(Exception):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message
