"""The object auditor: verify every stored copy at a bounded rate, quarantine bad ones, check listings.

* ``ratelimit``: token buckets (bytes/s, files/s) shared by the background tasks.
* ``objects``: verify one hash dir (metadata trailer, every block checksum, tombstones).
* ``listings_check``: open/stat/consistency scan of a device's LMDB listing environments.
* ``auditor``: the periodic pass over every device, with counters persisted for recon.
"""
