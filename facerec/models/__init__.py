"""Every pretrained network facerec can run: the registry (data with a contract), their
weights fetched and verified (``weights``, ``fetch``), the networks themselves
(``nets``), built on a device (``build``, ``device``, ``compiled``), and each
embedder's measured impostor tails (``impostor_tails``).

May import: formats.
"""
