"""Loaded by the parse workers' fork server, once, before it forks a worker.

Importing this module reads the language model. Every parse worker needs it
before its first entry; read in the fork server, its 50 MB are shared by all
the workers forked from it instead of being read again by each (the model's
arrays are never written, so the pages stay shared), and a worker that
replaces a dead one starts ready.
"""

from __future__ import annotations

import gc

from extractors.language import default_detector

default_detector()

# The collector writes to every object it examines, which would copy into
# each worker the pages of every module and model object it shares with the
# fork server; what is loaded by now lives as long as the worker anyway.
gc.freeze()
