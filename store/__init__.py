"""StackStore storage node: objects, container and account listings for the devices of one host.

Run one node::

    python -m store.server --config stackstore.toml --host 127.0.0.1 --port 6201 --devices /srv/node1

Modules: ``server`` (app + entry point), ``object_routes`` / ``container_routes`` /
``account_routes`` / ``replication_routes`` / ``recon_routes`` (HTTP protocol,
docs/internal-api.md), ``layout`` (every path under a device: the only module that knows the
layout), ``diskfile`` (the on-disk object format), ``inline_objects`` (small objects' files as rows of
one LMDB per device), ``listings`` + ``listing_changes`` +
``lmdb_env`` (LMDB container/account databases), ``expiring`` + ``expirer`` (delete-at index and
the object expirer), ``group_commit`` (durability scheduler, ``write_durable``), ``fsutil`` (fsync
and directory helpers), ``updates`` + ``updater`` (listing row updates and async pendings),
``recon`` (operator stats), ``background`` (periodic tasks), ``node`` (shared state), ``reqparse``
(request parsing); packages ``audit`` and ``replication``. Node-to-node HTTP goes through
``objclient.loop_pool`` (the internal client's pooled HTTP/1.1).
"""
