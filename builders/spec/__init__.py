"""What the pile is, before any file is read: the 25 components and their facts (``facts/``), the row features, the 20 ms binning rule and the train/test split rule."""
