"""Shared UI code of B-cos Explorer: image sources, upload validation, figures, state, and the Gradio demo."""
