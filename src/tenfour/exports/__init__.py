"""Exports: the de-identified research CSV, and one patient's record as a FHIR R4 Bundle."""
