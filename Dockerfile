# Streamlit dashboard as a Docker Space (sdk: docker, app_port: 8501).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt
COPY . .
ENV PYTHONPATH=/app
EXPOSE 8501
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health')"
ENTRYPOINT ["python", "-m", "app.serve", "--server.port=8501", "--server.address=0.0.0.0"]
