"""The Django project of SafeStats: settings, URL routes and the WSGI/ASGI entry points."""
