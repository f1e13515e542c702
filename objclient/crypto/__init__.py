"""Encryption at rest, one layer for both APIs (docs/encryption.md).

- ``cipher``: AES-256-CTR over streamed bodies (random access: a range decrypts only its blocks), data
  keys wrapped with AES key wrap, the salted HMAC that verifies an SSE-C key, small encrypted values.
- ``keyring``: the cluster's key-encryption keys (a 0600 key file; the last key is active, every key
  keeps decrypting what it wrapped).
- ``envelope``: what an encrypted object stores in its sysmeta and how it is read back.
- ``client``: ``EncryptingClient``, the proxy's internal object client that encrypts PUTs it is asked
  to (or every PUT with ``[proxy] encryption``) and decrypts every encrypted object it reads, so
  every proxy-side reader (S3, Swift, SLO/DLO segments, copies, symlinks) sees plaintext.
"""
