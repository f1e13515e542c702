"""Volume backups streamed in compressed, checksummed chunks into the object store."""
