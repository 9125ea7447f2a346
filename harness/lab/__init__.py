"""The lab: Adult data (packaged, checksummed), its recipes, linear regression, a GBDT reference."""
