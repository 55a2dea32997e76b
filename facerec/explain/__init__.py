"""What the networks see in one photo (``explanation``) and pictures of it
(``pictures``): ``facerec explain``.

May import: faces, models, photos, formats.
"""
