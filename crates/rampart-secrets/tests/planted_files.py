# Templates for planted_gen.py (exec'd there: f, secret, rsa_key_lines, CERT, pem_body are in scope).
# ruff: noqa

f(".env.production", """
# production settings, loaded by docker compose
NODE_ENV=production
PORT=8080
DATABASE_URL=postgres://orders_app:{{S:postgres-url:pw}}@orders-db.prod.internal:5432/orders
REDIS_URL=redis://:{{S:redis-url:pw_alnum}}@cache.prod.internal:6379/0
STRIPE_SECRET_KEY={{S:stripe:stripe_live}}
STRIPE_PUBLISHABLE_KEY=pk_live_51{{Q:publishable key is public by design}}
SENDGRID_API_KEY={{S:sendgrid:sendgrid}}
JWT_SECRET={{S:jwt-secret:jwt_secret}}
SESSION_TTL=3600
LOG_LEVEL=info
""".replace("pk_live_51{{Q", "pk_live_51HqLyjWDarjtT1zdp7dcXZ3fc5WqBQ2bi0S6TG5QYn8Sgm8rJkKwjpmSWsiHnmQ1eqpxT3HFPoNMXp9XTjkqUbbx00nE3SYQ4Q {{Q"))

f(".env.example", """
# copy to .env and fill in
DATABASE_URL=postgres://postgres:postgres@localhost:5432/orders_dev {{Q:local dev database}}
STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx {{Q:masked placeholder}}
SENDGRID_API_KEY=<your-sendgrid-key> {{Q:angle placeholder}}
JWT_SECRET=changeme {{Q:changeme}}
AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE {{Q:AWS documented example id}}
AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY {{Q:AWS documented example secret}}
""")

f("deploy/.env.staging", """
AWS_ACCESS_KEY_ID={{S:aws-access-key:aws_id}}
AWS_SECRET_ACCESS_KEY={{S:aws-secret-key:aws_secret}}
AWS_DEFAULT_REGION=eu-west-1
MAILGUN_API_KEY={{S:mailgun:mailgun}}
""")

f("scripts/deploy.sh", """
#!/usr/bin/env bash
set -euo pipefail
# deploy the orders service
export GITHUB_TOKEN={{S:github-pat:ghp}}
export PGPASSWORD='{{S:pgpassword:pw}}'
psql -h orders-db.prod.internal -U orders_app -c 'select 1'
docker login -u deploy-bot -p "{{S:docker-login:pw_alnum}}" registry.example.com
curl -sf -H "Authorization: Bearer ${DEPLOY_TOKEN}" https://deploy.example.com/hooks/orders {{Q:env-expanded bearer}}
kubectl rollout status deploy/orders
""")

f("scripts/backup.sh", """
#!/bin/sh
# nightly backup to S3
AWS_ACCESS_KEY_ID="{{S:aws-access-key:aws_id}}" \\
AWS_SECRET_ACCESS_KEY="{{S:aws-secret-key:aws_secret}}" \\
  aws s3 cp /var/backups/orders.sql.gz s3://acme-backups/orders/
mysqldump --user=backup --password={{S:mysql-password:pw_alnum}} orders > /var/backups/orders.sql
""")

f("scripts/notify.sh", """
#!/bin/bash
WEBHOOK="{{S:slack-webhook:slack_webhook}}"
curl -X POST -H 'Content-type: application/json' --data '{"text":"deployed"}' "$WEBHOOK"
curl -u admin:{{S:curl-basic-auth:pw_alnum}} https://jenkins.example.com/job/orders/build
""")

f("scripts/local_ci.sh", """
#!/bin/bash
# spin up the CI database locally
docker run -d -e POSTGRES_PASSWORD=postgres -p 5432:5432 postgres:16 {{Q:local CI postgres}}
export DATABASE_URL=postgres://postgres:postgres@localhost:5432/test {{Q:local CI url}}
export API_TOKEN="${API_TOKEN:?set API_TOKEN}" {{Q:required env var}}
""")

