"""Dataset-wide jobs on built piles: token statistics, neuron reordering, merging, figures and the build-against-published comparison."""
