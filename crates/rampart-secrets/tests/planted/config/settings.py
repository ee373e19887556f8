# Flask configuration
class ProductionConfig:
    SECRET_KEY = b'3b3cbef25fecd42f6538d4d730bb0b89c7f0b39763c58d5e95b5adecbb3460bb'
    SQLALCHEMY_DATABASE_URI = "mysql+pymysql://shop:sMWDtS7oLwPblNav1wPZGI@mysql.prod.internal/shop"
