# syntax=docker/dockerfile:1
# Headroom proxy image: `docker build -t headroom .` then
# `docker run -p 8787:8787 -e ANTHROPIC_API_KEY headroom` (clients send their own keys; the
# proxy forwards them). Documented in docs/deployment.md; tests/deploy checks this file and runs
# the binary with its ENV and CMD.

ARG RUST_VERSION=1.95

# Stage 1: the engine component (wasm32) and the `headroom` binary.
FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
RUN rustup target add wasm32-unknown-unknown
COPY . .
RUN core/component/build.sh \
 && cargo build --release --locked -p headroom-proxy --bin headroom \
 && strip target/release/headroom

# Stage 2: the runtime: the binary, the component, CA roots for the upstream TLS, no shell
# tools beyond Debian's base, a non-root user.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/headroom --create-home --shell /usr/sbin/nologin headroom
COPY --from=build /src/target/release/headroom /usr/local/bin/headroom
COPY --from=build /src/target/wasm/headroom-core.wasm /usr/local/share/headroom/headroom-core.wasm
# Bind every interface inside the container; state (originals, savings history, spend) and the
# wasmtime code cache under the user's home, which a volume can keep.
ENV HEADROOM_HOST=0.0.0.0 \
    HEADROOM_PORT=8787 \
    HEADROOM_COMPONENT=/usr/local/share/headroom/headroom-core.wasm \
    HEADROOM_WORKSPACE_DIR=/var/lib/headroom \
    HEADROOM_CACHE_DIR=/var/lib/headroom/cache \
    HEADROOM_SHUTDOWN_GRACE_SECS=30 \
    HOME=/var/lib/headroom
USER headroom
WORKDIR /var/lib/headroom
VOLUME ["/var/lib/headroom"]
EXPOSE 8787
# SIGTERM drains: in-flight streams finish (up to the grace), then the proxy exits 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["headroom", "health-check", "http://127.0.0.1:8787/readyz"]
ENTRYPOINT ["headroom"]
CMD ["proxy"]
