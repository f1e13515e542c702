"""The cloud's secrets: one per purpose, each configured or generated once into an owner-only file.

A secret named ``X`` is taken from its configuration key when set (the operator's choice: on several
hosts every host must be given the same value), else read from ``<data_dir>/secrets/X``, else generated
there (random, mode 0600 in a 0700 directory). Nothing here logs a secret or puts one on a command line.

Purposes, never shared:

* ``node_key``: signs every request to a storage node (``stackstore.node_signing``).
* ``tempauth_token_key``: signs TempAuth tokens.
* ``service_password``: the identity service user other services log in as.

``hash_path_suffix`` (placement, not secrecy of data) keeps its historical file ``<data_dir>/hash_path_suffix``
and is handled by ``stackstore.config.ensure_hash_path_suffix``, which writes it owner-only too.
"""

from __future__ import annotations

import os
import secrets as _random
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # stackstore.config imports this module
    from stackstore.config import Config

# secret name -> (config section, config key) that overrides the generated file
CONFIG_KEYS: dict[str, tuple[str, str]] = {
    "node_key": ("cluster", "node_key"),
    "tempauth_token_key": ("tempauth", "token_secret"),
    "service_password": ("identity", "service_password"),
}


def keep_files_private() -> None:
    """Make every file and directory this process creates from now on owner-only (umask 077).

    Called first by every service's entry point: object data, account metadata (temp-URL keys), the
    identity database (password hashes, S3 secrets), logs and sockets are the cloud's alone, never
    readable by other local users, whichever service or operator command created them."""
    os.umask(0o077)


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) owner-only (0700), whatever the caller's umask; return it."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        directory.chmod(0o700)  # mkdir's mode is filtered by the umask
    return path


def open_private_log(path: Path) -> int:
    """Open ``path`` for appending, created owner-only (0600); return the file descriptor."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by its owner only (0600 file in a 0700 directory)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an old tmp file may have been created with other bits
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_secret(conf: Config, name: str) -> str:
    """The secret ``name`` (see module doc): configured, else from its file, else generated into it.

    The value is also stored back into ``conf`` so the launcher's effective config hands it to children.
    """
    section, key = CONFIG_KEYS[name]
    values = conf[section]
    configured = str(values.get(key) or "")
    if configured:
        return configured
    path = Path(conf.data_dir) / "secrets" / name
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        value = ""
    if not value:
        value = _random.token_hex(32)
        write_private(path, value + "\n")
    values[key] = value
    return value


# -- encryption at rest: the cluster's key-encryption keys ----------------------------------------
# One file, ``<data_dir>/secrets/encryption_keys`` unless ``[proxy] encryption_key_file`` names another:
# one key a line, ``<key id> <64 hex digits>``; the last line is the active key (new objects), every
# line keeps decrypting the objects written under it. Lines starting with ``#`` are comments.
ENCRYPTION_KEYS_FILE = "encryption_keys"


def encryption_key_path(conf: Config) -> Path:
    """Where the cluster's key-encryption keys live (see above)."""
    configured = str(conf.get("proxy", {}).get("encryption_key_file") or "")
    return Path(configured) if configured else Path(conf.data_dir) / "secrets" / ENCRYPTION_KEYS_FILE


def read_encryption_keys(path: Path) -> list[tuple[str, bytes]]:
    """``[(key id, 32-byte key), ...]`` in file order (the last is active); ValueError for a bad line."""
    keys: list[tuple[str, bytes]] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key_id, _, hexkey = line.partition(" ")
        try:
            key = bytes.fromhex(hexkey.strip())
        except ValueError:
            key = b""
        if not key_id.isalnum() or len(key) != 32:
            raise ValueError(f"{path}:{number}: expected '<id> <64 hex digits>'")
        keys.append((key_id, key))
    return keys


def add_encryption_key(conf: Config) -> str:
    """Append a new random key (it becomes the active one) and return its id; creates the file when needed.

    Old keys stay in the file: objects written under them keep decrypting (rotation)."""
    path = encryption_key_path(conf)
    try:
        existing = read_encryption_keys(path)
        text = path.read_text()
    except FileNotFoundError:
        existing, text = [], "# StackStore key-encryption keys: '<id> <hex>' a line, the last is active.\n"
    used = {key_id for key_id, _ in existing}
    number = len(existing) + 1
    while f"k{number}" in used:
        number += 1
    key_id = f"k{number}"
    if text and not text.endswith("\n"):
        text += "\n"
    write_private(path, text + f"{key_id} {_random.token_hex(32)}\n")
    return key_id


def ensure_encryption_keys(conf: Config) -> Path:
    """The key file, created with one key on first use (0600 in a 0700 directory)."""
    path = encryption_key_path(conf)
    if not path.exists():
        add_encryption_key(conf)
    return path
