"""From a photo to faces: detection (``detector``, ``nms``), alignment (``align``),
embedding (``embedder``), the pipeline that runs them (``analyzer``), photos read for
it in batches (``reading``), and rules about the faces found (``quality``,
``main_face``).

May import: levers, models, photos, formats.
"""
