"""Command-line training and evaluation of B-cos models (``python -m training.train``, ``python -m training.evaluate``)."""
