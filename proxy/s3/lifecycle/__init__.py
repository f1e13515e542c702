"""S3 bucket lifecycle: the configuration API (``handlers``), its document (``config_xml``) and the
``x-amz-expiration`` response header (``expiration``). The rules are executed by the storage nodes
(``store/lifecycle/``); the rule model both share is ``stackstore/lifecycle.py``."""
