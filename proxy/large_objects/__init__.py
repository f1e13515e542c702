"""Large objects shared by the Swift and S3 APIs: SLO manifests, DLO listings, segment streaming and
the GET/HEAD answer of a manifest (conditionals, ranges across segments)."""
