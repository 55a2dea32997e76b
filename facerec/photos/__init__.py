"""Photos as the rest of the package sees them: any file a user names, decoded to RGB
uint8 ``(H, W, 3)`` (``image``, ``jpeg``); a ``Photo``, decoded in full or smaller for
detection, with one interface (``photo``); turned upright (``sideways``); found on disk
(``paths``); and the sample photos (``samples``).

May import: formats, models.
"""
