"""Background replication: object partitions (suffix hashes + pushed files) and listing DBs.

Modules: ``settings`` (config), ``local`` (rings and this node's devices), ``suffix_hashes``
(cached per-suffix hashes), ``framing`` (file stream format), ``transport`` (node-to-node requests),
``sender``/``receiver`` (one partition pushed to one peer), ``object_replicator`` (the pass over
every local partition), ``db_sync``/``db_replicator`` (container and account rows), ``dispersion``
(cluster-wide replica placement report).
"""
