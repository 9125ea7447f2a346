"""The training engine: the loop, the CUDA-graph step, the hand-written MLP step, metrics, nets."""
