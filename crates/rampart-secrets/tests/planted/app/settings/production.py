import os
from .base import *  # noqa

DEBUG = False
SECRET_KEY = '6!301+kuk3q38z(6sk!r-^0_=ahs@1=z&)!t_t1)nz(4s77s!x'
ALLOWED_HOSTS = ["orders.example.com"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "orders",
        "USER": "orders_app",
        "PASSWORD": "ddLip8C85lHYKXX0hS",
        "HOST": "orders-db.prod.internal",
    }
}
EMAIL_HOST_PASSWORD = "JgiJFETmqhZNROjhzB794O"
AWS_STORAGE_BUCKET_NAME = "acme-orders-media"
