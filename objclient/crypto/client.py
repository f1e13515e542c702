"""``EncryptingClient``: the proxy's internal object client with encryption at rest in its data path.

Writes: ``put_object(..., encryption=...)`` encrypts the streamed body (AES-256-CTR, a fresh data key
and IV per object) and stores the envelope (``objclient.crypto.envelope``); without ``encryption`` it
encrypts with the cluster key when ``[proxy] encryption`` is on. The plaintext's MD5 is computed on the
way and goes, sealed, into the PUT's metadata footer along with the listing's ETag override, so
container listings show the client's ETag (cluster keys; an SSE-C object's ETag is its ciphertext's).

Reads: ``get_object``/``head_object`` of an encrypted object verify the SSE-C key (bound with
``with_customer_key``), unwrap the data key and decrypt the body from the byte the node starts at (a
range seeks the counter), and put the client's ETag and plaintext user metadata in the headers. A read
that cannot be decrypted comes back as an error response carrying ``CRYPTO_ERROR``:
``missing-key`` (400), ``wrong-key`` (403), ``key-unavailable`` / ``corrupt`` (503).

The storage nodes, the replicator and the auditor only ever see ciphertext.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Mapping

import objclient
from objclient.client import StorageClient
from objclient.crypto import cipher, envelope, kms
from objclient.crypto.envelope import Encryption
from objclient.crypto.keyring import KeyRing, KeyUnavailable
from objclient.headers import HeaderDict
from objclient.putter import Footer
from objclient.response import BackendResponse
from stackstore.config import Config
from stackstore.secrets import encryption_key_path

log = logging.getLogger("stackstore.objclient.crypto")

CRYPTO_ERROR = "X-Backend-Crypto-Error"
MISSING_KEY, WRONG_KEY, UNAVAILABLE, CORRUPT = "missing-key", "wrong-key", "key-unavailable", "corrupt"


# the envelope's headers, as HeaderDict.without takes names
_COMPUTED_LOW = frozenset(name.lower() for name in envelope.COMPUTED)
_ALL_LOW = frozenset(name.lower() for name in envelope.ALL)


class _EtagMismatch(Exception):
    """The plaintext's MD5 is not the ETag the client announced."""


def _start_offset(resp: BackendResponse) -> int | None:
    """The stream offset of the body's first byte: 0 for a 200, the range start of a 206 (None: unknown)."""
    if resp.status == 200:
        return 0
    value = resp.headers.get("content-range") or ""
    unit, _, rest = value.partition(" ")
    first = rest.partition("-")[0]
    return int(first) if unit.strip() == "bytes" and first.isdigit() else None


async def _refuse(resp: BackendResponse, status: int, reason: str) -> BackendResponse:
    await resp.close()
    return _refusal(status, reason)


def _refusal(status: int, reason: str, cause: Exception | None = None) -> BackendResponse:
    if status >= 500:  # the cloud's fault (a key file missing or short of a key, corrupt sysmeta): say why
        log.error("encryption at rest: %s%s", reason, f": {cause}" if cause else "")
    return BackendResponse.simple(status, {CRYPTO_ERROR: reason}, reason.encode())


