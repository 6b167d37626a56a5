"""The one base class of the errors this project raises on purpose.

Every error class of the project derives from :class:`NeuralPileError` and from the builtin it
has always been (``class PileError(NeuralPileError, ValueError)``), so ``except ValueError``
and ``except OSError`` callers keep working while ``except NeuralPileError`` catches them all.
``neural-pile`` turns these into one line on stderr (as it does the system's refusals to read or
write, :class:`OSError`: a full disk, a read-only place); any other exception is a bug and keeps
its traceback.

This module imports nothing from the project: every layer may raise these errors.
"""

from __future__ import annotations


class NeuralPileError(Exception):
    """Base of every error the project raises on purpose.

    The message is one line: it names the value (a file, session, folder, repo or argument value)
    and says what is wrong with it, in the words of the library, never of a command line:
    ``pile x: no such folder``, ``shard_bytes must be positive, got 0``.

    An error about one argument of the function that raised it says which, so a command line can
    name the option it took that argument from:

    - ``argument``: the parameter's name (``"dataset"``, ``"out"``, ``"data_dir"``,
      ``"shard_bytes"``); ``None`` when the error is not about one argument.
    - ``label``: the words that open the message and stand for that argument (``"pile"`` in
      ``pile x: no such folder``; by default the parameter's name, as in
      ``shard_bytes must be positive, got 0``).

    :meth:`naming` gives the message with ``label`` replaced by other words; ``neural-pile``
    passes the option of the parameter, so its users read ``--dataset x: no such folder`` and
    ``--shard-bytes must be positive, got 0``. The parameter's name is the option's ``dest``
    (``--in`` of ``merge`` and ``reorder`` fills ``dataset``).
    """

    def __init__(self, message: str, *, argument: str | None = None, label: str | None = None):
        super().__init__(message)
        self.argument = argument
        self.label = argument if label is None else label

    def naming(self, words: str) -> str:
        """The message with its opening ``label`` replaced by ``words`` (unchanged when the error
        names no argument)."""
        message = str(self)
        if self.argument is None or not message.startswith(self.label):
            return message
        return words + message[len(self.label) :]


class SettingError(NeuralPileError, ValueError):
    """An environment variable the project reads holds a value it cannot use (the message names
    the variable and the value)."""
