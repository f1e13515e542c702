"""StackStore storage node: objects, container and account listings for the devices of one host.

Run one node::

    python -m store.server --config stackstore.toml --host 127.0.0.1 --port 6201 --devices /srv/node1

Modules: ``server`` (app + entry point), ``object_routes`` / ``container_routes`` /
``account_routes`` (HTTP protocol, docs/internal-api.md), ``diskfile`` (the on-disk object format,
the only module that knows the layout), ``listings`` (LMDB container/account databases),
``fsutil`` (group commit, fsync helpers), ``updates`` + ``updater`` (listing row updates and
async pendings), ``background`` (periodic tasks), ``node`` (shared state), ``reqparse`` (request
parsing). Node-to-node HTTP goes through ``objclient.loop_pool`` (the internal client's pooled HTTP/1.1).
"""
