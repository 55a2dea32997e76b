"""The photo library: scan a user's photos once, then ask who is in which photo (see
``library.Library``).

May import: enrollment, faces, formats, models, photos, recognition, storage.
"""

from facerec.library.library import Library, Together, UnknownFace
from facerec.library.nearest_enrolled import CatchUp

__all__ = ["CatchUp", "Library", "Together", "UnknownFace"]
