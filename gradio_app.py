"""Hugging Face Space entry point (Gradio SDK): the B-cos Explorer demo."""

from app.gradio_demo import build_demo

demo = build_demo()

if __name__ == "__main__":
    demo.launch(server_name="0.0.0.0")
