"""Demo settings with planted secrets (synthetic values, for Rampart's example)."""
import os

DEBUG = False
AWS_ACCESS_KEY_ID = "AKIA7KLFYYLBEG3RHDSV"
AWS_SECRET_ACCESS_KEY = "7PfhIg8Ez9oP0ZV1YgHNMqhQY+CIb27Mxy85v0eq"
DATABASE_URL = "postgres://app:fr8nBNXYK7Gh5Q9@db.internal:5432/app"

# Reading from the environment is fine and is not reported:
API_TOKEN = os.environ.get("API_TOKEN")
