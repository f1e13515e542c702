"""Object versioning: one engine for the Swift ``object_versioning`` API and S3 bucket versioning.

See docs/versioning.md for the data model. In short: the current version of a name stays a plain
object in its container (so every read path, listing, quota and large-object feature sees it as
before); older versions and delete markers are plain objects in a hidden per-container *versions
container* ``\\x00versions\\x00<container>`` named ``\\x00<name>\\x00<inverted version id>``, so
replication, auditing, the updater, the expirer and space accounting treat every version as an
object, and one name's versions list newest first right after each other.
"""
