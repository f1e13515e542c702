"""Volume attachment on a compute host: Cinder client, host connector, iSCSI probe, attach/detach flow."""
