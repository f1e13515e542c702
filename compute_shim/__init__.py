"""Thin Nova compute service: flavors, server records with a small driver interface, and real volume
attachments (Cinder attachments flow plus an iSCSI login that reads the volume)."""
