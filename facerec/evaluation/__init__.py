"""How well a model recognises the faces of a labelled folder: split, metrics, report.

May import: faces, photos, recognition, storage.
"""
