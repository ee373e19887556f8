def test_login(client):
    resp = client.post("/login", json={"username": "alice", "password": "correct horse battery staple"})
    assert resp.status_code == 200

def test_bad_password(client):
    resp = client.post("/login", json={"username": "alice", "password": "wrong"})
    assert resp.status_code == 401
