# syntax=docker/dockerfile:1
# Rampart: one static binary on an empty base image, running as a non-root UID.
#
#   docker build -t rampart:0.1.0 .
#   docker run --rm rampart:0.1.0 --version
#
# Build stage: a fully static musl binary (no libc needed at run time).
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools=1.2.3-1 \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --locked --target x86_64-unknown-linux-musl -p rampart-cli \
 && cp target/x86_64-unknown-linux-musl/release/rampart /rampart \
 && mkdir -p /out/tmp \
 && chmod 1777 /out/tmp

# Run stage: nothing but the binary, CA certificates (registry and API server TLS)
# and an empty /tmp. No shell, no package manager.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build /rampart /rampart
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/rampart"]
CMD ["--help"]
