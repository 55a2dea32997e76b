"""Enroll and identify millions of photos: embeddings computed on a Ray cluster into
Parquet (``embed``, the only module that imports Ray), then turned into a database or
matched against one on a single machine (``enroll``, ``identify``).

May import: enrollment, faces, photos, recognition, storage.
"""