class EncryptingClient(StorageClient):
    """A ``StorageClient`` that encrypts and decrypts object bodies (see the module doc)."""

    keyring: KeyRing | None = None
    encrypt_all: bool = False
    kms_keys: kms.KmsKeys = kms.KmsKeys()  # the built-in KMS's key ids (SSE-KMS)
    customer_key: bytes | None = None  # the SSE-C key reads of this view present
    decrypting: bool = True  # False: a view that returns objects as stored (``as_stored``)
    metadata_only: bool = False  # True: a view for metadata (``for_metadata``): no SSE-C key asked

    def configure(self, keyring: KeyRing, encrypt_all: bool, kms_keys: kms.KmsKeys | None = None) -> None:
        """Give the client its cluster keys, whether every new object is encrypted, and the key ids of the
        built-in KMS."""
        self.keyring, self.encrypt_all = keyring, encrypt_all
        if kms_keys is not None:
            self.kms_keys = kms_keys

    def with_customer_key(self, key: bytes | None) -> EncryptingClient:
        """A view of this client (same pools and rings) whose reads present the SSE-C ``key``."""
        view = copy.copy(self)
        view.customer_key = key
        return view

    def as_stored(self) -> EncryptingClient:
        """A view whose reads return objects as the nodes store them (no key check, no decryption) and whose
        writes store objects as given (an encrypted object's ciphertext and envelope copied as they are)."""
        view = copy.copy(self)
        view.decrypting = False
        return view

    def for_metadata(self) -> EncryptingClient:
        """A view for reading an object's metadata only (tagging, ACLs): user metadata decrypted, no SSE-C
        key needed (S3 asks none for them); an SSE-C object's body and ETag stay as stored."""
        view = copy.copy(self)
        view.metadata_only = True
        return view

    def _keys(self) -> KeyRing:
        if self.keyring is None:
            raise KeyUnavailable("encryption keys not configured")
        return self.keyring

    # -- reads ----------------------------------------------------------------------------------
    async def head_object(
        self, account: str, container: str, obj: str, headers: Mapping[str, str] | None = None,
        policy: int | None = None,
    ) -> BackendResponse:
        resp = await super().head_object(account, container, obj, headers, policy)
        return await self._reveal(resp, account, container, obj, with_body=False)

    async def get_object(
        self, account: str, container: str, obj: str, headers: Mapping[str, str] | None = None,
        policy: int | None = None,
    ) -> BackendResponse:
        resp = await super().get_object(account, container, obj, headers, policy)
        return await self._reveal(resp, account, container, obj, with_body=True)

    async def _reveal(self, resp: BackendResponse, account: str, container: str, obj: str,
                      with_body: bool) -> BackendResponse:
        """``resp`` with the object decrypted (headers, and the body when ``with_body``)."""
        if resp.status not in (200, 206) or not self.decrypting:
            return resp
        if not any(envelope.lookup(resp.headers, name) for name in envelope.READ_MARKERS):
            return resp  # stored in clear: untouched
        h = HeaderDict(resp.headers)
        resp.headers = h
        check = envelope.lookup(h, envelope.KEY_CHECK)
        if check and not self.metadata_only:
            if self.customer_key is None:
                return await _refuse(resp, 400, MISSING_KEY)
            if not cipher.key_matches(self.customer_key, check):
                return await _refuse(resp, 403, WRONG_KEY)
        try:
            body = envelope.body_key(h)
            if body is not None and self.metadata_only and not body.kid:
                body = None  # an SSE-C object's metadata: its body key stays wrapped
            if body is not None:
                if body.kid:
                    kek = await self._keys().get(body.kid)
                    if body.kms:  # SSE-KMS: that KMS key's KEK under the cluster key, bound to the context
                        kek = kms.key_encryption_key(kek, body.kms, envelope.lookup(h, envelope.KMS_CONTEXT))
                elif self.customer_key is not None:
                    kek = cipher.customer_wrapping_key(self.customer_key)
                else:
                    return await _refuse(resp, 400, MISSING_KEY)
                data_key = cipher.unwrap_key(kek, body.wrapped)
                sealed_etag = envelope.lookup(h, envelope.ETAG)
                if sealed_etag:
                    h["Etag"] = cipher.open_value(data_key, sealed_etag).decode("ascii")
                    if h.get(envelope.OVERRIDE_ETAG) == h["Etag"]:  # this layer's listing override:
                        del h[envelope.OVERRIDE_ETAG]  # not to be carried along by a copy
                if with_body:
                    offset = _start_offset(resp)
                    if offset is None:
                        return await _refuse(resp, 503, CORRUPT)
                    resp.body = cipher.transform(resp.body, data_key, body.iv, offset)
            meta_kid = envelope.lookup(h, envelope.META)
            if meta_kid:
                key = envelope.meta_key(await self._keys().get(meta_kid), account, container, obj)
                for name in [n for n in h if envelope.is_user_meta(n)]:
                    h[name] = cipher.open_value(key, h[name]).decode("utf-8", "surrogateescape")
        except KeyUnavailable as exc:
            await resp.close()
            return _refusal(503, UNAVAILABLE, exc)
        except (ValueError, cipher.InvalidUnwrap, UnicodeDecodeError) as exc:
            await resp.close()
            return _refusal(503, CORRUPT, exc)
        return resp

    # -- writes ---------------------------------------------------------------------------------
    async def _seal_meta(self, headers: dict[str, str], account: str, container: str, obj: str) -> None:
        """Encrypt the user metadata values in place (``[proxy] encryption``)."""
        kid, kek = await self._keys().active()
        key = envelope.meta_key(kek, account, container, obj)
        for name in [n for n in headers if envelope.is_user_meta(n)]:
            headers[name] = cipher.seal_value(key, headers[name].encode("utf-8", "surrogateescape"))
        headers[envelope.META] = kid

    async def post_object(
        self, account: str, container: str, obj: str, headers: Mapping[str, str],
        policy: int | None = None, keep_listing_row: bool = False,
    ) -> BackendResponse:
        if self.encrypt_all:
            sealed = dict(headers)
            try:
                await self._seal_meta(sealed, account, container, obj)
            except KeyUnavailable as exc:
                return _refusal(503, UNAVAILABLE, exc)
            headers = sealed
        return await super().post_object(account, container, obj, headers, policy, keep_listing_row)

    async def put_object(
        self,
        account: str,
        container: str,
        obj: str,
        headers: Mapping[str, str],
        body: AsyncIterable[bytes],
        content_length: int | None = None,
        footer: Footer | None = None,
        policy: int | None = None,
        condition: Mapping[str, str] | None = None,
        stamp_at_commit: bool = False,
        encryption: Encryption | None = None,
    ) -> BackendResponse:
        """As ``StorageClient.put_object``; ``encryption`` says how (default: the cluster key when
        ``[proxy] encryption`` is on, else none). The answer's ETag is the one clients will see.
        ``condition`` and ``stamp_at_commit`` pass through (an If-Match compares the stored
        plaintext ETag, ``envelope.OVERRIDE_ETAG``, where one is kept)."""
        if not self.decrypting:  # the stored view writes what it read: ciphertext and envelope as given
            return await super().put_object(account, container, obj, headers, body, content_length, footer,
                                            policy, condition, stamp_at_commit)
        plan = encryption or (envelope.CLUSTER_KEY if self.encrypt_all else envelope.PLAINTEXT)
        # only this layer writes the envelope; a caller that chose the encryption may mark a plaintext
        # manifest with SSE/KEY_CHECK, anything else (a Swift copy carrying its source's sysmeta) may not
        out = (headers if isinstance(headers, HeaderDict) else HeaderDict(headers)).without(
            _COMPUTED_LOW if encryption is not None else _ALL_LOW)
        try:
            if self.encrypt_all:
                sealed = dict(out)
                await self._seal_meta(sealed, account, container, obj)
                out = HeaderDict(sealed)
            if not plan.enabled:
                return await super().put_object(account, container, obj, out, body, content_length, footer,
                                                policy, condition, stamp_at_commit)
            return await self._put_encrypted(account, container, obj, out, body, content_length, footer,
                                             policy, plan, condition, stamp_at_commit)
        except KeyUnavailable as exc:
            return _refusal(503, UNAVAILABLE, exc)

    async def _put_encrypted(self, account: str, container: str, obj: str, headers: HeaderDict,
                             body: AsyncIterable[bytes], content_length: int | None, footer: Footer | None,
                             policy: int | None, plan: Encryption, condition: Mapping[str, str] | None = None,
                             stamp_at_commit: bool = False) -> BackendResponse:
        expected = (headers.pop("Etag", None) or "").strip().strip('"').lower() or None
        data_key, iv = cipher.new_key(), cipher.new_iv()
        if plan.customer_key is not None:
            kid, kek = "", cipher.customer_wrapping_key(plan.customer_key)
            headers[envelope.KEY_CHECK] = cipher.key_check(plan.customer_key)
        else:
            kid, kek = await self._keys().active()
            if plan.kms_key_id:
                kek = kms.key_encryption_key(kek, plan.kms_key_id, plan.kms_context)
                headers.update(envelope.kms_headers(plan))
        headers[envelope.SSE] = plan.sse or envelope.SSE_S3
        headers[envelope.BODY] = envelope.BodyKey(kid, iv, cipher.wrap_key(kek, data_key),
                                                  plan.kms_key_id or "").dump()
        md5 = hashlib.md5(usedforsecurity=False)
        state = {"mismatch": False}
        caller_override = envelope.OVERRIDE_ETAG in headers

        async def encrypted() -> AsyncIterator[bytes]:
            ctx = cipher.keystream_at(data_key, iv, 0)
            async for chunk in body:
                if chunk:
                    md5.update(chunk)
                    yield ctx.update(chunk)
            if expected is not None and md5.hexdigest() != expected:
                state["mismatch"] = True
                raise _EtagMismatch(expected)

        def late() -> Mapping[str, str]:
            extra = dict(footer()) if footer is not None else {}
            if plan.customer_key is None:
                extra[envelope.ETAG] = cipher.seal_value(data_key, md5.hexdigest().encode("ascii"))
                if not caller_override:
                    extra[envelope.OVERRIDE_ETAG] = md5.hexdigest()
            return extra

        resp = await super().put_object(account, container, obj, headers, encrypted(), content_length, late,
                                        policy, condition, stamp_at_commit)
        if state["mismatch"]:
            return BackendResponse.simple(422, data=b"ETag mismatch")
        if resp.status in (201, 202) and plan.customer_key is None:
            resp.headers = HeaderDict({**resp.headers, "ETag": md5.hexdigest()})  # what GET/HEAD and listings show
        return resp


