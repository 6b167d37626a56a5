"""The offline test suite (``make test``); shared helpers live in :mod:`tests.support`."""
