-- test fixture users (bcrypt hashes of 'password')
INSERT INTO users (email, password_hash) VALUES ('alice@example.com', '$2b$12$KIXQJ1x1Wd6p8pZs5bF8xO3nX2nW4d3sG1kCq9kH8m1hE1eB6cY2u');
