#!/bin/bash
# spin up the CI database locally
docker run -d -e POSTGRES_PASSWORD=postgres -p 5432:5432 postgres:16
export DATABASE_URL=postgres://postgres:postgres@localhost:5432/test
export API_TOKEN="${API_TOKEN:?set API_TOKEN}"
