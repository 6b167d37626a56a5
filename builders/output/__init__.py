"""The built dataset folder: layout, atomic shard writes, dataset card, build report."""
