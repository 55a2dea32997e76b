"""Where the identification results used to live; see ``facerec.results`` and
``facerec.recognizer``."""

from ..names import UNKNOWN
from ..results import Candidate, Match

__all__ = ["UNKNOWN", "Candidate", "Match"]
