"""Writing into a folder one owns: atomic files and shards, locks, folder ownership, the folder layout, dataset cards and their attribution text."""
