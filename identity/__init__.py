"""Thin Keystone v3 identity service (``python -m identity --config F``, default ``:5000``).

- Storage: SQLAlchemy; SQLite at ``<data_dir>/identity.sqlite`` or ``[identity] database_url``
  (``postgresql://…``); the schema is one alembic migration (``identity/migrations``) run at startup.
- Tokens: EdDSA-signed JWTs (``identity.tokens``), keys in ``<data_dir>/identity-keys/`` rotated by
  ``identity.keys`` and published at ``/v3/OS-STACKSTORE/jwks``; revocation events (token delete, user,
  password, role-assignment, project and application-credential changes) at
  ``/v3/OS-STACKSTORE/revocations``. Other services validate locally with ``identity.validator``.
- Bootstrap (``identity.bootstrap``, every start, idempotent): domain ``default``, roles
  admin/member/reader/service, users ``admin`` (project ``admin``) and ``demo`` (project ``demo``,
  member) with passwords printed once and written to ``<data_dir>/clouds.yaml`` (clouds
  ``stackstore-admin`` and ``stackstore``), the ``stackstore-service`` account the proxy uses for EC2
  lookups, the catalog for the configured services, and the TempAuth users.
- Accounts: project ids are uuid hex, except projects made from TempAuth accounts, whose id is the
  account name: project ``test`` has id ``test``, so ``AUTH_test`` is the same storage account for
  TempAuth ``test:tester`` and for Keystone tokens scoped to ``test``. TempAuth ``acct:name`` becomes
  user ``name`` (password = key, unless a user of that name exists) with ``member`` on ``acct``
  (``admin`` for ``.admin``; ``.reseller_admin`` → ``admin`` on every project existing at bootstrap).
"""
