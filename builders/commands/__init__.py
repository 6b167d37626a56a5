"""One module per ``neural-pile`` sub-command (thin argument parsing over library code)."""