f(".github/workflows/ci.yml", """
name: ci
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    services:
      postgres:
        image: postgres:16
        env:
          POSTGRES_USER: postgres
          POSTGRES_PASSWORD: postgres {{Q:CI service password}}
        ports: ["5432:5432"]
    env:
      DATABASE_URL: postgres://postgres:postgres@localhost:5432/test {{Q:CI service url}}
      NPM_TOKEN: ${{ secrets.NPM_TOKEN }} {{Q:actions secret reference}}
    steps:
      - uses: actions/checkout@8e5e7e5ab8b370d6c329ec480221332ada57f0ab
      - run: npm ci
      - run: npm test
        env:
          STRIPE_KEY: ${{ secrets.STRIPE_TEST_KEY }} {{Q:actions secret reference}}
""")

f(".github/workflows/release.yml", """
name: release
on:
  push:
    tags: ['v*']
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "//registry.npmjs.org/:_authToken={{S:npm-token:npm}}" > ~/.npmrc
      - run: npm publish
      - run: twine upload dist/* -u __token__ -p {{S:pypi-token:pypi}}
""")

f(".gitlab-ci.yml", """
stages: [build, deploy]
variables:
  DOCKER_DRIVER: overlay2
  GITLAB_TOKEN: {{S:gitlab-pat:gitlab_pat}}
build:
  stage: build
  script:
    - docker login -u gitlab-ci-token -p $CI_JOB_TOKEN $CI_REGISTRY {{Q:CI job token variable}}
    - docker build -t $CI_REGISTRY_IMAGE .
""")

f("Jenkinsfile", """
pipeline {
  agent any
  environment {
    DOCKER_CREDS = credentials('dockerhub') {{Q:Jenkins credentials binding}}
    SONAR_TOKEN = "{{S:sonar-token:hex64}}"
  }
  stages {
    stage('deploy') {
      steps { sh 'DIGITALOCEAN_TOKEN={{S:digitalocean:doctl}} doctl apps update' }
    }
  }
}
""")

f("db/migrations/0001_init.sql", """
CREATE TABLE orders (id bigserial primary key, total_cents bigint not null);
CREATE ROLE reporting LOGIN PASSWORD '{{S:sql-role-password:pw}}';
GRANT SELECT ON orders TO reporting;
""")

f("db/migrations/0007_service_user.sql", """
-- service account for the billing worker
CREATE USER billing_worker WITH PASSWORD '{{S:sql-user-password:pw_alnum}}';
ALTER USER billing_worker SET search_path = billing;
""")

f("db/migrations/0009_mysql_user.sql", """
CREATE USER 'analytics'@'%' IDENTIFIED BY '{{S:mysql-identified-by:pw}}';
GRANT SELECT ON shop.* TO 'analytics'@'%';
""")

f("db/seeds/test_users.sql", """
-- test fixture users (bcrypt hashes of 'password')
INSERT INTO users (email, password_hash) VALUES ('alice@example.com', '$2b$12$KIXQJ1x1Wd6p8pZs5bF8xO3nX2nW4d3sG1kCq9kH8m1hE1eB6cY2u'); {{Q:bcrypt hash fixture}}
""")

f("app/settings/production.py", """
import os
from .base import *  # noqa

DEBUG = False
SECRET_KEY = '{{S:django-secret-key:django}}'
ALLOWED_HOSTS = ["orders.example.com"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "orders",
        "USER": "orders_app",
        "PASSWORD": "{{S:django-db-password:pw}}",
        "HOST": "orders-db.prod.internal",
    }
}
EMAIL_HOST_PASSWORD = "{{S:smtp-password:pw_alnum}}"
AWS_STORAGE_BUCKET_NAME = "acme-orders-media"
""")

f("app/settings/base.py", """
import os

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"] {{Q:env lookup}}
DATABASES = {"default": {"PASSWORD": os.environ.get("DB_PASSWORD", "")}} {{Q:env lookup}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
""")

f("app/settings/test.py", """
from .base import *  # noqa

# test settings: throwaway values
SECRET_KEY = "django-insecure-test-key-not-for-production" {{Q:test settings key}}
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
""")

