"""Thin Cinder v3 block volume service: API, manager, file/LVM backends, tgt iSCSI export, backups."""
