"""Internal helpers shared by nbdetect's modules."""