f("config/settings.py", """
# Flask configuration
class ProductionConfig:
    SECRET_KEY = b'{{S:flask-secret-key:hex64}}'
    SQLALCHEMY_DATABASE_URI = "mysql+pymysql://shop:{{S:sqlalchemy-url:pw_alnum}}@mysql.prod.internal/shop"
""")

f("config/secrets.yml", """
production:
  secret_key_base: {{S:rails-secret-key-base:rails}}
development:
  secret_key_base: <%= ENV["SECRET_KEY_BASE"] %> {{Q:ERB env lookup}}
""")

f("config/database.yml", """
default: &default
  adapter: postgresql
  pool: 5
development:
  <<: *default
  database: shop_dev
  username: postgres
  password: postgres {{Q:dev database password}}
production:
  <<: *default
  database: shop
  username: shop
  password: {{S:rails-db-password:pw_alnum}}
""")

f("config/application.properties", """
spring.datasource.url=jdbc:postgresql://db.prod.internal:5432/shop
spring.datasource.username=shop
spring.datasource.password={{S:spring-password:pw}}
spring.mail.password={{S:spring-mail-password:pw_alnum}}
management.endpoints.web.exposure.include=health
""")

f("config/application-local.yml", """
spring:
  datasource:
    url: jdbc:h2:mem:testdb
    username: sa
    password: ${DB_PASSWORD:} {{Q:spring placeholder}}
""")

f("config/appsettings.json", """
{
  "ConnectionStrings": {
    "Default": "Server=sql.prod.internal;Database=Shop;User Id=shop;Password={{S:mssql-connection-string:pw_alnum}};"
  },
  "Twilio": { "AccountSid": "AC0123456789abcdef0123456789abcdef", "ApiKeySid": "{{S:twilio:twilio}}" },
  "Logging": { "LogLevel": { "Default": "Information" } }
}
""")

f("config/config.toml", """
[server]
port = 8080

[database]
url = "postgresql://inventory:{{S:toml-db-url:pw}}@pg.prod.internal:5432/inventory"

[github]
app_token = "{{S:github-app-token:ghs}}"
""")

f("config/default.json", """
{
  "datadog": { "apiKey": "{{S:datadog:datadog}}", "site": "datadoghq.eu" },
  "auth": { "issuer": "https://auth.example.com", "audience": "orders" },
  "integrity": "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==" {{Q:lockfile integrity hash}}
}
""")

f("config/redis.conf", """
bind 0.0.0.0
port 6379
requirepass {{S:redis-requirepass:pw_alnum}}
""")

f("clients/payments.py", """
import stripe
import boto3

stripe.api_key = "{{S:stripe-restricted:stripe_restricted}}"

s3 = boto3.client(
    "s3",
    aws_access_key_id="{{S:aws-access-key:aws_id}}",
    aws_secret_access_key="{{S:aws-secret-key:aws_secret}}",
)
""")

f("clients/llm.py", """
from openai import OpenAI
from anthropic import Anthropic

openai_client = OpenAI(api_key="{{S:openai:openai}}")
claude = Anthropic(api_key="{{S:anthropic:anthropic}}")
""")

f("clients/slack.js", """
const { WebClient } = require('@slack/web-api');
const web = new WebClient('{{S:slack-bot-token:slack_bot}}');
const sgMail = require('@sendgrid/mail');
sgMail.setApiKey(process.env.SENDGRID_API_KEY); {{Q:env lookup}}
module.exports = { web };
""")

f("clients/github.go", """
package clients

import "github.com/google/go-github/v60/github"

const githubToken = "{{S:github-fine-grained-pat:github_pat}}"

func New() *github.Client {
	return github.NewClient(nil).WithAuthToken(githubToken)
}

var dbPassword = "{{S:go-db-password:pw_alnum}}"
""")

f("clients/Mailer.java", """
package com.acme.orders;

public class Mailer {
    private static final String SMTP_PASSWORD = "{{S:java-smtp-password:pw}}";
    private final DataSource ds = DataSourceBuilder.create()
        .url("jdbc:mysql://mysql.prod.internal:3306/shop")
        .username("shop")
        .password("{{S:java-builder-password:pw_alnum}}")
        .build();
}
""")

