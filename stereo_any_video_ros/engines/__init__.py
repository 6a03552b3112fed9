"""Inference engines: padding, windowing, precision and devices around a model."""
