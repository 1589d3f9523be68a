"""Training: datasets of codec-info clips, the training loop, export of shipped weights, model cards."""
