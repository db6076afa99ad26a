"""The exceptions spiralkit raises besides ValueError and RuntimeError (ARCHITECTURE.md, Errors)."""


class UnsupportedError(RuntimeError):
    """The hardware, build or pattern cannot run what was asked (e.g. a pattern no kernel implements)."""


class FormatError(ValueError):
    """A model or weight file is corrupt, truncated or not a spiralkit file."""
