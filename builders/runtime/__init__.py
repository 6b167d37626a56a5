"""Where work runs: the one executor (serial, process pool or Ray actors) and the connection to a Ray cluster."""
