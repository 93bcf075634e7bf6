"""PersonaAct: black-box auditing of short-video recommender systems (composition root and version)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("personaact")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
