from .base import *  # noqa

# test settings: throwaway values
SECRET_KEY = "django-insecure-test-key-not-for-production"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
