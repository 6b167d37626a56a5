"""Analyses of a built dataset: neuron reordering, raster figures, token statistics."""
