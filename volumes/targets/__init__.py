"""iSCSI export of volumes through a userspace tgtd (``tgtadm``)."""
