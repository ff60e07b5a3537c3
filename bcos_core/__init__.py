"""B-cos Explorer's engine: B-cos layers, explanation mode, exact explanations, rendering and the model zoo."""

__version__ = "0.1.0"
