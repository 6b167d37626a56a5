"""The rodent neural pile as a package, one sub-package per layer (each imports only those below it):

- :mod:`builders.cli`: the ``neural-pile`` command line;
- :mod:`builders.jobs`, :mod:`builders.hub`, :mod:`builders.synthetic`: dataset-wide jobs on
  built piles, publishing to the Hub, synthetic recordings;
- :mod:`builders.streams`: training streams over a pile;
- :mod:`builders.pile` (opening built piles) and :mod:`builders.build` (building them);
- :mod:`builders.readers`: one reader per file kind, with the byte ranges it prefetches;
- :mod:`builders.archives`: listing and opening DANDI, figshare and local files;
- :mod:`builders.storage` and :mod:`builders.runtime`: atomic writes, locks and cards; the executor;
- :mod:`builders.spec`: the components, the row features, the binning and split rules;
- :mod:`builders.errors`: the project's one base error class.

The layers are checked by the import-linter contract in ``pyproject.toml``.
"""

__version__ = "0.1.0"
