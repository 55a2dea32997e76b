"""Grouping faces of the same person without names: a FAISS neighbour graph, clustering
on it, and the figures that say how good a grouping is.

May import: enrollment, faces, library, models, photos, storage.
"""
