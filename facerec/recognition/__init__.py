"""Naming faces: the open-set decision (``matching``), recognition from photos to people
(``recognizer``), verification of two photos (``verification``), calibrating a
database's threshold (``calibration``) and a user's corrections (``corrections``).

May import: enrollment, evaluation, faces, models, photos, storage, formats.
"""
