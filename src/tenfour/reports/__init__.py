"""Patient progress reports: a one-to-two page PDF for the patient (and, with their consent, their own clinician)."""
