"""Live recognition: frames from a camera, file or stream, tracked faces, stable names.

May import: formats, recognition.
"""
