"""Stereo Any Video (Jing et al.), state-dict compatible with the official checkpoints."""