f("clients/Storage.cs", """
using Azure.Storage.Blobs;

public static class Storage {
    const string Conn = "DefaultEndpointsProtocol=https;AccountName=acmeorders;AccountKey={{S:azure-storage-key:azure_storage}};EndpointSuffix=core.windows.net";
    const string Dev = "UseDevelopmentStorage=true"; {{Q:Azurite dev storage}}
}
""")

f("clients/vault.rb", """
require 'vault'
Vault.configure do |config|
  config.address = "https://vault.prod.internal:8200"
  config.token = "{{S:vault-token:hvs}}"
end
""")

f("helm/orders/values.yaml", """
replicaCount: 3
image:
  repository: registry.example.com/orders
  tag: 1.14.2
postgresql:
  auth:
    username: orders
    password: {{S:helm-postgres-password:pw_alnum}}
    postgresPassword: {{S:helm-postgres-admin-password:pw}}
redis:
  auth:
    password: "" {{Q:empty value}}
""")

f("helm/orders/values-ci.yaml", """
postgresql:
  auth:
    username: postgres
    password: postgres {{Q:CI chart password}}
""")

f("helm/orders/templates/secret.yaml", """
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "orders.fullname" . }}
type: Opaque
stringData:
  DATABASE_PASSWORD: {{ .Values.postgresql.auth.password | quote }} {{Q:helm template reference}}
  STRIPE_KEY: {{ required "stripe key" .Values.stripe.key | quote }} {{Q:helm template reference}}
""")

f("k8s/secret.yaml", """
apiVersion: v1
kind: Secret
metadata:
  name: orders-api
  namespace: orders
type: Opaque
stringData:
  api-token: {{S:k8s-secret-token:pw_alnum}}
""")

f("k8s/configmap.yaml", """
apiVersion: v1
kind: ConfigMap
metadata:
  name: orders-config
data:
  LOG_LEVEL: info
  DATABASE_HOST: orders-db.prod.internal
  PAYMENTS_API_KEY: {{S:configmap-api-key:hex64}}
""")

f("terraform/terraform.tfvars", """
region        = "eu-west-1"
db_username   = "orders"
db_password   = "{{S:tfvars-db-password:pw}}"
datadog_api_key = "{{S:tfvars-datadog:datadog}}"
""")

f("terraform/variables.tf", """
variable "db_password" {
  type      = string
  sensitive = true
}

variable "admin_password" {
  type    = string
  default = "{{S:tf-default-password:pw_alnum}}"
}
""")

f("terraform/main.tf", """
provider "aws" {
  region     = var.region
  access_key = "{{S:aws-access-key:aws_id}}"
  secret_key = "{{S:aws-secret-key:aws_secret}}"
}

resource "aws_db_instance" "orders" {
  username = var.db_username
  password = var.db_password {{Q:terraform variable reference}}
}
""")

f("terraform/gcp-sa.json", """
{
  "type": "service_account",
  "project_id": "acme-orders-prod",
  "private_key_id": "{{X:hex40}}",
  "private_key": "-----BEGIN PRIVATE KEY-----\\n""" + "\\n".join(pem_body(1190, start="MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ")) + """\\n-----END PRIVATE KEY-----\\n", {{K:gcp-service-account-key}}
  "client_email": "orders-deployer@acme-orders-prod.iam.gserviceaccount.com",
  "client_id": "104829371602938475610",
  "auth_uri": "https://accounts.google.com/o/oauth2/auth",
  "token_uri": "https://oauth2.googleapis.com/token"
}
""")

_rsa = rsa_key_lines()
f("deploy/keys/deploy_rsa", _rsa[0] + " {{K:rsa-private-key}}\n" + "\n".join(_rsa[1:]) + "\n")

f("deploy/keys/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY----- {{K:openssh-private-key}}\n" + "\n".join(pem_body(300, width=70, start="b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW")) + "\n-----END OPENSSH PRIVATE KEY-----\n")