def stored_view(client: StorageClient) -> StorageClient:
    """``client`` reading objects as stored (no SSE-C key needed, nothing decrypted): for internal looks at
    metadata and at plaintext manifests (an S3 multipart manifest), never for serving object data."""
    return client.as_stored() if isinstance(client, EncryptingClient) else client


def metadata_view(client: StorageClient) -> StorageClient:
    """``client`` reading an object's metadata without its SSE-C key (``EncryptingClient.for_metadata``)."""
    return client.for_metadata() if isinstance(client, EncryptingClient) else client


def encrypting_client(conf: Config) -> EncryptingClient:
    """The proxy's object client: ``objclient.from_config`` with the cluster keys of ``conf``,
    ``[proxy] encryption`` and the built-in KMS's keys (``[s3] kms_keys``, ``kms_default_key``)."""
    client = objclient.from_config(conf, EncryptingClient)
    proxy_conf = conf.get("proxy", {})
    path = encryption_key_path(conf)
    encrypt_all = bool(proxy_conf.get("encryption", False))
    if encrypt_all and not path.exists():  # once, at start: every write would fail with 503
        log.error("[proxy] encryption is on but the key file %s does not exist (stackstore up creates it; "
                  "copy it from another proxy host)", path)
    client.configure(KeyRing(path), encrypt_all, kms.KmsKeys.from_config(conf.get("s3", {})))
    return client
