"""Files and text facerec writes for other programs, or reads from them: files written
whole (``files``), array files checked before reading (``safe_arrays``), face_recognition
encodings (``encodings_file``), XMP face regions (``xmp``), annotated photos
(``annotate``) and face thumbnails (``face_crops``).

May import: nothing but the vocabulary at the package's root.
"""
