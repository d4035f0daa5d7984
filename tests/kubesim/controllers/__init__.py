"""In-process controllers: each reads and writes only through the Store, like the real ones through the API."""
