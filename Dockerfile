# One image for every StackStore service; the command chooses which one runs:
#   docker build -t stackstore .
#   docker run --network host -v /etc/stackstore:/etc/stackstore:ro -v /var/lib/stackstore:/var/lib/stackstore \
#       -v /srv/node:/srv/node stackstore node --config /etc/stackstore/stackstore.toml
#   docker run --network host ... stackstore proxy --config /etc/stackstore/stackstore.toml
#   (likewise identity, volumes, compute, images; `ring ...`, `ring push`, `status`, `dispersion`)
# --network host: a node must listen on the address its ring devices name (or 0.0.0.0 with [store] my_ip).
# The config file sets [cluster] data_dir = "/var/lib/stackstore" (the volume; a relative data_dir would be
# under the read-only /etc/stackstore) and, for a node, [store] devices = "/srv/node".
# See docs/deployment.md.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system stackstore \
    && useradd --system --gid stackstore --home-dir /var/lib/stackstore --create-home stackstore \
    && mkdir -p /srv/node /etc/stackstore \
    && chown stackstore:stackstore /srv/node

COPY pyproject.toml README.md /src/
COPY stackstore /src/stackstore
COPY ring /src/ring
COPY objclient /src/objclient
COPY store /src/store
COPY proxy /src/proxy
COPY identity /src/identity
COPY volumes /src/volumes
COPY compute_shim /src/compute_shim
COPY apiservice /src/apiservice
COPY images /src/images
COPY docs /opt/stackstore/docs

RUN python -m venv /opt/stackstore \
    && /opt/stackstore/bin/pip install /src \
    && rm -rf /src

USER stackstore
WORKDIR /var/lib/stackstore
VOLUME ["/var/lib/stackstore", "/srv/node"]
EXPOSE 8080 8443 6200 5000 8776 8774 9292
ENTRYPOINT ["/opt/stackstore/bin/stackstore"]
CMD ["--help"]