f("deploy/keys/id_ed25519.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq2bG9rY3R0dW5uZWxzdGFnaW5nMjAyNGtleXNzaGVk deploy@ci {{Q:public ssh key}}\n")

f("deploy/tls/ca.crt", CERT + " {{Q:public certificate}}\n")

f("deploy/tls/server.pem", CERT + "\n" + "-----BEGIN EC PRIVATE KEY----- {{K:ec-private-key}}\n" + "\n".join(pem_body(121, start="MHcCAQEEI")) + "\n-----END EC PRIVATE KEY-----\n")

f("docker-compose.yml", """
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: postgres {{Q:local compose password}}
  api:
    build: .
    environment:
      DATABASE_URL: postgres://postgres:postgres@db:5432/orders {{Q:local compose url}}
      SENTRY_DSN: ${SENTRY_DSN} {{Q:env reference}}
""")

f("Dockerfile", """
FROM python:3.12-slim
ENV PIP_NO_CACHE_DIR=1
ARG NPM_TOKEN
RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc {{Q:build arg reference}}
COPY . /app
""")

f(".npmrc", """
registry=https://registry.npmjs.org/
//npm.pkg.github.com/:_authToken={{S:npmrc-github-token:gho}}
""")

f("notebooks/exploration.ipynb", """
{
 "cells": [
  {
   "cell_type": "code",
   "execution_count": 1,
   "metadata": {},
   "outputs": [],
   "source": [
    "import openai\\n",
    "openai.api_key = \\"{{S:notebook-openai:openai}}\\"\\n",
    "import psycopg2\\n",
    "conn = psycopg2.connect(host=\\"warehouse.prod.internal\\", user=\\"analyst\\", password=\\"{{S:notebook-db-password:pw_alnum}}\\")\\n"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": 2,
   "metadata": {},
   "outputs": [{"output_type": "stream", "name": "stdout", "text": ["commit 3f786850e387550fdab836ed7e6dc881de23001b\\n"]}], {{Q:git sha in output}}
   "source": ["!git log -1 --format=%H"]
  }
 ],
 "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
 "nbformat": 4,
 "nbformat_minor": 5
}
""")

f("tests/fixtures/fake_credentials.py", """
# Fake values for unit tests; none of these is a real credential.
FAKE_AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE" {{Q:AWS example id in fixture}}
FAKE_PASSWORD = "password123" {{Q:trivial test password}}
DUMMY_TOKEN = "dummy-token" {{Q:dummy token}}
TEST_API_KEY = "test_api_key" {{Q:test api key word}}
""")

f("tests/test_auth.py", """
def test_login(client):
    resp = client.post("/login", json={"username": "alice", "password": "correct horse battery staple"}) {{Q:passphrase with spaces in test}}
    assert resp.status_code == 200

def test_bad_password(client):
    resp = client.post("/login", json={"username": "alice", "password": "wrong"}) {{Q:short test password}}
    assert resp.status_code == 401
""")

f("docs/setup.md", """
# Setup

Export your token before running the CLI:

    export GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx {{Q:masked token in docs}}
    export SLACK_BOT_TOKEN=xoxb-your-token-here {{Q:placeholder token in docs}}

Set `password: <db password>` in `config/database.yml`. {{Q:doc placeholder}}
""")

f("package-lock.json", """
{
  "name": "orders-web",
  "lockfileVersion": 3,
  "packages": {
    "node_modules/left-pad": {
      "version": "1.3.0",
      "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
      "integrity": "sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQgb8eX8dV1zG/9z4ppG7y8Q5oGmkXG3S5MbHP4M5Y2UWlDw==" {{Q:integrity hash}}
    }
  }
}
""")

f("k8s/deployment.yaml", """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
spec:
  template:
    spec:
      containers:
        - name: api
          image: registry.example.com/orders@sha256:9b2a5c8e1f7d3b4a6c0e8f2d1b3a5c7e9f0d2b4a6c8e0f1d3b5a7c9e1f3d5b7a {{Q:image digest}}
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: {name: orders-db, key: password} {{Q:secretKeyRef}}
""")
