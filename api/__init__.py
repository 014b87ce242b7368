"""HTTP front end: the chat API (FastAPI) and the web chat page. Build it with `api.main.create_app()`."""
